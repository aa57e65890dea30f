#include "table/optimizer.h"

#include <cmath>
#include <vector>

#include <gtest/gtest.h>

namespace psrec::table {
namespace {

TEST(OptimizerTest, SgdStepByHand) {
  std::vector<float> w = {1.0f, -2.0f, 0.5f};
  std::vector<float> g = {0.5f, 1.0f, -4.0f};
  SgdOptimizer sgd;
  EXPECT_EQ(sgd.state_floats(3), 0);
  sgd.UpdateRow(w.data(), nullptr, g.data(), 3, 0.1f);
  EXPECT_FLOAT_EQ(w[0], 0.95f);
  EXPECT_FLOAT_EQ(w[1], -2.1f);
  EXPECT_FLOAT_EQ(w[2], 0.9f);
}

TEST(OptimizerTest, AdaGradStepsByHand) {
  AdaGradOptimizer adagrad(/*initial_accumulator=*/0.1f, /*epsilon=*/1e-3f);
  ASSERT_EQ(adagrad.state_floats(2), 2);
  std::vector<float> w = {1.0f, 0.0f};
  std::vector<float> a(2);
  adagrad.InitState(w.data(), a.data(), 2);
  EXPECT_EQ(a, std::vector<float>({0.1f, 0.1f}));

  std::vector<float> g1 = {2.0f, -1.0f};
  adagrad.UpdateRow(w.data(), a.data(), g1.data(), 2, 0.5f);
  // a = 0.1 + g^2; w -= 0.5 * g / (sqrt(a) + 1e-3)
  double a0 = 0.1 + 4.0, a1 = 0.1 + 1.0;
  double w0 = 1.0 - 0.5 * 2.0 / (std::sqrt(a0) + 1e-3);
  double w1 = 0.0 + 0.5 * 1.0 / (std::sqrt(a1) + 1e-3);
  EXPECT_NEAR(a[0], a0, 1e-6);
  EXPECT_NEAR(a[1], a1, 1e-6);
  EXPECT_NEAR(w[0], w0, 1e-6);
  EXPECT_NEAR(w[1], w1, 1e-6);

  std::vector<float> g2 = {-1.0f, 3.0f};
  adagrad.UpdateRow(w.data(), a.data(), g2.data(), 2, 0.5f);
  a0 += 1.0;
  a1 += 9.0;
  w0 -= 0.5 * -1.0 / (std::sqrt(a0) + 1e-3);
  w1 -= 0.5 * 3.0 / (std::sqrt(a1) + 1e-3);
  EXPECT_NEAR(a[0], a0, 1e-5);
  EXPECT_NEAR(a[1], a1, 1e-5);
  EXPECT_NEAR(w[0], w0, 1e-6);
  EXPECT_NEAR(w[1], w1, 1e-6);
}

TEST(OptimizerTest, KernelMatchesScalarLoopOnLongRows) {
  // Long enough for Eigen's vector path and a scalar tail.
  const int dim = 67;
  std::vector<float> w(dim), a(dim, 0.5f), g(dim), w_ref(dim), a_ref(dim, 0.5f);
  for (int i = 0; i < dim; ++i) {
    w[i] = w_ref[i] = 0.01f * i - 0.3f;
    g[i] = std::sin(0.37f * i);
  }
  AdaGradUpdateRow(w.data(), a.data(), g.data(), dim, 0.05f, 1e-8f);
  for (int i = 0; i < dim; ++i) {
    a_ref[i] += g[i] * g[i];
    w_ref[i] -= 0.05f * g[i] / (std::sqrt(a_ref[i]) + 1e-8f);
    EXPECT_NEAR(a[i], a_ref[i], 1e-6) << i;
    EXPECT_NEAR(w[i], w_ref[i], 1e-6) << i;
  }
}

TEST(OptimizerTest, MakeOptimizerFollowsConfig) {
  config::OptimizerConfig sgd;
  EXPECT_STREQ(MakeOptimizer(sgd)->name(), "sgd");
  EXPECT_EQ(OptimizerStateFloats(sgd, 33), 0);
  config::OptimizerConfig adagrad;
  adagrad.set_kind(config::OptimizerConfig::ADAGRAD);
  adagrad.set_initial_accumulator(0.25f);
  auto opt = MakeOptimizer(adagrad);
  EXPECT_STREQ(opt->name(), "adagrad");
  EXPECT_EQ(OptimizerStateFloats(adagrad, 33), 33);
  float w[3] = {1, 2, 3}, state[3];
  opt->InitState(w, state, 3);
  EXPECT_EQ(state[2], 0.25f);
}

}  // namespace
}  // namespace psrec::table
