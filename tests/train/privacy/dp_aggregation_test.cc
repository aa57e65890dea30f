// Clipping, aggregate noise, the aggregation divisor and adaptive clipping.
#include <cmath>
#include <vector>

#include <gtest/gtest.h>

#include "train/privacy/adaptive_clipping.h"
#include "train/privacy/aggregate_noise.h"
#include "train/privacy/aggregation_rule.h"
#include "train/privacy/keyed_stream.h"
#include "train/privacy/update_clipping.h"

namespace psrec::train::privacy {
namespace {

TEST(UpdateClippingTest, ClipsAllRowsTogether) {
  std::vector<float> a = {3, 0}, b = {0, 4};  // norm of the whole update: 5
  std::vector<std::span<float>> rows = {a, b};
  EXPECT_DOUBLE_EQ(UpdateNorm(std::span<const std::span<float>>(rows)), 5.0);
  double scale = ClipUpdate(rows, 1.0);
  EXPECT_DOUBLE_EQ(scale, 0.2);
  EXPECT_FLOAT_EQ(a[0], 0.6f);
  EXPECT_FLOAT_EQ(b[1], 0.8f);
  EXPECT_NEAR(UpdateNorm(std::span<const std::span<float>>(rows)), 1.0, 1e-6);
  // Each row alone is within 1 now; a per-row clip would have left 3 and 4 at 1 each.
  EXPECT_DOUBLE_EQ(ClipUpdate(rows, 10.0), 1.0);
  std::vector<float> zero = {0, 0};
  std::vector<std::span<float>> zero_rows = {zero};
  EXPECT_DOUBLE_EQ(ClipUpdate(zero_rows, 1.0), 1.0);
}

TEST(AggregateNoiseTest, SharesSumToTheConfiguredVariance) {
  const int kShares = 4;
  Result<AggregateNoise> noise = AggregateNoise::Create(7, /*z=*/1.5, /*S=*/2.0, kShares);
  ASSERT_TRUE(noise.ok());
  EXPECT_DOUBLE_EQ(noise->total_stddev(), 3.0);
  EXPECT_DOUBLE_EQ(noise->share_stddev(), 1.5);
  const int kDim = 20000;
  std::vector<double> sum(kDim, 0.0);
  for (int share = 0; share < kShares; ++share) noise->AddShare({3, 0, 42}, share, sum);
  double mean = 0, var = 0;
  for (double v : sum) mean += v;
  mean /= kDim;
  for (double v : sum) var += (v - mean) * (v - mean);
  var /= kDim - 1;
  EXPECT_NEAR(mean, 0.0, 4 * 3.0 / std::sqrt(kDim));
  EXPECT_NEAR(var, 9.0, 9.0 * 0.05);  // std error of a variance: sqrt(2/n) = 1%
}

TEST(AggregateNoiseTest, NoiseDependsOnlyOnItsSite) {
  Result<AggregateNoise> noise = AggregateNoise::Create(7, 1.0, 1.0, 1);
  ASSERT_TRUE(noise.ok());
  std::vector<float> row1(8, 0.f), row2(8, 0.f), other_row(8, 0.f), other_round(8, 0.f),
      other_table(8, 0.f);
  noise->AddShare({5, 1, 99}, 0, row1);
  noise->AddShare({5, 1, 99}, 0, row2);
  noise->AddShare({5, 1, 100}, 0, other_row);
  noise->AddShare({6, 1, 99}, 0, other_round);
  noise->AddShare({5, 2, 99}, 0, other_table);
  EXPECT_EQ(row1, row2);  // repeatable, whoever computes it
  EXPECT_NE(row1, other_row);
  EXPECT_NE(row1, other_round);
  EXPECT_NE(row1, other_table);
  Result<AggregateNoise> other_seed = AggregateNoise::Create(8, 1.0, 1.0, 1);
  std::vector<float> row3(8, 0.f);
  other_seed->AddShare({5, 1, 99}, 0, row3);
  EXPECT_NE(row1, row3);
}

TEST(AggregateNoiseTest, BadParametersNameTheQuantity) {
  EXPECT_NE(AggregateNoise::Create(1, -1.0, 1.0, 1).status().message().find("noise multiplier"),
            std::string::npos);
  EXPECT_NE(AggregateNoise::Create(1, 1.0, 0.0, 1).status().message().find("clip norm S"),
            std::string::npos);
  EXPECT_NE(AggregateNoise::Create(1, 1.0, 1.0, 0).status().message().find("shares"),
            std::string::npos);
}

TEST(AggregationRuleTest, FixedDenominatorIgnoresWhoReported) {
  EXPECT_DOUBLE_EQ(*AggregateDivisor(AggregationRule::kWeightedMean, 7.0, 10.0), 7.0);
  EXPECT_DOUBLE_EQ(*AggregateDivisor(AggregationRule::kFixedDenominator, 7.0, 10.0), 10.0);
  EXPECT_DOUBLE_EQ(*AggregateDivisor(AggregationRule::kFixedDenominator, 0.0, 10.0), 10.0);
  EXPECT_FALSE(AggregateDivisor(AggregationRule::kWeightedMean, 0.0, 10.0).ok());
  EXPECT_FALSE(AggregateDivisor(AggregationRule::kFixedDenominator, 3.0, 0.0).ok());
}

TEST(AdaptiveClippingTest, ClipNormMovesTowardTheQuantile) {
  Result<AdaptiveClipNorm> clip = AdaptiveClipNorm::Create({1.0, 0.5, 0.2, 0.0});
  ASSERT_TRUE(clip.ok());
  KeyedStream noise(DeriveStreamKey("test", 1, {}));
  clip->Update(/*unclipped=*/100, /*expected=*/100, noise);  // everyone under C: shrink
  EXPECT_NEAR(clip->clip_norm(), std::exp(-0.2 * 0.5), 1e-12);
  clip->Update(0, 100, noise);  // everyone clipped: grow
  EXPECT_NEAR(clip->clip_norm(), 1.0, 1e-12);
  // Noise multiplier split (Andrew et al. 2021, Sec. 3.2).
  Result<double> z_update = AdaptiveClipNorm::UpdateNoiseMultiplier(1.0, 5.0);
  ASSERT_TRUE(z_update.ok());
  EXPECT_NEAR(*z_update, 1.0 / std::sqrt(1.0 - 1.0 / 100.0), 1e-12);
  EXPECT_FALSE(AdaptiveClipNorm::UpdateNoiseMultiplier(1.0, 0.5).ok());
  EXPECT_FALSE(AdaptiveClipNorm::Create({0.0, 0.5, 0.2, 0.0}).ok());
  EXPECT_FALSE(AdaptiveClipNorm::Create({1.0, 1.5, 0.2, 0.0}).ok());
}

TEST(KeyedStreamTest, RandomAccessMatchesSequentialDraws) {
  StreamKey key = DeriveStreamKey("test", 3, {1, 2});
  KeyedStream sequential(key, 9);
  std::vector<uint64_t> drawn(37);
  for (auto& w : drawn) w = sequential.NextWord();
  std::vector<uint64_t> middle(20);
  KeyedStream(key, 9).WordsAt(13, middle);
  for (size_t k = 0; k < middle.size(); ++k) EXPECT_EQ(middle[k], drawn[13 + k]);
  EXPECT_NE(DeriveStreamKey("test", 3, {1, 2}), DeriveStreamKey("test", 3, {2, 1}));
  EXPECT_NE(DeriveStreamKey("test", 3, {}), DeriveStreamKey("tesu", 3, {}));
}

}  // namespace
}  // namespace psrec::train::privacy
