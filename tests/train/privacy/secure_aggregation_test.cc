// Pairwise masking: the masked sum equals the plain fixed-point sum exactly, a masked update
// alone looks uniform and uncorrelated with the plain one, and dropped clients' masks are
// removed with keys rebuilt from Shamir shares.
#include <algorithm>
#include <cmath>
#include <vector>

#include <gtest/gtest.h>

#include "train/privacy/fixed_point.h"
#include "train/privacy/keyed_stream.h"
#include "train/privacy/pairwise_masking.h"
#include "train/privacy/shamir_sharing.h"

namespace psrec::train::privacy {
namespace {

struct Round {
  std::vector<uint64_t> ids;
  std::vector<ClientKeyPair> keys;
  std::vector<std::vector<float>> updates;
};

Round MakeRound(int clients, int dim) {
  Round round;
  KeyedStream rng(DeriveStreamKey("secagg-test", 11, {}));
  for (int c = 0; c < clients; ++c) {
    round.ids.push_back(1000 + 17 * c);  // ids need not be dense
    round.keys.push_back(ClientKeyPairFrom(rng));
    std::vector<float> update(dim);
    for (float& v : update) v = static_cast<float>(rng.NextGaussian() * 0.1);
    round.updates.push_back(update);
  }
  return round;
}

std::vector<Peer> PeersOf(const Round& round, size_t self, const std::vector<bool>& present) {
  std::vector<Peer> peers;
  for (size_t c = 0; c < round.ids.size(); ++c) {
    if (c != self && present[c]) peers.push_back({round.ids[c], round.keys[c].public_key});
  }
  return peers;
}

// Each present client masks its encoded update; returns the masked vectors.
std::vector<std::vector<uint64_t>> MaskAll(const Round& round, const std::vector<bool>& present,
                                           const FixedPointCodec& codec, int64_t round_id) {
  std::vector<std::vector<uint64_t>> masked(round.ids.size());
  for (size_t c = 0; c < round.ids.size(); ++c) {
    masked[c].resize(round.updates[c].size());
    EXPECT_TRUE(codec.Encode(round.updates[c], masked[c]).ok());
    std::vector<Peer> peers = PeersOf(round, c, present);
    EXPECT_TRUE(ApplyPairwiseMasks(round.ids[c], round.keys[c], peers, round_id, 0, masked[c])
                    .ok());
  }
  return masked;
}

TEST(FixedPointTest, EncodesAndRejectsOverflow) {
  FixedPointCodec codec;
  std::vector<float> in = {1.5f, -0.25f, 0.0f};
  std::vector<uint64_t> words(3);
  ASSERT_TRUE(codec.Encode(in, words).ok());
  EXPECT_EQ(words[0], uint64_t{3} << 19);
  std::vector<double> out(3);
  codec.Decode(words, out);
  EXPECT_EQ(out[1], -0.25);
  std::vector<float> huge = {1e30f};
  std::vector<uint64_t> one(1);
  EXPECT_FALSE(codec.Encode(huge, one).ok());
  std::vector<float> nan = {std::nanf("")};
  EXPECT_FALSE(codec.Encode(nan, one).ok());
}

TEST(SecureAggregationTest, MaskedSumEqualsPlainSumExactly) {
  const int kClients = 6, kDim = 300;
  Round round = MakeRound(kClients, kDim);
  FixedPointCodec codec;
  std::vector<bool> present(kClients, true);
  auto masked = MaskAll(round, present, codec, /*round_id=*/4);
  std::vector<uint64_t> masked_sum(kDim, 0), plain_sum(kDim, 0);
  for (int c = 0; c < kClients; ++c) {
    std::vector<uint64_t> plain(kDim);
    ASSERT_TRUE(codec.Encode(round.updates[c], plain).ok());
    AddWords(plain, plain_sum);
    AddWords(masked[c], masked_sum);
    EXPECT_NE(masked[c], plain);
  }
  EXPECT_EQ(masked_sum, plain_sum);  // exact, word for word
}

TEST(SecureAggregationTest, ShardsMaskIndependently) {
  // A server holding coordinates [100, 300) sums its range alone.
  const int kClients = 3, kDim = 300;
  Round round = MakeRound(kClients, kDim);
  FixedPointCodec codec;
  std::vector<bool> present(kClients, true);
  auto whole = MaskAll(round, present, codec, 1);
  for (int c = 0; c < kClients; ++c) {
    // Seeds agreed once, then two shards [0, 100) and [100, 300) masked separately.
    std::vector<Peer> peers = PeersOf(round, c, present);
    Result<std::vector<PeerSeed>> seeds = AgreePairSeeds(round.ids[c], round.keys[c], peers, 1);
    ASSERT_TRUE(seeds.ok());
    std::vector<uint64_t> low(100), high(200);
    std::span<const float> update(round.updates[c]);
    ASSERT_TRUE(codec.Encode(update.first(100), low).ok());
    ASSERT_TRUE(codec.Encode(update.subspan(100), high).ok());
    ASSERT_TRUE(ApplyMasksWithSeeds(round.ids[c], *seeds, 0, low).ok());
    ASSERT_TRUE(ApplyMasksWithSeeds(round.ids[c], *seeds, 100, high).ok());
    EXPECT_TRUE(std::equal(low.begin(), low.end(), whole[c].begin()));
    EXPECT_TRUE(std::equal(high.begin(), high.end(), whole[c].begin() + 100));
  }
}

TEST(SecureAggregationTest, MaskedUpdateIsUnrelatedToThePlainOne) {
  const int kClients = 2, kDim = 20000;
  Round round = MakeRound(kClients, kDim);
  // A strongly structured plain update: a ramp.
  for (int k = 0; k < kDim; ++k) round.updates[0][k] = static_cast<float>(k % 100) * 0.01f;
  FixedPointCodec codec;
  std::vector<bool> present(kClients, true);
  auto masked = MaskAll(round, present, codec, 2);
  std::vector<uint64_t> plain(kDim);
  ASSERT_TRUE(codec.Encode(round.updates[0], plain).ok());
  // Uniformity: the top byte of each masked word falls in 16 buckets evenly (chi-square,
  // 15 degrees of freedom; 40 is beyond the 99.95% quantile).
  std::vector<double> buckets(16, 0);
  for (uint64_t w : masked[0]) buckets[w >> 60] += 1;
  double chi2 = 0, expected = kDim / 16.0;
  for (double b : buckets) chi2 += (b - expected) * (b - expected) / expected;
  EXPECT_LT(chi2, 40.0);
  // Correlation between the plain values and the masked words (as reals in [0, 1)): near 0.
  double mx = 0, my = 0;
  std::vector<double> x(kDim), y(kDim);
  for (int k = 0; k < kDim; ++k) {
    x[k] = round.updates[0][k];
    y[k] = static_cast<double>(masked[0][k] >> 11) * 0x1.0p-53;
    mx += x[k];
    my += y[k];
  }
  mx /= kDim;
  my /= kDim;
  double sxy = 0, sxx = 0, syy = 0;
  for (int k = 0; k < kDim; ++k) {
    sxy += (x[k] - mx) * (y[k] - my);
    sxx += (x[k] - mx) * (x[k] - mx);
    syy += (y[k] - my) * (y[k] - my);
  }
  double correlation = sxy / std::sqrt(sxx * syy);
  EXPECT_LT(std::fabs(correlation), 4.0 / std::sqrt(kDim));  // 4 standard errors
  // The plain update itself is perfectly correlated with itself: the test can fail.
  EXPECT_GT(sxx, 0.0);
}

TEST(SecureAggregationTest, PairSeedsAgreeAndDifferPerRound) {
  Round round = MakeRound(2, 1);
  auto ab = AgreePairSeed(round.ids[0], round.keys[0], round.ids[1], round.keys[1].public_key, 5);
  auto ba = AgreePairSeed(round.ids[1], round.keys[1], round.ids[0], round.keys[0].public_key, 5);
  auto ab6 = AgreePairSeed(round.ids[0], round.keys[0], round.ids[1], round.keys[1].public_key, 6);
  ASSERT_TRUE(ab.ok() && ba.ok() && ab6.ok());
  EXPECT_EQ(*ab, *ba);
  EXPECT_NE(*ab, *ab6);
  EXPECT_FALSE(
      AgreePairSeed(round.ids[0], round.keys[0], round.ids[0], round.keys[0].public_key, 5).ok());
  PublicKey low_order{};  // the identity point: X25519 refuses it
  EXPECT_FALSE(AgreePairSeed(round.ids[0], round.keys[0], 7, low_order, 5).ok());
}

TEST(ShamirSharingTest, AnyThresholdSharesRebuildTheSecret) {
  KeyedStream rng(DeriveStreamKey("shamir-test", 1, {}));
  std::array<uint8_t, 32> secret;
  rng.NextBytes(secret);
  Result<std::vector<ShamirShare>> shares = SplitSecret(secret, 3, 5, rng);
  ASSERT_TRUE(shares.ok());
  std::vector<ShamirShare> pick = {(*shares)[4], (*shares)[1], (*shares)[2]};
  Result<std::array<uint8_t, 32>> rebuilt = CombineShares(pick, 3);
  ASSERT_TRUE(rebuilt.ok());
  EXPECT_EQ(*rebuilt, secret);
  // Two shares of a threshold-3 sharing: refused; with threshold 2 claimed: a wrong secret.
  EXPECT_FALSE(CombineShares(std::span<const ShamirShare>(pick).first(2), 3).ok());
  Result<std::array<uint8_t, 32>> wrong =
      CombineShares(std::span<const ShamirShare>(pick).first(2), 2);
  EXPECT_TRUE(!wrong.ok() || *wrong != secret);
  std::vector<ShamirShare> repeated = {(*shares)[0], (*shares)[0], (*shares)[1]};
  EXPECT_FALSE(CombineShares(repeated, 3).ok());
  EXPECT_FALSE(SplitSecret(secret, 6, 5, rng).ok());
}

TEST(SecureAggregationTest, DroppedClientsMasksAreRemovedFromShares) {
  const int kClients = 7, kDim = 64, kThreshold = 4;
  Round round = MakeRound(kClients, kDim);
  FixedPointCodec codec;
  KeyedStream rng(DeriveStreamKey("shamir-test", 2, {}));
  // Before masking, every client shares its secret key among the round's participants.
  std::vector<std::vector<ShamirShare>> shares_of(kClients);
  for (int c = 0; c < kClients; ++c) {
    auto shares = SplitSecret(round.keys[c].secret_key, kThreshold, kClients, rng);
    ASSERT_TRUE(shares.ok());
    shares_of[c] = *shares;
  }
  // Everyone masks against all participants; clients 2 and 5 then never report.
  std::vector<bool> all(kClients, true);
  auto masked = MaskAll(round, all, codec, 9);
  std::vector<bool> reported(kClients, true);
  reported[2] = reported[5] = false;
  std::vector<uint64_t> sum(kDim, 0), plain_sum(kDim, 0);
  std::vector<Peer> survivors;
  for (int c = 0; c < kClients; ++c) {
    if (!reported[c]) continue;
    AddWords(masked[c], sum);
    std::vector<uint64_t> plain(kDim);
    ASSERT_TRUE(codec.Encode(round.updates[c], plain).ok());
    AddWords(plain, plain_sum);
    survivors.push_back({round.ids[c], round.keys[c].public_key});
  }
  EXPECT_NE(sum, plain_sum);  // the dropped clients' masks are still in
  for (int d : {2, 5}) {
    // Survivors 0, 3, 4, 6 hand in their shares of d's key.
    std::vector<ShamirShare> handed = {shares_of[d][0], shares_of[d][3], shares_of[d][4],
                                       shares_of[d][6]};
    Result<std::array<uint8_t, 32>> secret = CombineShares(handed, kThreshold);
    ASSERT_TRUE(secret.ok());
    ClientKeyPair rebuilt = KeyPairFromSecret(*secret);
    EXPECT_EQ(rebuilt.public_key, round.keys[d].public_key);
    ASSERT_TRUE(RemoveMasksOfDropped(round.ids[d], rebuilt, survivors, 9, 0, sum).ok());
  }
  EXPECT_EQ(sum, plain_sum);
}

TEST(SecureAggregationTest, FewerThanTwoClientsIsRefused) {
  Round round = MakeRound(2, 8);
  std::vector<uint64_t> words(8, 0);
  Status alone = ApplyPairwiseMasks(round.ids[0], round.keys[0], {}, 1, 0, words);
  ASSERT_FALSE(alone.ok());
  EXPECT_NE(alone.message().find("at least 2 clients per round"), std::string::npos);
  std::vector<Peer> one_survivor = {{round.ids[1], round.keys[1].public_key}};
  Status lone = RemoveMasksOfDropped(round.ids[0], round.keys[0], one_survivor, 1, 0, words);
  ASSERT_FALSE(lone.ok());
  EXPECT_NE(lone.message().find("abandoned"), std::string::npos);
}

}  // namespace
}  // namespace psrec::train::privacy
