// Negative samplers (train/negative_sampler.h) and the implicit data path around them:
// distributions with a fixed seed, exclusion of the user's positives, determinism, the
// catalogue all-gather, positives by threshold and the error when there are none.
#include "train/negative_sampler.h"

#include <gtest/gtest.h>

#include <cmath>
#include <thread>
#include <vector>

#include "data/implicit.h"
#include "train/implicit_batches.h"
#include "train/implicit_setup.h"
#include "train/thread_collective.h"

namespace psrec::train {
namespace {

TEST(NegativeSamplerTest, UniformDrawsEveryItemAlike) {
  const NegativeSampler sampler = NegativeSampler::Uniform(10);
  SampleRng rng(42);
  std::vector<int> counts(10, 0);
  const int draws = 200000;
  for (int d = 0; d < draws; ++d) ++counts[sampler.Draw(&rng)];
  for (int i = 0; i < 10; ++i) {
    // Expected 20000, standard deviation ~134: 5% is over 7 sigma.
    EXPECT_NEAR(counts[i], draws / 10, draws / 200) << "item " << i;
  }
}

TEST(NegativeSamplerTest, PopularityFollowsCountsToTheAlpha) {
  const std::vector<double> counts = {1, 0, 4, 16, 64, 3};
  Result<NegativeSampler> sampler = NegativeSampler::Popularity(counts, 0.75);
  ASSERT_TRUE(sampler.ok()) << sampler.status().message();
  double total = 0;
  for (double c : counts) total += std::pow(c, 0.75);
  SampleRng rng(7);
  std::vector<int> drawn(counts.size(), 0);
  const int draws = 400000;
  for (int d = 0; d < draws; ++d) ++drawn[sampler->Draw(&rng)];
  for (size_t i = 0; i < counts.size(); ++i) {
    const double p = std::pow(counts[i], 0.75) / total;
    EXPECT_NEAR(sampler->Probability(static_cast<uint32_t>(i)), p, 1e-6) << "item " << i;
    const double sd = std::sqrt(draws * p * (1 - p));
    EXPECT_NEAR(drawn[i], draws * p, 6 * sd + 1) << "item " << i;
  }
  EXPECT_EQ(drawn[1], 0);  // no positives: never drawn
}

TEST(NegativeSamplerTest, PopularityWithoutPositivesIsAnError) {
  const std::vector<double> counts = {0, 0};
  EXPECT_FALSE(NegativeSampler::Popularity(counts, 0.75).ok());
}

TEST(NegativeSamplerTest, DrawsExcludeTheUsersPositivesUpToTheDrawBound) {
  const NegativeSampler sampler = NegativeSampler::Uniform(10);
  const std::vector<uint32_t> users = {0, 0, 0, 0, 0, 1};
  const std::vector<uint32_t> items = {4, 0, 2, 1, 3, 9};
  const UserPositives positives(2, users, items);
  ASSERT_EQ(positives.of(0).size(), 5u);
  EXPECT_TRUE(positives.Contains(0, 3));
  EXPECT_FALSE(positives.Contains(0, 9));
  SampleRng rng(3);
  int hits = 0;
  for (int d = 0; d < 20000; ++d) hits += positives.Contains(0, sampler.DrawExcluding(&rng, positives.of(0), 8));
  // Half the mass is the user's: a positive survives 8 draws with probability 1/256.
  EXPECT_LT(hits, 200);
  for (int d = 0; d < 20000; ++d) {
    ASSERT_FALSE(positives.Contains(0, sampler.DrawExcluding(&rng, positives.of(0), 64)));
  }
  // A user holding every item still gets an answer (the last draw).
  std::vector<uint32_t> all = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
  EXPECT_LT(sampler.DrawExcluding(&rng, all, 8), 10u);
}

ImplicitTraining SmallImplicit(models::Examples examples, int negatives) {
  ImplicitTraining implicit;
  implicit.config.set_negatives_per_positive(negatives);
  implicit.examples = examples;
  const std::vector<uint32_t> users = {0, 0, 1};
  const std::vector<uint32_t> items = {1, 2, 3};
  implicit.positives = UserPositives(2, users, items);
  implicit.sampler = NegativeSampler::Uniform(50);
  return implicit;
}

TEST(ImplicitBatchesTest, ExamplesHaveTheLayoutOfTheirKindAndRepeatWithTheSeed) {
  const std::vector<data::PackedRating> positives = {{0, 1, 1}, {1, 3, 1}};
  const ImplicitTraining pairwise = SmallImplicit(models::Examples::kPairwise, 3);
  std::vector<data::PackedRating> a, b;
  std::vector<uint32_t> neg_a, neg_b;
  SampleRng rng_a(99), rng_b(99);
  ExpandPositives(pairwise, positives, &rng_a, &a, &neg_a);
  ExpandPositives(pairwise, positives, &rng_b, &b, &neg_b);
  ASSERT_EQ(a.size(), 6u);
  ASSERT_EQ(neg_a.size(), 6u);
  EXPECT_EQ(neg_a, neg_b);
  for (size_t i = 0; i < 6; ++i) {
    EXPECT_EQ(a[i].user, positives[i / 3].user);
    EXPECT_EQ(a[i].item, positives[i / 3].item);
    EXPECT_FALSE(pairwise.positives.Contains(a[i].user, neg_a[i]));
  }
  SampleRng other(100);
  std::vector<data::PackedRating> c;
  std::vector<uint32_t> neg_c;
  ExpandPositives(pairwise, positives, &other, &c, &neg_c);
  EXPECT_NE(neg_a, neg_c);

  const ImplicitTraining pointwise = SmallImplicit(models::Examples::kPointwise, 2);
  std::vector<data::PackedRating> p;
  std::vector<uint32_t> unused;
  SampleRng rng_p(5);
  ExpandPositives(pointwise, positives, &rng_p, &p, &unused);
  ASSERT_EQ(p.size(), 6u);
  EXPECT_TRUE(unused.empty());
  for (size_t i = 0; i < 6; ++i) {
    EXPECT_EQ(p[i].user, positives[i / 3].user);
    EXPECT_EQ(p[i].rating, i % 3 == 0 ? 1.0f : 0.0f);
    if (i % 3 == 0) {
      EXPECT_EQ(p[i].item, positives[i / 3].item);
    }
  }
}

TEST(ImplicitSetupTest, EveryWorkerGetsTheUnionOfItemKeys) {
  ThreadCollectiveGroup group(3);
  std::vector<std::vector<uint64_t>> out(3);
  std::vector<std::thread> threads;
  const uint64_t big = (uint64_t{1} << 60) + 12345;
  for (int r = 0; r < 3; ++r) {
    threads.emplace_back([&, r] {
      std::vector<uint64_t> keys = {uint64_t(r), 7, big + r};
      Result<std::vector<uint64_t>> all = AllGatherKeys(keys, group.Member(r).get());
      ASSERT_TRUE(all.ok());
      out[r] = *all;
    });
  }
  for (auto& t : threads) t.join();
  const std::vector<uint64_t> expected = {0, 1, 2, 7, big, big + 1, big + 2};
  for (int r = 0; r < 3; ++r) EXPECT_EQ(out[r], expected) << "worker " << r;
}

data::RatingsShard Interactions() {
  data::RatingColumns c;
  c.user_ids = {10, 20};
  c.item_ids = {100, 300};
  c.user_index = {0, 0, 0, 1, 1};
  c.item_index = {1, 1, 0, 0, 1};
  c.rating = {5, 4, 2, 3, 4};
  return data::ShardFromColumns(std::move(c));
}

TEST(ImplicitSetupTest, PositivesPassTheThresholdAndDuplicatesCollapse) {
  const std::vector<uint64_t> catalogue = {100, 200, 300};
  config::ImplicitConfig implicit;
  data::RatingsShard all = data::ImplicitPositives(Interactions(), implicit, catalogue);
  EXPECT_EQ(all.size(), 4u);  // (10,300) twice is one positive
  ASSERT_EQ(all.item_ids.size(), 3u);
  implicit.set_positive_threshold(4);
  data::RatingsShard kept = data::ImplicitPositives(Interactions(), implicit, catalogue);
  ASSERT_EQ(kept.size(), 2u);
  EXPECT_EQ(kept.user_ids[kept.user_index[0]], 10u);
  EXPECT_EQ(kept.item_ids[kept.item_index[0]], 300u);
  EXPECT_EQ(kept.user_ids[kept.user_index[1]], 20u);
  EXPECT_EQ(kept.item_ids[kept.item_index[1]], 300u);
  EXPECT_EQ(kept.rating[0], 1.0f);
}

TEST(ImplicitSetupTest, NoPositiveAboveTheThresholdNamesTheFile) {
  ThreadCollectiveGroup group(1);
  std::unique_ptr<Collective> member = group.Member(0);
  config::JobConfig job;
  job.mutable_data()->set_train_path("ratings/u1.base");
  job.mutable_data()->mutable_implicit()->set_positive_threshold(6);
  data::WorkerData data{Interactions(), Interactions()};
  auto prepared = PrepareImplicit(job, models::Examples::kPairwise, &data, member.get());
  ASSERT_FALSE(prepared.ok());
  EXPECT_NE(prepared.status().message().find("ratings/u1.base"), std::string::npos)
      << prepared.status().message();
  EXPECT_NE(prepared.status().message().find("positive_threshold 6"), std::string::npos)
      << prepared.status().message();
}

TEST(ImplicitSetupTest, CatalogueHoldsTestItemsAndPopularityCountsTrainPositives) {
  ThreadCollectiveGroup group(1);
  std::unique_ptr<Collective> member = group.Member(0);
  config::JobConfig job;
  job.mutable_data()->mutable_implicit()->set_sampler(config::ImplicitConfig::POPULARITY);
  data::RatingColumns test;
  test.user_ids = {10};
  test.item_ids = {999};
  test.user_index = {0};
  test.item_index = {0};
  test.rating = {1};
  data::WorkerData data{Interactions(), data::ShardFromColumns(std::move(test))};
  auto prepared = PrepareImplicit(job, models::Examples::kPointwise, &data, member.get());
  ASSERT_TRUE(prepared.ok()) << prepared.status().message();
  const std::vector<uint64_t> expected = {100, 300, 999};
  EXPECT_EQ((*prepared)->catalogue, expected);
  EXPECT_EQ(data.train.item_ids.size(), 3u);
  // Train positives: items 100 and 300 twice each (user 10's duplicate of 300 collapsed,
  // else 300 would count 3); 999, a test item, none.
  EXPECT_NEAR((*prepared)->sampler.Probability(0), 0.5, 1e-6);
  EXPECT_NEAR((*prepared)->sampler.Probability(1), 0.5, 1e-6);
  EXPECT_NEAR((*prepared)->sampler.Probability(2), 0, 1e-9);
}

}  // namespace
}  // namespace psrec::train
