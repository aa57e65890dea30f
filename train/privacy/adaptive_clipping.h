// Adaptive clipping (Andrew, Thakkar, McMahan, Ramaswamy 2021, "Differentially private
// learning with adaptive clipping", arXiv 1905.03871): the clip norm C tracks a target
// quantile gamma of the clients' update norms by a geometric step each round,
//   b = (sum_i 1[||update_i|| <= C] + N(0, sigma_b^2)) / expected_clients,
//   C <- C * exp(-eta * (b - gamma)),
// where the indicator count is released with its own noise sigma_b. Its privacy cost is paid
// by noising the updates with a slightly larger multiplier for the same total
// (UpdateNoiseMultiplier): z_update = (z^-2 - (2 sigma_b)^-2)^(-1/2), so the accountant's z
// still describes the whole release.
//
// Thread safety: not thread-safe; one instance per aggregator, updated once per round.
#pragma once

#include "common/status.h"
#include "train/privacy/keyed_stream.h"

namespace psrec::train::privacy {

struct AdaptiveClipOptions {
  double initial_clip_norm = 0.1;
  double target_quantile = 0.5;     // gamma
  double learning_rate = 0.2;       // eta (geometric)
  double count_noise_stddev = 0;    // sigma_b, on the count of unclipped clients
};

class AdaptiveClipNorm {
 public:
  // InvalidArgument naming the option: initial clip norm <= 0, quantile outside [0, 1],
  // learning rate < 0, count noise < 0.
  static Result<AdaptiveClipNorm> Create(const AdaptiveClipOptions& options);

  double clip_norm() const { return clip_norm_; }

  // One round: `unclipped_count` clients had an update norm <= clip_norm() (measured before
  // clipping); noise for the count is drawn from `noise`. REQUIRES expected_clients > 0.
  void Update(double unclipped_count, double expected_clients, KeyedStream& noise);

  // The multiplier for the update noise so that updates and count together have the privacy
  // of multiplier `total_noise_multiplier`. InvalidArgument when sigma_b is too small to leave
  // any budget (2 sigma_b <= z) or z <= 0.
  static Result<double> UpdateNoiseMultiplier(double total_noise_multiplier,
                                              double count_noise_stddev);

 private:
  explicit AdaptiveClipNorm(const AdaptiveClipOptions& options)
      : options_(options), clip_norm_(options.initial_clip_norm) {}
  AdaptiveClipOptions options_;
  double clip_norm_;
};

}  // namespace psrec::train::privacy
