// PrivateAggregation: the ClientUpdateTransform of a FEDERATED job with DP and/or secure
// aggregation (train/client_update.h, docs/federated.md).
//
//   per client   DP: ClipUpdate of the whole update (all its item rows together) to S; the
//                update then enters the sum times its weight (1 in rounds, a buffered
//                update's staleness weight <= 1). A "round" here is a synchronous round, or
//                a buffered step whose participants are that step's arrivals.
//                Secure aggregation: the update (and its per-row weight) is laid out densely
//                over the round aggregate's rows, fixed-point encoded and pairwise masked with
//                every other sampled client of this worker (X25519 pair seeds); only the
//                masked words are added to the worker's sum (mod 2^64). The update is
//                `absorbed`: the round never sums a plain update.
//   per round    Secure aggregation: the masks of sampled clients that dropped out are
//                removed with their secret keys rebuilt from t-of-n Shamir shares held by
//                the survivors (t = n / 2 + 1, at least 2); the exact sum is decoded. A group
//                with fewer than 2 reporting clients, or fewer than t survivors, is abandoned
//                (counted; its updates are discarded). DP: this worker's share of the noise,
//                N(0, (z S)^2 / W) on every coordinate of the aggregate (W workers; the
//                shares of all workers sum to N(0, (z S)^2)).
//
// Trust model: the worker is the aggregation point of its clients: it sees their masked
// words and their sum, never one plain update; it also holds their keys (simulation), so
// masking protects clients from code that reads the aggregation point's inputs, not from the
// worker process itself. The servers see per-round sums of at least 2 clients per worker,
// noised under DP. Key pairs are derived from (seed, round, client) so runs repeat; a
// deployment draws them with RandomClientKeyPair.
//
// Thread safety: one thread (the trainer's). Call order per round: StartRound, then
// TransformClientUpdate per reporting client, then TransformAggregate.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

#include "train/client_update.h"
#include "train/federated_privacy.h"
#include "train/privacy/aggregate_noise.h"
#include "train/privacy/fixed_point.h"
#include "train/privacy/pairwise_masking.h"

namespace psrec::train {

class PrivateAggregation : public ClientUpdateTransform {
 public:
  // `worker` in [0, workers): this worker's noise share. InvalidArgument from the noise
  // settings (z < 0, S <= 0).
  static Result<std::unique_ptr<PrivateAggregation>> Create(
      const FederatedPrivacySettings& settings, uint64_t seed, int worker, int workers);

  Status StartRound(const RoundAggregate& aggregate,
                    std::span<const RoundParticipant> participants) override;
  Status TransformClientUpdate(ClientUpdate* update) override;
  Status TransformAggregate(RoundAggregate* aggregate) override;

 private:
  PrivateAggregation(const FederatedPrivacySettings& settings, uint64_t seed, int worker,
                     std::optional<privacy::AggregateNoise> noise)
      : settings_(settings), seed_(seed), worker_(worker), noise_(std::move(noise)) {}
  privacy::ClientKeyPair KeyPairOf(uint64_t client_id) const;
  // Removes the masks of the dropped participants from masked_sum_; false: too few
  // survivors to rebuild a dropped client's key (the group is abandoned).
  Result<bool> UnmaskDropouts();

  const FederatedPrivacySettings settings_;
  const uint64_t seed_;
  const int worker_;
  const std::optional<privacy::AggregateNoise> noise_;
  const privacy::FixedPointCodec codec_{};

  int64_t round_ = 0;
  int dim_ = 0;
  size_t width_ = 0;  // dense words per client: rows * (dim + 1), the weight last in a row
  std::vector<RoundParticipant> participants_;
  std::vector<privacy::Peer> peers_;  // every participant's public key (dropped ones too)
  std::unordered_map<uint64_t, size_t> index_of_;
  std::vector<uint64_t> masked_sum_;
  int64_t clipped_ = 0;
  std::vector<float> dense_;
};

}  // namespace psrec::train
