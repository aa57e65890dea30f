// Recency sampling of implicit positives (data.implicit.recency_half_life): the weights by
// rank of recency (data/implicit.h), sampling by weight in the batch expansion
// (train/implicit_batches.h), and the errors of a config that cannot use it.
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <vector>

#include "common/config.h"
#include "data/implicit.h"
#include "train/implicit_batches.h"
#include "train/implicit_setup.h"
#include "train/thread_collective.h"

namespace psrec::train {
namespace {

// User 10 interacts with items 100..400 at times 40, 10, 30, 20 and again with 200 at 50
// (its latest time counts); user 20 with 100 at time 5.
data::RatingsShard TimedInteractions() {
  data::RatingColumns c;
  c.user_ids = {10, 20};
  c.item_ids = {100, 200, 300, 400};
  c.user_index = {0, 0, 0, 0, 0, 1};
  c.item_index = {0, 1, 2, 3, 1, 0};
  c.rating = {5, 4, 3, 4, 2, 5};
  c.timestamp = {40, 10, 30, 20, 50, 5};
  return data::ShardFromColumns(std::move(c));
}

TEST(RecencyWeightsTest, AUsersPositivesWeighByTheirRankFromTheLatest) {
  const std::vector<uint64_t> catalogue = {100, 200, 300, 400};
  const config::ImplicitConfig implicit;
  const data::RatingsShard plain = data::ImplicitPositives(TimedInteractions(), implicit, catalogue);
  for (float w : plain.rating) EXPECT_EQ(w, 1.0f);

  const data::RatingsShard weighted =
      data::ImplicitPositives(TimedInteractions(), implicit, catalogue, {2.0, 0.4});
  ASSERT_EQ(weighted.size(), 5u);  // (10, 200) twice is one positive, at its latest time 50
  // Positives in (user, item) order; user 10's ranks: 200 (50) 0, 100 (40) 1, 300 (30) 2,
  // 400 (20) 3 -> 2^(-k/2), at least 0.4.
  const float expected[] = {std::exp2(-0.5f), 1.0f, 0.5f, 0.4f, 1.0f};
  for (size_t r = 0; r < weighted.size(); ++r) {
    EXPECT_FLOAT_EQ(weighted.rating[r], expected[r]) << "positive " << r;
  }
}

TEST(RecencyWeightsTest, WeightedPositivesTakePartInProportionToTheirWeight) {
  ImplicitTraining implicit;
  implicit.config.set_negatives_per_positive(1);
  implicit.examples = models::Examples::kPairwise;
  implicit.positives = UserPositives(2, std::vector<uint32_t>{0, 1}, std::vector<uint32_t>{1, 2});
  implicit.sampler = NegativeSampler::Uniform(50);
  const std::vector<data::PackedRating> positives = {{0, 1, 1.0f}, {1, 2, 0.25f}};
  int kept[2] = {0, 0};
  const int rounds = 4000;
  for (int round = 0; round < rounds; ++round) {
    SampleRng rng(1000 + round);
    std::vector<data::PackedRating> examples;
    std::vector<uint32_t> negatives;
    ExpandPositives(implicit, positives, &rng, &examples, &negatives);
    ASSERT_EQ(examples.size(), negatives.size());
    for (const data::PackedRating& e : examples) {
      ++kept[e.user];
      EXPECT_EQ(e.rating, 1.0f);  // a pairwise example's label, not the positive's weight
    }
  }
  EXPECT_EQ(kept[0], rounds);
  // Binomial(4000, 0.25): mean 1000, standard deviation 27.
  EXPECT_NEAR(kept[1], 1000, 140);
}

TEST(RecencyWeightsTest, UnweightedPositivesDrawTheSameNegativesAsWithoutTheFeature) {
  // Weight-1 positives draw nothing for the sampling: a job without recency weights keeps
  // the negatives it drew before the feature existed. A pinned draw of this seed.
  ImplicitTraining implicit;
  implicit.config.set_negatives_per_positive(2);
  implicit.examples = models::Examples::kPairwise;
  implicit.positives = UserPositives(1, std::vector<uint32_t>{0}, std::vector<uint32_t>{3});
  implicit.sampler = NegativeSampler::Uniform(1000);
  const std::vector<data::PackedRating> positives = {{0, 3, 1.0f}};
  SampleRng rng(7), reference(7);
  std::vector<data::PackedRating> examples;
  std::vector<uint32_t> negatives;
  ExpandPositives(implicit, positives, &rng, &examples, &negatives);
  const std::vector<uint32_t> own = {3};
  ASSERT_EQ(negatives.size(), 2u);
  EXPECT_EQ(negatives[0], implicit.sampler.DrawExcluding(&reference, own, 8));
  EXPECT_EQ(negatives[1], implicit.sampler.DrawExcluding(&reference, own, 8));
}

TEST(RecencyWeightsTest, DataWithoutTimestampsIsAnErrorNamingTheFile) {
  ThreadCollectiveGroup group(1);
  std::unique_ptr<Collective> member = group.Member(0);
  config::JobConfig job;
  job.mutable_data()->set_train_path("clicks/train.txt");
  job.mutable_data()->mutable_implicit()->set_recency_half_life(30);
  data::RatingColumns c;
  c.user_ids = {1};
  c.item_ids = {2};
  c.user_index = {0};
  c.item_index = {0};
  c.rating = {1};
  data::WorkerData data{data::ShardFromColumns(c), data::ShardFromColumns(c)};
  auto prepared = PrepareImplicit(job, models::Examples::kPairwise, &data, member.get());
  ASSERT_FALSE(prepared.ok());
  EXPECT_NE(prepared.status().message().find("clicks/train.txt"), std::string::npos)
      << prepared.status().message();
  EXPECT_NE(prepared.status().message().find("recency_half_life"), std::string::npos);
}

TEST(RecencyWeightsTest, ConfigRangesAndFederatedAreChecked) {
  config::JobConfig job;
  job.mutable_data()->set_train_path("x");
  job.mutable_data()->mutable_implicit()->set_recency_half_life(30);
  EXPECT_TRUE(ValidateJobConfig(job).ok());
  job.mutable_data()->mutable_implicit()->set_recency_min_weight(1.5);
  EXPECT_NE(ValidateJobConfig(job).message().find("recency_min_weight"), std::string::npos);
  job.mutable_data()->mutable_implicit()->set_recency_min_weight(0.1);
  job.mutable_training()->set_update_mode(config::FEDERATED);
  EXPECT_NE(ValidateJobConfig(job).message().find("FEDERATED"), std::string::npos);
}

}  // namespace
}  // namespace psrec::train
