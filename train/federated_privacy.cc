#include "train/federated_privacy.h"

#include <cmath>
#include <string>

#include "train/privacy/noise_calibration.h"

namespace psrec::train {
namespace {

Status Bad(const std::string& field, const std::string& why) {
  return Status::InvalidArgument("training.federated." + field + ": " + why);
}

}  // namespace

Result<FederatedPrivacySettings> ResolveFederatedPrivacy(const config::JobConfig& job) {
  const config::FederatedConfig& f = job.training().federated();
  FederatedPrivacySettings s;
  s.secure_aggregation = f.secure_aggregation();
  s.aggregation = f.aggregation();
  s.delta = f.delta();
  if (!f.has_clip_norm()) {
    // (delta alone is harmless: it only matters to the accountant.)
    if (f.has_noise_multiplier()) {
      return Bad("noise_multiplier", "needs training.federated.clip_norm (DP clips each update)");
    }
    if (f.has_target_epsilon()) {
      return Bad("target_epsilon", "needs training.federated.clip_norm (DP clips each update)");
    }
    return s;
  }
  s.dp = true;
  s.clip_norm = f.clip_norm();
  if (!(s.clip_norm > 0) || !std::isfinite(s.clip_norm)) {
    return Bad("clip_norm", "must be > 0 and finite, got " + std::to_string(s.clip_norm));
  }
  if (!(f.noise_multiplier() >= 0) || !std::isfinite(f.noise_multiplier())) {
    return Bad("noise_multiplier", "must be >= 0, got " + std::to_string(f.noise_multiplier()));
  }
  if (!(s.delta > 0 && s.delta < 1)) {
    return Bad("delta", "must be in (0, 1), got " + std::to_string(s.delta));
  }
  s.noise_multiplier = f.noise_multiplier();
  if (f.has_target_epsilon()) {
    if (f.has_noise_multiplier()) {
      return Bad("target_epsilon", "set either it or training.federated.noise_multiplier");
    }
    if (!(f.target_epsilon() > 0)) {
      return Bad("target_epsilon", "must be > 0, got " + std::to_string(f.target_epsilon()));
    }
    Result<privacy::NoiseCalibration> z = privacy::NoiseMultiplierForEpsilon(
        f.target_epsilon(), f.sampling_rate(), job.training().epochs(), s.delta);
    if (!z.ok()) return Bad("target_epsilon", z.status().message());
    s.noise_multiplier = z->noise_multiplier;
  }
  if (f.has_aggregation() && f.aggregation() == config::FederatedConfig::WEIGHTED_MEAN) {
    return Bad("aggregation",
               "WEIGHTED_MEAN reveals how many clients sent each row; DP (clip_norm set) needs "
               "FIXED_DENOMINATOR_SUM (the default under DP)");
  }
  s.aggregation = config::FederatedConfig::FIXED_DENOMINATOR_SUM;
  return s;
}

}  // namespace psrec::train
