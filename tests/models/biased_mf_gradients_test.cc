#include "tests/models/mf_test_adapters.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>


namespace psrec::models {
namespace {

// Loss of the batch as the kernel defines it: sum over ratings of 1/2 e^2 plus, per rating,
// the L2 terms 1/2 l2 ||row||^2 of its user and item rows.
double BatchLoss(const MfParams& p, const std::vector<uint32_t>& us,
                 const std::vector<uint32_t>& is, const std::vector<float>& r,
                 const std::vector<float>& U, const std::vector<float>& I) {
  const int k = p.factors, s = k + 1;
  double loss = 0;
  for (size_t n = 0; n < r.size(); ++n) {
    const float* pu = &U[us[n] * s];
    const float* qi = &I[is[n] * s];
    double dot = 0, nu = 0, ni = 0;
    for (int j = 0; j < k; ++j) {
      dot += double(pu[j]) * qi[j];
      nu += double(pu[j]) * pu[j];
      ni += double(qi[j]) * qi[j];
    }
    double e = p.global_mean + pu[k] + qi[k] + dot - r[n];
    loss += 0.5 * e * e + 0.5 * p.l2_factors * (nu + ni) +
            0.5 * p.l2_bias * (double(pu[k]) * pu[k] + double(qi[k]) * qi[k]);
  }
  return loss;
}

TEST(MfGradientsTest, MatchesFiniteDifferences) {
  MfParams p{4, 3.5f, 0.05f, 0.01f};
  std::mt19937 rng(3);
  std::normal_distribution<float> normal(0, 0.3f);
  std::vector<float> U(3 * 5), I(2 * 5);
  for (auto& x : U) x = normal(rng);
  for (auto& x : I) x = normal(rng);
  // User 0 appears twice: its gradient must be the sum of both terms.
  std::vector<uint32_t> us = {0, 1, 0, 2}, is = {0, 1, 1, 0};
  std::vector<float> r = {4, 2, 5, 3};
  std::vector<float> gU(U.size(), 0), gI(I.size(), 0);
  double sse = AccumulateMfGradients(p, us, is, r, U.data(), I.data(), gU.data(), gI.data());
  EXPECT_GT(sse, 0);
  const double h = 1e-3;
  for (size_t j = 0; j < U.size(); ++j) {
    auto plus = U, minus = U;
    plus[j] += h;
    minus[j] -= h;
    double numeric = (BatchLoss(p, us, is, r, plus, I) - BatchLoss(p, us, is, r, minus, I)) / (2 * h);
    EXPECT_NEAR(gU[j], numeric, 2e-3) << "user coordinate " << j;
  }
  for (size_t j = 0; j < I.size(); ++j) {
    auto plus = I, minus = I;
    plus[j] += h;
    minus[j] -= h;
    double numeric = (BatchLoss(p, us, is, r, U, plus) - BatchLoss(p, us, is, r, U, minus)) / (2 * h);
    EXPECT_NEAR(gI[j], numeric, 2e-3) << "item coordinate " << j;
  }
}

TEST(MfGradientsTest, PredictionIsClipped) {
  MfParams p{2, 3.0f, 0, 0};
  float u[3] = {1, 1, 0.5f}, i[3] = {1, 1, 0.5f};
  EXPECT_FLOAT_EQ(PredictMf(p, u, i, 1, 5), 5.0f);  // 3 + 1 + 2 = 6 -> 5
  EXPECT_FLOAT_EQ(PredictMf(p, u, i, 1, 10), 6.0f);
}

}  // namespace
}  // namespace psrec::models
