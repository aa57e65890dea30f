// FTRL-Proximal against McMahan et al. 2013, Algorithm 1, on steps worked out by hand; the
// initial z that keeps a new row's initial value; exact zeros from the L1 term.
#include "table/ftrl_optimizer.h"

#include <cmath>
#include <vector>

#include <gtest/gtest.h>

#include "table/embedding_table.h"
#include "table/row_initializer.h"

namespace psrec::table {
namespace {

// Float kernels against numbers computed in double: a few ulps of the values involved.
constexpr float kTolerance = 1e-6f;

struct Step {
  std::vector<float> g, w, z, n;
};

// Runs `steps` from w0 and checks w, z and n after each.
void ExpectSteps(const FtrlOptimizer& ftrl, std::vector<float> w, const std::vector<float>& z0,
                 const std::vector<Step>& steps) {
  const int dim = static_cast<int>(w.size());
  std::vector<float> state(2 * dim);
  ftrl.InitState(w.data(), state.data(), dim);
  for (int i = 0; i < dim; ++i) {
    EXPECT_NEAR(state[i], z0[i], kTolerance) << "initial z " << i;
    EXPECT_EQ(state[dim + i], 0.0f) << "initial n " << i;
  }
  for (size_t s = 0; s < steps.size(); ++s) {
    SCOPED_TRACE(s + 1);
    ftrl.UpdateRow(w.data(), state.data(), steps[s].g.data(), dim, /*lr, unused=*/0.0f);
    for (int i = 0; i < dim; ++i) {
      EXPECT_NEAR(w[i], steps[s].w[i], kTolerance) << i;
      EXPECT_NEAR(state[i], steps[s].z[i], kTolerance) << i;
      EXPECT_NEAR(state[dim + i], steps[s].n[i], kTolerance) << i;
    }
  }
}

// alpha 0.5, beta 1, no regularization, w0 = (0.5, -0.25, 0): z0 = -(beta/alpha) w0.
//   g=(1,-2,0.5):     sigma = |g| / 0.5 = (2, 4, 1); z = z0 + g - sigma w0 = (-1, -0.5, 0.5)
//                     n = (1, 4, 0.25); w = -z / ((1 + sqrt(n)) / 0.5)
//                       = (0.25, 0.0833333, -0.1666667): w0 - alpha g / (beta + |g|)
//   g=(0.5,0.5,-1.5): n = (1.25, 4.25, 2.5); sigma = (sqrt(1.25) - 1, sqrt(4.25) - 2,
//                     sqrt(2.5) - 0.5) / 0.5; z = (-0.559017, -0.0102588, -0.6396204)
//                     w = (0.1319660, 0.0016754, 0.1239027)
//   g=(-1,0,0.25):    w = (0.3319660, 0.0016754, 0.0758403) (coordinate 1 stays put)
TEST(FtrlOptimizerTest, StepsByHand) {
  FtrlOptimizer ftrl(/*alpha=*/0.5f, /*beta=*/1.0f, /*l1=*/0.0f, /*l2=*/0.0f);
  ASSERT_EQ(ftrl.state_floats(3), 6);
  ExpectSteps(ftrl, {0.5f, -0.25f, 0.0f}, {-1.0f, 0.5f, 0.0f},
              {{{1.0f, -2.0f, 0.5f}, {0.25f, 0.0833333333f, -0.166666667f},
                {-1.0f, -0.5f, 0.5f}, {1.0f, 4.0f, 0.25f}},
               {{0.5f, 0.5f, -1.5f}, {0.131966011f, 0.00167542466f, 0.123902748f},
                {-0.559016994f, -0.0102588021f, -0.63962039f}, {1.25f, 4.25f, 2.5f}},
               {{-1.0f, 0.0f, 0.25f}, {0.331966011f, 0.00167542466f, 0.0758402636f},
                {-1.65983006f, -0.0102588021f, -0.394487842f}, {2.25f, 4.25f, 2.5625f}}});
}

// The same gradients with l1 0.3, l2 0.2: z0 = -(beta/alpha + l2) w0 - sign(w0) l1
// = (-1.4, 0.85, 0). After the first step |z1| = 0.15 <= l1, so w1 is exactly 0; it leaves
// 0 when a later gradient pushes |z1| past l1.
//   g=(1,-2,0.5):     z = (-1.4, -0.15, 0.5); w = -(z - sign(z) 0.3) / ((1 + sqrt(n)) / 0.5
//                     + 0.2) = (0.2619048, 0, -0.0625)
//   g=(0.5,0.5,-1.5): z = (-0.9618273, 0.35, -0.8648576); w = (0.1491923, -0.0079075,
//                     0.1053391)
//   g=(-1,0,0.25):    w = (0.3415000, -0.0079075, 0.0590562)
TEST(FtrlOptimizerTest, StepsByHandWithL1AndL2) {
  FtrlOptimizer ftrl(/*alpha=*/0.5f, /*beta=*/1.0f, /*l1=*/0.3f, /*l2=*/0.2f);
  ExpectSteps(ftrl, {0.5f, -0.25f, 0.0f}, {-1.4f, 0.85f, 0.0f},
              {{{1.0f, -2.0f, 0.5f}, {0.261904762f, 0.0f, -0.0625f},
                {-1.4f, -0.15f, 0.5f}, {1.0f, 4.0f, 0.25f}},
               {{0.5f, 0.5f, -1.5f}, {0.149192332f, -0.00790750668f, 0.105339127f},
                {-0.961827327f, 0.35f, -0.864857646f}, {1.25f, 4.25f, 2.5f}},
               {{-1.0f, 0.0f, 0.25f}, {0.341500025f, -0.00790750668f, 0.0590562193f},
                {-2.07580013f, 0.35f, -0.618995837f}, {2.25f, 4.25f, 2.5625f}}});
}

// L1 drives every coordinate whose |z| stays within l1 to exactly 0.0f, and keeps it there
// while that holds; coordinates with a steady gradient leave it.
TEST(FtrlOptimizerTest, L1ProducesExactZeros) {
  const int dim = 8;
  FtrlOptimizer ftrl(/*alpha=*/0.1f, /*beta=*/1.0f, /*l1=*/1.0f, /*l2=*/0.0f);
  std::vector<float> w(dim, 0.0f), state(2 * dim);
  ftrl.InitState(w.data(), state.data(), dim);
  for (int step = 0; step < 50; ++step) {
    std::vector<float> g(dim);
    // Coordinates 0-5: small alternating noise; 6 and 7: a steady pull.
    for (int i = 0; i < 6; ++i) g[i] = ((step + i) % 2 == 0 ? 0.05f : -0.05f) * (1 + i % 3);
    g[6] = 0.5f;
    g[7] = -0.5f;
    ftrl.UpdateRow(w.data(), state.data(), g.data(), dim, 0.1f);
    for (int i = 0; i < 6; ++i) ASSERT_EQ(w[i], 0.0f) << "step " << step << " coordinate " << i;
  }
  EXPECT_LT(w[6], -0.05f);
  EXPECT_GT(w[7], 0.05f);
}

// A new table row starts at the initializer's value and a step with a zero gradient keeps
// it (z encodes w0 at n = 0); a real step moves it by alpha g / (beta + |g|) from there.
TEST(FtrlOptimizerTest, NewRowsKeepTheirInitialValue) {
  TableSpec spec;
  spec.name = "item";
  spec.dim = 5;
  spec.init_std = 0.1f;
  spec.zero_tail = 1;
  spec.optimizer.set_kind(config::OptimizerConfig::FTRL);
  spec.optimizer.set_learning_rate(0.2f);
  spec.optimizer.set_ftrl_beta(0.5f);
  spec.optimizer.set_ftrl_l2(0.1f);
  EmbeddingTable table(spec, /*seed=*/9);
  ASSERT_EQ(table.state_floats(), 10);
  std::vector<float> w0(5);
  InitializeRow(spec, 9, /*key=*/4, w0.data());
  const uint64_t key = 4;
  const std::vector<float> zero(5, 0.0f);
  table.Push({&key, 1}, zero.data(), 0.2f);
  for (int i = 0; i < 5; ++i) EXPECT_NEAR(table.Find(key)[i], w0[i], 1e-7) << i;
  EXPECT_EQ(table.Find(key)[4], 0.0f);  // the zero tail (a bias) stays exactly 0

  const std::vector<float> g = {1.0f, -0.5f, 0.25f, 2.0f, 1.0f};
  table.Push({&key, 1}, g.data(), 0.2f);
  // n = g^2, sigma = |g| / alpha, z = -(beta/alpha + l2) w0 + g - sigma w0:
  // w = ((beta/alpha + l2 + |g|/alpha) w0 - g) / ((beta + |g|)/alpha + l2).
  for (int i = 0; i < 5; ++i) {
    const double a = std::fabs(g[i]) / 0.2, c = 0.5 / 0.2 + 0.1;
    EXPECT_NEAR(table.Find(key)[i], ((c + a) * w0[i] - g[i]) / (c + a), 1e-6) << i;
  }
}

TEST(FtrlOptimizerTest, KernelMatchesScalarLoopOnLongRows) {
  const int dim = 67;
  const float alpha = 0.3f, beta = 0.7f, l1 = 0.05f, l2 = 0.01f;
  std::vector<float> w(dim), state(2 * dim), g(dim);
  for (int i = 0; i < dim; ++i) w[i] = 0.01f * i - 0.3f;
  FtrlOptimizer ftrl(alpha, beta, l1, l2);
  ftrl.InitState(w.data(), state.data(), dim);
  std::vector<double> z(state.begin(), state.begin() + dim), n(dim, 0.0), w_ref(w.begin(), w.end());
  for (int step = 0; step < 3; ++step) {
    for (int i = 0; i < dim; ++i) g[i] = std::sin(0.37f * i + step);
    ftrl.UpdateRow(w.data(), state.data(), g.data(), dim, alpha);
    for (int i = 0; i < dim; ++i) {
      const double sigma = (std::sqrt(n[i] + g[i] * g[i]) - std::sqrt(n[i])) / alpha;
      z[i] += g[i] - sigma * w_ref[i];
      n[i] += g[i] * g[i];
      const double sign = z[i] > 0 ? 1 : -1;
      w_ref[i] = std::fabs(z[i]) <= l1
                     ? 0.0
                     : -(z[i] - sign * l1) / ((beta + std::sqrt(n[i])) / alpha + l2);
    }
  }
  for (int i = 0; i < dim; ++i) {
    EXPECT_NEAR(state[i], z[i], 1e-5) << i;
    EXPECT_NEAR(state[dim + i], n[i], 1e-5) << i;
    EXPECT_NEAR(w[i], w_ref[i], 1e-5) << i;
  }
}

TEST(FtrlOptimizerTest, MakeOptimizerReadsAlphaBetaAndPenalties) {
  config::OptimizerConfig config;
  config.set_kind(config::OptimizerConfig::FTRL);
  config.set_learning_rate(0.5f);
  config.set_ftrl_l1(0.3f);
  config.set_ftrl_l2(0.2f);
  auto ftrl = MakeOptimizer(config);
  EXPECT_STREQ(ftrl->name(), "ftrl");
  EXPECT_EQ(ftrl->kind(), config::OptimizerConfig::FTRL);
  EXPECT_EQ(OptimizerStateFloats(config, 33), 66);
  // Default ftrl_beta 1: the initial z of StepsByHandWithL1AndL2.
  const std::vector<float> w = {0.5f, -0.25f, 0.0f};
  std::vector<float> state(6);
  ftrl->InitState(w.data(), state.data(), 3);
  EXPECT_NEAR(state[0], -1.4f, kTolerance);
  EXPECT_NEAR(state[1], 0.85f, kTolerance);
  EXPECT_EQ(state[2], 0.0f);
}

}  // namespace
}  // namespace psrec::table
