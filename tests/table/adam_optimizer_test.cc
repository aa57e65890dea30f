// Adam against Kingma & Ba's Algorithm 1 on steps worked out by hand, and the lazy-Adam
// convention: a row's bias correction counts that row's own steps.
#include "table/adam_optimizer.h"

#include <cmath>
#include <vector>

#include <gtest/gtest.h>

#include "table/embedding_table.h"

namespace psrec::table {
namespace {

// Float kernels against numbers computed in double: a few ulps of the values involved.
constexpr float kTolerance = 1e-6f;

TEST(AdamOptimizerTest, StateIsMomentsThenStepCountStartingAtZero) {
  AdamOptimizer adam(0.9f, 0.999f, 1e-8f);
  ASSERT_EQ(adam.state_floats(3), 7);
  const std::vector<float> w = {1.0f, 2.0f, 3.0f};
  std::vector<float> state(7, -1.0f);
  adam.InitState(w.data(), state.data(), 3);
  EXPECT_EQ(state, std::vector<float>(7, 0.0f));
}

// lr 0.1, beta1 0.9, beta2 0.999, epsilon 1e-8, w = (0.5, -0.25), three gradients.
//   t=1, g=(1,-2):    m = (0.1, -0.2)     v = (0.001, 0.004)
//                     m^ = g, v^ = g^2, so w -= 0.1 * g / (|g| + 1e-8) = (0.4, -0.15)
//   t=2, g=(0.5,0.5): m = (0.14, -0.13)   v = (0.001249, 0.004246)
//                     m^ = m / 0.19, v^ = v / 0.001999
//                     w = (0.4 - 0.1 * 0.736842 / 0.790456, -0.15 + 0.1 * 0.684211 / 1.457433)
//                       = (0.306782038, -0.103053184)
//   t=3, g=(-1,0):    m = (0.026, -0.117) v = (0.002247751, 0.004241754)
//                     m^ = m / 0.271, v^ = v / 0.002997001
//                     w = (0.295703731, -0.0667631583)
TEST(AdamOptimizerTest, StepsByHand) {
  AdamOptimizer adam(/*beta1=*/0.9f, /*beta2=*/0.999f, /*epsilon=*/1e-8f);
  std::vector<float> w = {0.5f, -0.25f};
  std::vector<float> state(5);
  adam.InitState(w.data(), state.data(), 2);
  const float* m = state.data();
  const float* v = state.data() + 2;
  const float& t = state[4];
  struct Step {
    std::vector<float> g, w, m, v;
  };
  const Step steps[] = {
      {{1.0f, -2.0f}, {0.4f, -0.15f}, {0.1f, -0.2f}, {0.001f, 0.004f}},
      {{0.5f, 0.5f}, {0.306782038f, -0.103053184f}, {0.14f, -0.13f}, {0.001249f, 0.004246f}},
      {{-1.0f, 0.0f}, {0.295703731f, -0.0667631583f}, {0.026f, -0.117f},
       {0.002247751f, 0.004241754f}},
  };
  for (int s = 0; s < 3; ++s) {
    SCOPED_TRACE(s + 1);
    adam.UpdateRow(w.data(), state.data(), steps[s].g.data(), 2, /*lr=*/0.1f);
    EXPECT_EQ(t, static_cast<float>(s + 1));
    for (int i = 0; i < 2; ++i) {
      EXPECT_NEAR(w[i], steps[s].w[i], kTolerance) << i;
      EXPECT_NEAR(m[i], steps[s].m[i], kTolerance) << i;
      EXPECT_NEAR(v[i], steps[s].v[i], kTolerance) << i;
    }
  }
}

// Lazy Adam: a row created after another row took 100 steps gets the first-step update
// lr * g / (|g| + eps) (m^ = g, v^ = g^2 at its own t = 1). A step count shared by the
// table (t = 101) would give m^ = 0.1 g / (1 - 0.9^101), v^ = 0.001 g^2 / (1 - 0.999^101),
// a step of 0.98 lr sign(g): 2% off, far outside the tolerance.
TEST(AdamOptimizerTest, RowFirstTouchedLateGetsTheFirstStepUpdate) {
  TableSpec spec;
  spec.name = "item";
  spec.dim = 4;
  spec.init_std = 0.1f;
  spec.optimizer.set_kind(config::OptimizerConfig::ADAM);
  EmbeddingTable table(spec, /*seed=*/3);
  ASSERT_EQ(table.state_floats(), 9);
  const float lr = 0.01f;
  const std::vector<float> busy_grad = {0.3f, -0.1f, 0.2f, 0.05f};
  const uint64_t busy = 1;
  for (int s = 0; s < 100; ++s) table.Push({&busy, 1}, busy_grad.data(), lr);
  EXPECT_EQ(table.FindState(busy)[8], 100.0f);

  const uint64_t late = 2;
  std::vector<float> before(4);
  table.Pull({&late, 1}, before.data());
  const std::vector<float> g = {0.5f, -2.0f, 1e-3f, 0.0f};
  table.Push({&late, 1}, g.data(), lr);
  const float* after = table.Find(late);
  for (int i = 0; i < 4; ++i) {
    const double expected = before[i] - lr * g[i] / (std::fabs(g[i]) + 1e-8);
    EXPECT_NEAR(after[i], expected, 1e-7) << i;
  }
  EXPECT_EQ(after[3], before[3]);  // a zero gradient moves nothing
  EXPECT_EQ(table.FindState(late)[8], 1.0f);
}

TEST(AdamOptimizerTest, KernelMatchesScalarLoopOnLongRows) {
  // Long enough for Eigen's vector path and a scalar tail; two steps so t reaches 2.
  const int dim = 67;
  std::vector<float> w(dim), m(dim, 0.0f), v(dim, 0.0f), g(dim);
  std::vector<double> w_ref(dim), m_ref(dim, 0.0), v_ref(dim, 0.0);
  for (int i = 0; i < dim; ++i) {
    w[i] = 0.01f * i - 0.3f;
    w_ref[i] = w[i];
    g[i] = std::sin(0.37f * i);
  }
  float t = 0;
  for (int step = 1; step <= 2; ++step) {
    AdamUpdateRow(w.data(), m.data(), v.data(), &t, g.data(), dim, 0.05f,
                  AdamRates(0.8f, 0.99f, 1e-6f));
    for (int i = 0; i < dim; ++i) {
      m_ref[i] = 0.8 * m_ref[i] + 0.2 * g[i];
      v_ref[i] = 0.99 * v_ref[i] + 0.01 * g[i] * g[i];
      w_ref[i] -= 0.05 * (m_ref[i] / (1 - std::pow(0.8, step))) /
                  (std::sqrt(v_ref[i] / (1 - std::pow(0.99, step))) + 1e-6);
    }
  }
  EXPECT_EQ(t, 2.0f);
  for (int i = 0; i < dim; ++i) {
    EXPECT_NEAR(m[i], m_ref[i], 1e-6) << i;
    EXPECT_NEAR(v[i], v_ref[i], 1e-6) << i;
    EXPECT_NEAR(w[i], w_ref[i], 1e-5) << i;
  }
}

TEST(AdamOptimizerTest, MakeOptimizerReadsBetasAndEpsilon) {
  config::OptimizerConfig config;
  config.set_kind(config::OptimizerConfig::ADAM);
  EXPECT_FLOAT_EQ(config.beta1(), 0.9f);  // the paper's defaults
  EXPECT_FLOAT_EQ(config.beta2(), 0.999f);
  EXPECT_FLOAT_EQ(config.epsilon(), 1e-8f);
  config.set_beta1(0.0f);  // no momentum: the first moment is the gradient itself
  config.set_beta2(0.5f);
  config.set_epsilon(0.25f);
  auto adam = MakeOptimizer(config);
  EXPECT_STREQ(adam->name(), "adam");
  EXPECT_EQ(adam->kind(), config::OptimizerConfig::ADAM);
  EXPECT_EQ(OptimizerStateFloats(config, 33), 67);
  std::vector<float> w = {1.0f}, state(3);
  adam->InitState(w.data(), state.data(), 1);
  const float g = 2.0f;
  adam->UpdateRow(w.data(), state.data(), &g, 1, 0.1f);
  adam->UpdateRow(w.data(), state.data(), &g, 1, 0.1f);
  // t=2: m = 2, v = 0.5*2 + 0.5*4 = 3 -> v^ = 3 / 0.75 = 4; step 0.1 * 2 / (2 + 0.25).
  EXPECT_NEAR(w[0], 1.0 - 2 * 0.1 * 2 / (2 + 0.25), kTolerance);
}

}  // namespace
}  // namespace psrec::table
