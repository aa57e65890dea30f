// The privacy settings of a FEDERATED job, checked and resolved once from its config
// (training.federated: clip_norm, noise_multiplier or target_epsilon, delta,
// secure_aggregation, aggregation). docs/federated.md explains what they guarantee.
//
// Thread safety: pure function.
#pragma once

#include "common/proto/config.pb.h"
#include "common/status.h"

namespace psrec::train {

struct FederatedPrivacySettings {
  bool dp = false;              // clip_norm set: clip, noise, fixed denominator, accountant
  double clip_norm = 0;         // S
  double noise_multiplier = 0;  // z (from target_epsilon when that is set)
  double delta = 1e-5;
  bool secure_aggregation = false;
  config::FederatedConfig::Aggregation aggregation = config::FederatedConfig::WEIGHTED_MEAN;
  // Whether any transform is needed (a plain FedAvg round runs without one).
  bool any() const { return dp || secure_aggregation; }
};

// InvalidArgument naming the field: clip_norm <= 0; noise_multiplier < 0; noise_multiplier
// or target_epsilon set without clip_norm; both noise_multiplier and target_epsilon;
// a target epsilon that no noise multiplier reaches in training.epochs rounds; aggregation
// WEIGHTED_MEAN set explicitly under DP (the realised count of clients is data). Under DP an
// unset aggregation resolves to FIXED_DENOMINATOR_SUM.
Result<FederatedPrivacySettings> ResolveFederatedPrivacy(const config::JobConfig& job);

}  // namespace psrec::train
