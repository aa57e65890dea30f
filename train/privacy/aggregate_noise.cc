#include "train/privacy/aggregate_noise.h"

#include <cmath>
#include <sstream>

namespace psrec::train::privacy {

Result<AggregateNoise> AggregateNoise::Create(const StreamKey& key, double noise_multiplier,
                                              double clip_norm, int num_shares) {
  std::ostringstream msg;
  if (!(noise_multiplier >= 0.0) || std::isinf(noise_multiplier)) {
    msg << "noise multiplier z must be a finite number >= 0, got " << noise_multiplier;
  } else if (!(clip_norm > 0.0) || std::isinf(clip_norm)) {
    msg << "clip norm S must be a finite number > 0, got " << clip_norm;
  } else if (num_shares < 1) {
    msg << "noise shares (workers) must be >= 1, got " << num_shares;
  } else {
    return AggregateNoise(key, noise_multiplier, clip_norm, num_shares);
  }
  return Status::InvalidArgument(msg.str());
}

Result<AggregateNoise> AggregateNoise::Create(uint64_t seed, double noise_multiplier,
                                              double clip_norm, int num_shares) {
  return Create(DeriveStreamKey("psrec-dp-noise", seed, {}), noise_multiplier, clip_norm,
                num_shares);
}

double AggregateNoise::share_stddev() const {
  return total_stddev() / std::sqrt(static_cast<double>(num_shares_));
}

KeyedStream AggregateNoise::StreamFor(const NoiseSite& site, int share) const {
  CHECK(share >= 0 && share < num_shares_) << "share " << share << " of " << num_shares_;
  StreamKey key = DeriveStreamKey(
      "psrec-dp-noise-site", key_,
      {static_cast<uint64_t>(site.round), site.table, static_cast<uint64_t>(share)});
  return KeyedStream(key, site.row_key);
}

void AggregateNoise::AddShare(const NoiseSite& site, int share, std::span<float> row) const {
  if (noise_multiplier_ == 0.0) return;
  KeyedStream stream = StreamFor(site, share);
  double stddev = share_stddev();
  for (float& v : row) v = static_cast<float>(v + stddev * stream.NextGaussian());
}

void AggregateNoise::AddShare(const NoiseSite& site, int share, std::span<double> row) const {
  if (noise_multiplier_ == 0.0) return;
  KeyedStream stream = StreamFor(site, share);
  double stddev = share_stddev();
  for (double& v : row) v += stddev * stream.NextGaussian();
}

}  // namespace psrec::train::privacy
