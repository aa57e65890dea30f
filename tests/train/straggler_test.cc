#include "train/straggler.h"

#include <gtest/gtest.h>

namespace psrec::train {
namespace {

TEST(StragglerTest, SleepsTheExtraComputeTime) {
  Straggler straggler(3);
  const double start = MonotonicSeconds();
  straggler.StartCompute();
  while (MonotonicSeconds() - start < 0.02) {
  }
  straggler.EndCompute();
  EXPECT_GE(MonotonicSeconds() - start, 0.06);  // 20 ms of compute, slowed down 3 times
}

}  // namespace
}  // namespace psrec::train
