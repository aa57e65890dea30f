#include "train/checkpoint_policy.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "train/thread_collective.h"

namespace psrec::train {
namespace {

config::JobConfig Job(int epochs, int every_epochs, int every_seconds) {
  config::JobConfig job;
  job.mutable_training()->set_epochs(epochs);
  job.mutable_checkpoint()->set_every_epochs(every_epochs);
  job.mutable_checkpoint()->set_every_seconds(every_seconds);
  return job;
}

TEST(CheckpointPolicyTest, DueEveryNEpochsCountedFromTheStartAndAtTheEnd) {
  const config::JobConfig job = Job(5, 2, 0);
  ThreadCollectiveGroup group(1);
  auto member = group.Member(0);
  CheckpointPolicy policy(&job, nullptr, member.get());
  policy.Start(0);
  const bool expected[6] = {false, false, true, false, true, true};
  for (int done = 1; done <= 5; ++done) {
    EXPECT_EQ(policy.DueHere(done, 0), expected[done]) << done << " epochs done";
  }
}

TEST(CheckpointPolicyTest, OnlyAtTheEndWhenEveryEpochsIsZero) {
  const config::JobConfig job = Job(4, 0, 0);
  ThreadCollectiveGroup group(1);
  auto member = group.Member(0);
  CheckpointPolicy policy(&job, nullptr, member.get());
  policy.Start(0);
  for (int done = 1; done < 4; ++done) EXPECT_FALSE(policy.DueHere(done, 1e9)) << done;
  EXPECT_TRUE(policy.DueHere(4, 0));
}

TEST(CheckpointPolicyTest, DueWhenTheIntervalHasPassedSinceTheStart) {
  const config::JobConfig job = Job(10, 0, 30);
  ThreadCollectiveGroup group(1);
  auto member = group.Member(0);
  CheckpointPolicy policy(&job, nullptr, member.get());
  policy.Start(100);
  EXPECT_FALSE(policy.DueHere(1, 129.5));
  EXPECT_TRUE(policy.DueHere(1, 130));
}

// Worker timers differ: the one that finds the interval elapsed decides for all.
TEST(CheckpointPolicyTest, AnyWorkersViewDecidesForAll) {
  const config::JobConfig job = Job(10, 0, 30);
  ThreadCollectiveGroup group(3);
  const double now[2][3] = {{110, 131, 120}, {110, 125, 120}};
  bool agreed[2][3] = {};
  std::vector<std::thread> threads;
  for (int r = 0; r < 3; ++r) {
    threads.emplace_back([&, r] {
      auto member = group.Member(r);
      CheckpointPolicy policy(&job, nullptr, member.get());
      policy.Start(100);
      for (int round = 0; round < 2; ++round) {
        Result<bool> due = policy.AgreeDue(1, now[round][r]);
        ASSERT_TRUE(due.ok());
        agreed[round][r] = *due;
      }
    });
  }
  for (auto& t : threads) t.join();
  for (int r = 0; r < 3; ++r) {
    EXPECT_TRUE(agreed[0][r]) << "worker " << r;
    EXPECT_FALSE(agreed[1][r]) << "worker " << r;
  }
}

TEST(CheckpointPolicyTest, NeverTakesOneWithoutACheckpointer) {
  const config::JobConfig job = Job(1, 1, 0);
  ThreadCollectiveGroup group(1);
  auto member = group.Member(0);
  CheckpointPolicy policy(&job, nullptr, member.get());
  policy.Start(0);
  CheckpointPoint point;
  point.epoch = 1;
  Result<std::optional<CheckpointPause>> pause = policy.MaybeTake(point);
  ASSERT_TRUE(pause.ok());
  EXPECT_FALSE(pause->has_value());
  EXPECT_TRUE(policy.Finish().ok());
}

}  // namespace
}  // namespace psrec::train
