#include "train/thread_collective.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace psrec::train {
namespace {

TEST(ThreadCollectiveTest, SumAndMaxAgreeOnEveryMember) {
  const int n = 4;
  ThreadCollectiveGroup group(n);
  std::vector<std::vector<double>> sums(n), maxes(n);
  std::vector<std::thread> threads;
  for (int r = 0; r < n; ++r) {
    threads.emplace_back([&, r] {
      auto member = group.Member(r);
      for (int round = 0; round < 50; ++round) {
        std::vector<double> v = {double(r), 0.1 * r + round};
        ASSERT_TRUE(member->AllReduceSum(v).ok());
        if (round == 49) sums[r] = v;
        std::vector<double> m = {double(r * round)};
        ASSERT_TRUE(member->AllReduceMax(m).ok());
        if (round == 49) maxes[r] = m;
      }
    });
  }
  for (auto& t : threads) t.join();
  for (int r = 0; r < n; ++r) {
    EXPECT_EQ(sums[r], sums[0]);
    EXPECT_DOUBLE_EQ(sums[r][0], 6);
    EXPECT_DOUBLE_EQ(maxes[r][0], 3 * 49);
  }
}

TEST(ThreadCollectiveTest, AbortReleasesWaitingMembers) {
  ThreadCollectiveGroup group(2);
  Status waited;
  std::thread waiter([&] { waited = group.Member(0)->Barrier(); });
  group.Abort();
  waiter.join();
  EXPECT_EQ(waited.code(), Status::Code::kAborted);
  EXPECT_EQ(group.Member(1)->Barrier().code(), Status::Code::kAborted);
}

}  // namespace
}  // namespace psrec::train
