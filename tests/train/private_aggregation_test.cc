// PrivateAggregation (train/private_aggregation.h) and ResolveFederatedPrivacy: the secure
// sum equals the plain sum exactly in fixed point, dropouts included; what one client hands
// its aggregation point is unrelated to its plain update; a lone client's group is
// abandoned; clipping bounds the whole update; the workers' noise shares add up to the
// configured variance; bad settings name their field.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "train/federated_privacy.h"
#include "train/private_aggregation.h"

namespace psrec::train {
namespace {

constexpr int kDim = 3;

RoundAggregate EmptyAggregate(size_t rows) {
  RoundAggregate a;
  a.round = 7;
  a.dim = kDim;
  for (size_t r = 0; r < rows; ++r) a.keys.push_back(1000 + r);
  a.sums.assign(rows * kDim, 0);
  a.weights.assign(rows, 0);
  return a;
}

ClientUpdate UpdateOf(uint64_t id, std::vector<uint32_t> rows, float base) {
  ClientUpdate u;
  u.round = 7;
  u.client_id = id;
  u.dim = kDim;
  u.items = rows;  // worker-dense ids are not used by the transform
  u.rows = rows;
  for (size_t s = 0; s < rows.size(); ++s) {
    for (int k = 0; k < kDim; ++k) u.deltas.push_back(base * static_cast<float>(s + 1) - 0.01f * k);
  }
  return u;
}

FederatedPrivacySettings SecureOnly() {
  FederatedPrivacySettings s;
  s.secure_aggregation = true;
  return s;
}

TEST(PrivateAggregationTest, SecureSumIsThePlainSumWithADropout) {
  auto made = PrivateAggregation::Create(SecureOnly(), 42, 0, 1);
  ASSERT_TRUE(made.ok());
  PrivateAggregation& secure = **made;
  RoundAggregate aggregate = EmptyAggregate(5);
  // Four sampled clients; client 30 drops out after the key exchange.
  const std::vector<RoundParticipant> participants = {
      {10, true}, {20, true}, {30, false}, {40, true}};
  ASSERT_TRUE(secure.StartRound(aggregate, participants).ok());
  std::vector<ClientUpdate> updates = {UpdateOf(10, {0, 2}, 0.25f), UpdateOf(20, {2, 3}, -0.5f),
                                       UpdateOf(40, {0, 4}, 0.125f)};
  std::vector<double> plain(5 * kDim, 0), weights(5, 0);
  const privacy::FixedPointCodec codec;
  for (ClientUpdate& u : updates) {
    for (size_t s = 0; s < u.rows.size(); ++s) {
      for (int k = 0; k < kDim; ++k) {
        const double x = u.deltas[s * kDim + k];
        plain[u.rows[s] * kDim + k] += std::round(x * 1048576.0) / 1048576.0;
      }
      weights[u.rows[s]] += 1;
    }
    ASSERT_TRUE(secure.TransformClientUpdate(&u).ok());
    EXPECT_TRUE(u.absorbed);
    ASSERT_EQ(u.masked_words.size(), 5u * (kDim + 1));
    // What the client hands over is masked: no word is its plain encoding, zeros included
    // (rows it did not touch would otherwise read 0).
    std::vector<float> dense(5 * (kDim + 1), 0.0f);
    for (size_t s = 0; s < u.rows.size(); ++s) {
      for (int k = 0; k < kDim; ++k) dense[u.rows[s] * (kDim + 1) + k] = u.deltas[s * kDim + k];
      dense[u.rows[s] * (kDim + 1) + kDim] = 1.0f;
    }
    std::vector<uint64_t> encoded(dense.size());
    ASSERT_TRUE(codec.Encode(dense, encoded).ok());
    for (size_t i = 0; i < encoded.size(); ++i) EXPECT_NE(u.masked_words[i], encoded[i]) << i;
  }
  aggregate.clients = 3;
  ASSERT_TRUE(secure.TransformAggregate(&aggregate).ok());
  EXPECT_EQ(aggregate.groups_abandoned, 0);
  for (size_t i = 0; i < plain.size(); ++i) EXPECT_EQ(aggregate.sums[i], plain[i]) << i;
  for (size_t r = 0; r < 5; ++r) EXPECT_EQ(aggregate.weights[r], weights[r]) << r;
}

TEST(PrivateAggregationTest, ALoneReportingClientAbandonsTheGroup) {
  auto made = PrivateAggregation::Create(SecureOnly(), 42, 0, 1);
  ASSERT_TRUE(made.ok());
  RoundAggregate aggregate = EmptyAggregate(3);
  const std::vector<RoundParticipant> participants = {{10, true}, {20, false}};
  ASSERT_TRUE((*made)->StartRound(aggregate, participants).ok());
  ClientUpdate u = UpdateOf(10, {1}, 0.5f);
  ASSERT_TRUE((*made)->TransformClientUpdate(&u).ok());
  aggregate.clients = 1;
  ASSERT_TRUE((*made)->TransformAggregate(&aggregate).ok());
  EXPECT_EQ(aggregate.groups_abandoned, 1);
  EXPECT_EQ(aggregate.clients, 0);
  for (double v : aggregate.sums) EXPECT_EQ(v, 0);
  for (double w : aggregate.weights) EXPECT_EQ(w, 0);
}

TEST(PrivateAggregationTest, ClipsTheWholeUpdateAndSharesAddUpToTheNoise) {
  FederatedPrivacySettings dp;
  dp.dp = true;
  dp.clip_norm = 0.5;
  dp.noise_multiplier = 2.0;
  dp.aggregation = config::FederatedConfig::FIXED_DENOMINATOR_SUM;
  const size_t rows = 4000;
  std::vector<double> total(rows * kDim, 0);
  for (int worker = 0; worker < 2; ++worker) {
    auto made = PrivateAggregation::Create(dp, 42, worker, 2);
    ASSERT_TRUE(made.ok());
    RoundAggregate aggregate = EmptyAggregate(rows);
    ASSERT_TRUE((*made)->StartRound(aggregate, {}).ok());
    ClientUpdate u = UpdateOf(10, {0, 1}, 3.0f);
    ASSERT_TRUE((*made)->TransformClientUpdate(&u).ok());
    double norm = 0;
    for (float d : u.deltas) norm += static_cast<double>(d) * d;
    EXPECT_NEAR(std::sqrt(norm), 0.5, 1e-6);
    EXPECT_FALSE(u.absorbed);
    ASSERT_TRUE((*made)->TransformAggregate(&aggregate).ok());
    EXPECT_EQ(aggregate.clients_clipped, 1);
    for (size_t i = 0; i < total.size(); ++i) total[i] += aggregate.sums[i];
  }
  // Two shares of N(0, (zS)^2 / 2) sum to N(0, (zS)^2) = N(0, 1) on every coordinate.
  double sum = 0, squares = 0;
  for (double v : total) {
    sum += v;
    squares += v * v;
  }
  const double n = static_cast<double>(total.size());
  EXPECT_NEAR(sum / n, 0, 0.05);
  EXPECT_NEAR(squares / n, 1.0, 0.06);
}

config::JobConfig DpJob() {
  config::JobConfig job;
  job.mutable_training()->set_epochs(100);
  config::FederatedConfig* f = job.mutable_training()->mutable_federated();
  f->set_sampling_rate(0.01);
  f->set_clip_norm(0.5);
  f->set_noise_multiplier(1.0);
  f->set_delta(1e-3);
  return job;
}

void ExpectFieldError(const config::JobConfig& job, const std::string& field) {
  Result<FederatedPrivacySettings> s = ResolveFederatedPrivacy(job);
  ASSERT_FALSE(s.ok()) << field;
  EXPECT_NE(s.status().message().find("training.federated." + field), std::string::npos)
      << s.status().message();
}

TEST(FederatedPrivacyTest, ResolvesAndNamesBadFields) {
  Result<FederatedPrivacySettings> ok = ResolveFederatedPrivacy(DpJob());
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  EXPECT_TRUE(ok->dp);
  EXPECT_EQ(ok->aggregation, config::FederatedConfig::FIXED_DENOMINATOR_SUM);
  config::JobConfig job = DpJob();
  job.mutable_training()->mutable_federated()->set_clip_norm(0);
  ExpectFieldError(job, "clip_norm");
  job = DpJob();
  job.mutable_training()->mutable_federated()->set_noise_multiplier(-1);
  ExpectFieldError(job, "noise_multiplier");
  job = DpJob();
  job.mutable_training()->mutable_federated()->set_aggregation(
      config::FederatedConfig::WEIGHTED_MEAN);
  ExpectFieldError(job, "aggregation");
  job = DpJob();
  job.mutable_training()->mutable_federated()->clear_clip_norm();
  ExpectFieldError(job, "noise_multiplier");
  job = DpJob();
  job.mutable_training()->mutable_federated()->clear_noise_multiplier();
  // Unreachable: at delta 1e-5 even z = 1000 leaves epsilon ~0.008 (the conversion's term).
  job.mutable_training()->mutable_federated()->set_delta(1e-5);
  job.mutable_training()->mutable_federated()->set_target_epsilon(1e-9);
  ExpectFieldError(job, "target_epsilon");
  // A reachable target: z such that 100 rounds at q 0.01 spend at most epsilon 1.
  job.mutable_training()->mutable_federated()->set_target_epsilon(1.0);
  Result<FederatedPrivacySettings> z = ResolveFederatedPrivacy(job);
  ASSERT_TRUE(z.ok()) << z.status().message();
  EXPECT_GT(z->noise_multiplier, 0.3);
  EXPECT_LT(z->noise_multiplier, 3.0);
}

}  // namespace
}  // namespace psrec::train
