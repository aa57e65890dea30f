// The Gaussian noise of DP-FedAvg: N(0, (z S)^2) on every coordinate of a round's aggregate
// (the sum of clipped client updates, before it is divided), added once per aggregate.
//
// Trust model (docs/federated.md). The noise may be added
//   - by the servers (num_shares = 1): the servers see the exact sum first, so DP protects
//     clients from whoever sees the model afterwards (other clients, the published model), not
//     from the servers; or
//   - in W shares (num_shares = W), each worker adding N(0, (z S)^2 / W) to what it sends: the
//     shares sum to exactly N(0, (z S)^2) on the aggregate. With secure aggregation the servers
//     then see only a noised sum. A worker that withholds its share weakens the guarantee to
//     that of z * sqrt((W - 1) / W) (honest-but-curious workers assumed).
//
// Noise must cover every coordinate of the federated parameters that the round may change,
// rows no sampled client touched included: which rows carry a nonzero sum is itself
// data-dependent. The noise for a coordinate is a function of (seed, round, table, row key,
// share), so it is the same whichever server holds the row, however many servers there are,
// and whatever order rows are processed in.
//
// Floating-point Gaussian sampling is not an exact DP primitive (Mironov 2012); this is a
// simulation-grade implementation with a ChaCha20 source.
//
// Thread safety: const methods are thread-safe (each call uses its own stream).
#pragma once

#include <cstdint>
#include <span>

#include "common/status.h"
#include "train/privacy/keyed_stream.h"

namespace psrec::train::privacy {

// Where one noised row sits: round, table and row key.
struct NoiseSite {
  int64_t round = 0;
  uint32_t table = 0;
  uint64_t row_key = 0;
};

class AggregateNoise {
 public:
  // InvalidArgument naming the quantity: z < 0, clip norm S <= 0, num_shares < 1.
  static Result<AggregateNoise> Create(const StreamKey& key, double noise_multiplier,
                                       double clip_norm, int num_shares);
  // The same key for every participant of a job: DeriveStreamKey("psrec-dp-noise", seed, {}).
  static Result<AggregateNoise> Create(uint64_t seed, double noise_multiplier, double clip_norm,
                                       int num_shares);

  // Standard deviation of the total noise on one coordinate (z S), and of one share of it
  // (z S / sqrt(num_shares)).
  double total_stddev() const { return noise_multiplier_ * clip_norm_; }
  double share_stddev() const;

  // Adds share `share` (0 <= share < num_shares) of the noise at `site` to `row`.
  void AddShare(const NoiseSite& site, int share, std::span<float> row) const;
  void AddShare(const NoiseSite& site, int share, std::span<double> row) const;

 private:
  AggregateNoise(const StreamKey& key, double z, double s, int shares)
      : key_(key), noise_multiplier_(z), clip_norm_(s), num_shares_(shares) {}
  KeyedStream StreamFor(const NoiseSite& site, int share) const;

  StreamKey key_;
  double noise_multiplier_;
  double clip_norm_;
  int num_shares_;
};

}  // namespace psrec::train::privacy
