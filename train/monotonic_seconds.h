// Seconds on the monotonic clock, for measuring intervals (epoch times, pauses, ETAs).
//
// Thread safety: any thread.
#pragma once

#include <chrono>

namespace psrec::train {

inline double MonotonicSeconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace psrec::train
