// Straggler: makes a worker slower than it is (`psrec sim`'s compute_slowdown, to study
// stragglers under ASP/SSP/BSP on one machine). After each stretch of compute it sleeps
// (slowdown - 1) times as long as the compute took, so the worker computes `slowdown` times
// slower while its network and waits stay what they are. A slowdown of 1 or less does nothing
// (and reads no clock).
//
// Thread safety: one thread.
#pragma once

#include <chrono>
#include <thread>

#include "train/monotonic_seconds.h"

namespace psrec::train {

class Straggler {
 public:
  explicit Straggler(double slowdown) : slowdown_(slowdown) {}

  void StartCompute() {
    if (slowdown_ > 1) started_ = MonotonicSeconds();
  }
  // REQUIRES: StartCompute() before.
  void EndCompute() const {
    if (slowdown_ <= 1) return;
    std::this_thread::sleep_for(
        std::chrono::duration<double>((MonotonicSeconds() - started_) * (slowdown_ - 1)));
  }

 private:
  double slowdown_;
  double started_ = 0;
};

}  // namespace psrec::train
