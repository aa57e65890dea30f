#include "train/ranking_setup.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include "common/keys.h"
#include "train/thread_collective.h"

namespace psrec::train {
namespace {

// A shard of (user, item, rating) triples over integer ids.
data::RatingsShard Shard(const std::vector<std::tuple<uint64_t, uint64_t, float>>& rows) {
  data::RatingColumns c;
  auto index = [](std::vector<uint64_t>* ids, uint64_t key) {
    auto it = std::find(ids->begin(), ids->end(), key);
    if (it != ids->end()) return static_cast<uint32_t>(it - ids->begin());
    ids->push_back(key);
    return static_cast<uint32_t>(ids->size() - 1);
  };
  for (const auto& [u, i, r] : rows) {
    c.user_index.push_back(index(&c.user_ids, u));
    c.item_index.push_back(index(&c.item_ids, i));
    c.rating.push_back(r);
  }
  return data::ShardFromColumns(std::move(c));
}

// Users 1 and 2; items 10..15. Train: 1 -> 10, 11; 2 -> 12. Test: 1 -> 13 (5), 2 -> 14 (2).
// Item 15 is only in the other worker's data of the gathering test; here it is absent.
struct Data {
  data::RatingsShard train = Shard({{1, 10, 4}, {1, 11, 3}, {2, 12, 5}});
  data::RatingsShard test = Shard({{1, 13, 5}, {2, 14, 2}});
};

config::EvaluationConfig Evaluation(int k) {
  config::EvaluationConfig e;
  e.set_k(k);
  return e;
}

// Runs f(collective) on one member of a one-worker group.
Result<RankingTask> BuildAlone(const config::EvaluationConfig& e,
                               config::EvaluationConfig::Protocol protocol, const Data& d) {
  ThreadCollectiveGroup group(1);
  auto member = group.Member(0);
  return BuildRankingTask(e, protocol, d.train, d.test, member.get());
}

std::string WriteFile(const std::string& name, const std::string& text) {
  const std::string path =
      (std::filesystem::temp_directory_path() / ("psrec_ranking_setup_" + name)).string();
  std::ofstream(path) << text;
  return path;
}

TEST(AllGatherKeys, UnionOfEveryMembersKeysOnEveryMember) {
  ThreadCollectiveGroup group(2);
  const std::vector<std::vector<uint64_t>> keys = {{5, 1ULL << 63 | 77, 9}, {9, 3}};
  std::vector<std::vector<uint64_t>> out(2);
  std::vector<std::thread> threads;
  for (int r = 0; r < 2; ++r) {
    threads.emplace_back([&, r] {
      auto member = group.Member(r);
      Result<std::vector<uint64_t>> all = AllGatherKeys(keys[static_cast<size_t>(r)], member.get());
      ASSERT_TRUE(all.ok());
      out[static_cast<size_t>(r)] = *all;
    });
  }
  for (auto& t : threads) t.join();
  const std::vector<uint64_t> expected = {3, 5, 9, 1ULL << 63 | 77};
  EXPECT_EQ(out[0], expected);
  EXPECT_EQ(out[1], expected);
}

TEST(ResolveProtocol, AutoFollowsTheModel) {
  config::EvaluationConfig e;
  EXPECT_EQ(ResolveProtocol(e, models::Evaluation::kRatingError),
            config::EvaluationConfig::RATING_ERROR);
  EXPECT_EQ(ResolveProtocol(e, models::Evaluation::kRanking),
            config::EvaluationConfig::FULL_RANKING);
  e.set_negatives_path("x");
  EXPECT_EQ(ResolveProtocol(e, models::Evaluation::kRanking),
            config::EvaluationConfig::LEAVE_ONE_OUT);
  e.set_protocol(config::EvaluationConfig::FULL_RANKING);
  EXPECT_EQ(ResolveProtocol(e, models::Evaluation::kRatingError),
            config::EvaluationConfig::FULL_RANKING);
}

TEST(BuildRankingTask, FullRankingExcludesTrainingItemsAndKeepsRelevantOnes) {
  Data d;
  config::EvaluationConfig e = Evaluation(2);
  e.set_relevant_threshold(4);
  Result<RankingTask> task = BuildAlone(e, config::EvaluationConfig::FULL_RANKING, d);
  ASSERT_TRUE(task.ok()) << task.status().message();
  EXPECT_EQ(task->catalogue, (std::vector<uint64_t>{10, 11, 12, 13, 14}));
  ASSERT_EQ(task->users, std::vector<uint64_t>{1});  // user 2's test rating is below 4
  EXPECT_EQ(task->excluded, (std::vector<uint32_t>{0, 1}));
  EXPECT_EQ(task->relevant, std::vector<uint32_t>{3});
}

TEST(BuildRankingTask, KLargerThanTheCatalogue) {
  Data d;
  Result<RankingTask> task = BuildAlone(Evaluation(6), config::EvaluationConfig::FULL_RANKING, d);
  ASSERT_FALSE(task.ok());
  EXPECT_NE(task.status().message().find("evaluation.k = 6 is larger than the item catalogue (5"),
            std::string::npos)
      << task.status().message();
}

TEST(BuildRankingTask, DrawnNegativesAvoidTouchedItemsAndRepeat) {
  Data d;
  config::EvaluationConfig e = Evaluation(2);
  e.set_negatives(2);
  Result<RankingTask> task = BuildAlone(e, config::EvaluationConfig::LEAVE_ONE_OUT, d);
  ASSERT_TRUE(task.ok()) << task.status().message();
  ASSERT_EQ(task->case_user.size(), 2u);
  // User 1 touched 10, 11, 13: its only untouched items are 12 and 14 (indices 2, 4).
  EXPECT_EQ(task->case_items[0], 3u);
  std::vector<uint32_t> negatives(task->case_items.begin() + 1, task->case_items.begin() + 3);
  std::sort(negatives.begin(), negatives.end());
  EXPECT_EQ(negatives, (std::vector<uint32_t>{2, 4}));
  Result<RankingTask> again = BuildAlone(e, config::EvaluationConfig::LEAVE_ONE_OUT, d);
  EXPECT_EQ(again->case_items, task->case_items);
  // Three negatives: user 1 has only two untouched items.
  e.set_negatives(3);
  Result<RankingTask> short_of = BuildAlone(e, config::EvaluationConfig::LEAVE_ONE_OUT, d);
  ASSERT_FALSE(short_of.ok());
  EXPECT_NE(short_of.status().message().find("evaluation.negatives = 3"), std::string::npos);
  // K not below 1 + negatives: every test item would be a hit.
  e.set_negatives(1);
  for (int k : {2, 3}) {
    e.set_k(k);
    Result<RankingTask> big_k = BuildAlone(e, config::EvaluationConfig::LEAVE_ONE_OUT, d);
    ASSERT_FALSE(big_k.ok());
    EXPECT_NE(big_k.status().message().find("evaluation.k = " + std::to_string(k) +
                                            " is not smaller than the 2 candidates"),
              std::string::npos)
        << big_k.status().message();
  }
  e.set_k(1);
  EXPECT_TRUE(BuildAlone(e, config::EvaluationConfig::LEAVE_ONE_OUT, d).ok());
}

TEST(BuildRankingTask, NegativesFileInTheNcfLayout) {
  Data d;
  config::EvaluationConfig e = Evaluation(2);
  e.set_negatives_path(WriteFile("good", "(1,13)\t12\t14\n\n(2,14)\t10\t13\n"));
  Result<RankingTask> task = BuildAlone(e, config::EvaluationConfig::LEAVE_ONE_OUT, d);
  ASSERT_TRUE(task.ok()) << task.status().message();
  EXPECT_EQ(task->case_items, (std::vector<uint32_t>{3, 2, 4, 4, 0, 3}));
  EXPECT_EQ(task->case_offsets, (std::vector<uint32_t>{0, 3, 6}));
}

TEST(BuildRankingTask, NegativesFileErrorsNameFileLineAndField) {
  Data d;
  config::EvaluationConfig e = Evaluation(2);
  auto fails_with = [&](const std::string& name, const std::string& text,
                        const std::string& expected) {
    const std::string path = WriteFile(name, text);
    e.set_negatives_path(path);
    Result<RankingTask> task = BuildAlone(e, config::EvaluationConfig::LEAVE_ONE_OUT, d);
    ASSERT_FALSE(task.ok()) << name;
    EXPECT_NE(task.status().message().find(path), std::string::npos) << task.status().message();
    EXPECT_NE(task.status().message().find(expected), std::string::npos)
        << task.status().message();
  };
  fails_with("user", "(1,13)\t12\t14\n(7,14)\t10\t13\n", ":2: field 1: user 7 is not in the data");
  fails_with("item", "(1,13)\t12\t99\n(2,14)\t10\t13\n", ":1: field 3: item 99 is not in the data");
  fails_with("layout", "1,13\t12\t14\n", ":1: field 1 '1,13' is not (user,item)");
  fails_with("missing", "(1,13)\t12\t14\n", "no line for the test interaction (user 2, item 14)");
  fails_with("short", "(1,13)\n(2,14)\t10\t13\n", "evaluation.k = 2 is not smaller than the 1");
  e.set_negatives_path("/nonexistent/psrec.negative");
  EXPECT_FALSE(BuildAlone(e, config::EvaluationConfig::LEAVE_ONE_OUT, d).ok());
}

}  // namespace
}  // namespace psrec::train
