// The noise multiplier z that meets a target epsilon: the smallest z (to a relative 1e-6)
// whose epsilon after `steps` steps at sampling rate q and `delta` is <= the target, found by
// bisection (epsilon falls monotonically as z grows).
//
// Thread safety: pure function.
#pragma once

#include <cstdint>

#include "common/status.h"
#include "train/privacy/rdp_accountant.h"

namespace psrec::train::privacy {

struct NoiseCalibration {
  double noise_multiplier = 0;
  PrivacySpent spent;  // epsilon (<= the target) and the order at that z
};

// InvalidArgument naming the quantity for bad input (target_epsilon must be > 0, q in (0, 1],
// delta in (0, 1), steps >= 1), and for an unreachable target: one that even z = max_z misses.
Result<NoiseCalibration> NoiseMultiplierForEpsilon(
    double target_epsilon, double q, int64_t steps, double delta,
    EpsilonConversion conversion = EpsilonConversion::kImproved, double max_z = 1000.0);

}  // namespace psrec::train::privacy
