#include "train/privacy/adaptive_clipping.h"

#include <cmath>
#include <sstream>

#include <glog/logging.h>

namespace psrec::train::privacy {

Result<AdaptiveClipNorm> AdaptiveClipNorm::Create(const AdaptiveClipOptions& options) {
  std::ostringstream msg;
  if (!(options.initial_clip_norm > 0.0) || std::isinf(options.initial_clip_norm)) {
    msg << "adaptive clipping: initial clip norm must be a finite number > 0, got "
        << options.initial_clip_norm;
  } else if (!(options.target_quantile >= 0.0 && options.target_quantile <= 1.0)) {
    msg << "adaptive clipping: target quantile must lie in [0, 1], got "
        << options.target_quantile;
  } else if (!(options.learning_rate >= 0.0)) {
    msg << "adaptive clipping: learning rate must be >= 0, got " << options.learning_rate;
  } else if (!(options.count_noise_stddev >= 0.0)) {
    msg << "adaptive clipping: count noise stddev must be >= 0, got "
        << options.count_noise_stddev;
  } else {
    return AdaptiveClipNorm(options);
  }
  return Status::InvalidArgument(msg.str());
}

void AdaptiveClipNorm::Update(double unclipped_count, double expected_clients,
                              KeyedStream& noise) {
  CHECK_GT(expected_clients, 0.0);
  double count = unclipped_count;
  if (options_.count_noise_stddev > 0.0) count += options_.count_noise_stddev * noise.NextGaussian();
  double fraction = count / expected_clients;
  clip_norm_ *= std::exp(-options_.learning_rate * (fraction - options_.target_quantile));
}

Result<double> AdaptiveClipNorm::UpdateNoiseMultiplier(double total_noise_multiplier,
                                                       double count_noise_stddev) {
  double z = total_noise_multiplier;
  if (!(z > 0.0)) {
    return Status::InvalidArgument("adaptive clipping needs a noise multiplier z > 0");
  }
  double remaining = 1.0 / (z * z) - 1.0 / (4.0 * count_noise_stddev * count_noise_stddev);
  if (!(count_noise_stddev > 0.0) || !(remaining > 0.0)) {
    std::ostringstream msg;
    msg << "adaptive clipping: count noise stddev " << count_noise_stddev
        << " must exceed z / 2 = " << z / 2 << " to leave privacy budget for the updates";
    return Status::InvalidArgument(msg.str());
  }
  return 1.0 / std::sqrt(remaining);
}

}  // namespace psrec::train::privacy
