#include "train/clock_schedule.h"

#include <gtest/gtest.h>

namespace psrec::train {
namespace {

TEST(ClockScheduleTest, EveryEpochEndsAClock) {
  // 5 batches per epoch, a clock every 2: clocks {0,0,1,1,2} then {3,3,4,4,5}.
  const ClockSchedule clocks(0, 0, 5, 2);
  const int expected[10] = {0, 0, 1, 1, 2, 3, 3, 4, 4, 5};
  for (int64_t b = 0; b < 10; ++b) EXPECT_EQ(clocks.ClockOfBatch(b), expected[b]) << b;
  EXPECT_EQ(clocks.ClockOfBatch(10), 6);  // the clock after the second epoch
  const bool ends[5] = {false, true, false, true, true};
  for (int64_t b = 0; b < 5; ++b) EXPECT_EQ(clocks.EndsClock(b), ends[b]) << b;
}

// A resumed job (here with more workers: 3 batches per epoch instead of 5) continues from
// the checkpoint's step and clock.
TEST(ClockScheduleTest, ResumedRunContinuesFromItsStepAndClock) {
  const ClockSchedule clocks(/*first_step=*/10, /*first_clock=*/6, 3, 2);
  EXPECT_EQ(clocks.ClockOfBatch(10), 6);
  EXPECT_EQ(clocks.ClockOfBatch(11), 6);
  EXPECT_EQ(clocks.ClockOfBatch(12), 7);
  EXPECT_EQ(clocks.ClockOfBatch(13), 8);
}

}  // namespace
}  // namespace psrec::train
