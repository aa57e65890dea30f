#include "train/privacy/noise_calibration.h"

#include <cmath>
#include <sstream>

namespace psrec::train::privacy {

Result<NoiseCalibration> NoiseMultiplierForEpsilon(double target_epsilon, double q,
                                                   int64_t steps, double delta,
                                                   EpsilonConversion conversion, double max_z) {
  if (!(target_epsilon > 0.0) || std::isinf(target_epsilon)) {
    std::ostringstream msg;
    msg << "target epsilon must be a finite number > 0, got " << target_epsilon;
    return Status::InvalidArgument(msg.str());
  }
  if (steps < 1) {
    return Status::InvalidArgument("steps must be >= 1, got " + std::to_string(steps));
  }
  auto epsilon_at = [&](double z) { return ComputeEpsilon(q, z, steps, delta, conversion); };
  ASSIGN_OR_RETURN(PrivacySpent at_max, epsilon_at(max_z));  // validates q and delta
  if (at_max.epsilon > target_epsilon) {
    std::ostringstream msg;
    msg << "target epsilon " << target_epsilon << " is unreachable: even noise multiplier z = "
        << max_z << " gives epsilon " << at_max.epsilon << " (q = " << q << ", " << steps
        << " steps, delta = " << delta << ")";
    return Status::InvalidArgument(msg.str());
  }
  // Invariant: epsilon(hi) <= target < epsilon(lo). z = 0 has infinite epsilon.
  double lo = 0.0;
  double hi = max_z;
  PrivacySpent at_hi = at_max;
  // 60 halvings reach a relative 1e-6 from any z above 1e-12; below that, z is reported as
  // found (a target so loose that practically no noise is needed).
  for (int iteration = 0; iteration < 60 && hi - lo > 1e-6 * hi; ++iteration) {
    double mid = 0.5 * (lo + hi);
    ASSIGN_OR_RETURN(PrivacySpent at_mid, epsilon_at(mid));
    if (at_mid.epsilon <= target_epsilon) {
      hi = mid;
      at_hi = at_mid;
    } else {
      lo = mid;
    }
  }
  return NoiseCalibration{hi, at_hi};
}

}  // namespace psrec::train::privacy
