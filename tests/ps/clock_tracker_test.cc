#include "ps/clock_tracker.h"

#include <vector>

#include <gtest/gtest.h>

namespace psrec::ps {
namespace {

std::vector<uint64_t> Take(ClockTracker& t) {
  std::vector<uint64_t> tickets;
  t.TakeAnswerable(&tickets);
  return tickets;
}

TEST(ClockTrackerTest, AspNeverWaits) {
  ClockTracker t(config::ASP, 2, 3);
  EXPECT_TRUE(t.CanAnswer(0));
  EXPECT_TRUE(t.CanAnswer(1000000));
  t.SetClock(0, 50);
  EXPECT_TRUE(t.CanAnswer(51));
  EXPECT_EQ(t.slowest_clock(), 0);
}

TEST(ClockTrackerTest, BspWaitsForEveryWorker) {
  ClockTracker t(config::BSP, /*staleness ignored*/ 5, 3);
  EXPECT_TRUE(t.CanAnswer(0));
  EXPECT_FALSE(t.CanAnswer(1));
  const uint64_t ticket = t.Park(1);
  EXPECT_FALSE(t.SetClock(0, 1));
  EXPECT_FALSE(t.SetClock(1, 1));
  EXPECT_TRUE(Take(t).empty()) << "answered while worker 2 is still at clock 0";
  EXPECT_FALSE(t.CanAnswer(1));
  EXPECT_TRUE(t.SetClock(2, 1));
  EXPECT_EQ(t.slowest_clock(), 1);
  EXPECT_EQ(Take(t), std::vector<uint64_t>{ticket});
  EXPECT_EQ(t.num_parked(), 0u);
}

TEST(ClockTrackerTest, SspAllowsExactlyStalenessClocks) {
  const int s = 2;
  ClockTracker t(config::SSP, s, 2);
  // Worker 0 runs ahead; worker 1 stays at 0.
  EXPECT_FALSE(t.SetClock(0, 10));
  for (int c = 0; c <= s; ++c) EXPECT_TRUE(t.CanAnswer(c)) << c;
  EXPECT_FALSE(t.CanAnswer(s + 1));
  // Park pulls at clocks 3..6 and advance the slow worker one clock at a time: a pull at c
  // is answered exactly when the slowest clock reaches c - s, never before.
  std::vector<uint64_t> tickets;
  for (int c = s + 1; c <= s + 4; ++c) tickets.push_back(t.Park(c));
  for (int slow = 1; slow <= 4; ++slow) {
    EXPECT_TRUE(t.SetClock(1, slow));
    const std::vector<uint64_t> answered = Take(t);
    ASSERT_EQ(answered.size(), 1u) << "slowest " << slow;
    EXPECT_EQ(answered[0], tickets[slow - 1]);
    EXPECT_EQ(t.slowest_clock(), slow);
    EXPECT_FALSE(t.CanAnswer(slow + s + 1));
  }
}

TEST(ClockTrackerTest, RandomScheduleNeverAnswersBeyondStaleness) {
  for (const auto& [mode, s] : std::vector<std::pair<config::Consistency, int>>{
           {config::SSP, 0}, {config::SSP, 1}, {config::SSP, 3}, {config::BSP, 0}}) {
    ClockTracker t(mode, s, 4);
    std::vector<int> clocks(4, 0);
    std::vector<int> parked_clock(4000, 0);
    uint32_t rng = 12345;
    for (int step = 0; step < 2000; ++step) {
      rng = rng * 1664525u + 1013904223u;
      const int w = (rng >> 8) % 4;
      if ((rng >> 16) % 2 == 0) {
        clocks[w] += 1;
        t.SetClock(w, clocks[w]);
      } else {
        const int c = clocks[w] + 1;
        if (!t.CanAnswer(c)) {
          const uint64_t ticket = t.Park(c);
          ASSERT_LT(ticket, parked_clock.size());
          parked_clock[ticket] = c;
        }
      }
      const int slowest = *std::min_element(clocks.begin(), clocks.end());
      EXPECT_EQ(t.slowest_clock(), slowest);
      for (uint64_t ticket : Take(t)) {
        ASSERT_LT(ticket, parked_clock.size());
        EXPECT_GE(slowest, parked_clock[ticket] - s);
      }
    }
  }
}

TEST(ClockTrackerTest, FinishedWorkersDoNotHoldOthersBack) {
  ClockTracker t(config::BSP, 0, 2);
  t.SetClock(0, 3);
  const uint64_t ticket = t.Park(3);
  EXPECT_TRUE(t.Finish(1));
  EXPECT_EQ(t.slowest_clock(), 3);
  EXPECT_EQ(Take(t), std::vector<uint64_t>{ticket});
  EXPECT_TRUE(t.Finish(0));
  EXPECT_EQ(t.slowest_clock(), ClockTracker::kAllFinished);
  EXPECT_TRUE(t.CanAnswer(1 << 30));
  EXPECT_FALSE(t.Finish(0));  // idempotent
}

TEST(ClockTrackerTest, ClocksNeverGoBack) {
  ClockTracker t(config::SSP, 1, 1);
  EXPECT_TRUE(t.SetClock(0, 5));
  EXPECT_FALSE(t.SetClock(0, 2));
  EXPECT_EQ(t.clock(0), 5);
  EXPECT_EQ(t.slowest_clock(), 5);
}

TEST(ClockTrackerTest, ParkedPullsComeBackLowestThresholdFirst) {
  ClockTracker t(config::BSP, 0, 1);
  const uint64_t a = t.Park(3);
  const uint64_t b = t.Park(1);
  const uint64_t c = t.Park(3);
  const uint64_t d = t.Park(2);
  t.SetClock(0, 3);
  EXPECT_EQ(Take(t), (std::vector<uint64_t>{b, d, a, c}));
}

TEST(ClockTrackerTest, ExtremeClocksDoNotOverflow) {
  ClockTracker t(config::SSP, 3, 1);
  EXPECT_TRUE(t.CanAnswer(std::numeric_limits<int32_t>::min()));
  EXPECT_FALSE(t.CanAnswer(std::numeric_limits<int32_t>::max()));
}

}  // namespace
}  // namespace psrec::ps
