// FederatedRound: training.update_mode FEDERATED, federated averaging over the users of a
// worker's partition (docs/federated.md). Every user is a client; its ratings and its user
// row (a LOCAL table, trained in place) never leave the worker. One epoch of the trainer is
// one round and has one batch:
//   StartEpoch        the round's clients: each of the partition's users with at least one
//                     rating, Poisson-sampled with rate q by (seed, round, user id)
//                     (train/client_sampler.h); a sampled client may drop out (simulation)
//   PrepareBatch(0)   pulls the round's item rows: the sampled clients' own items, or every
//                     item of the partition (federated.item_pull). The first round also
//                     agrees, over the collective, on an index of the job's items and on the
//                     number of clients (for the aggregation rule).
//   TrainBatch(0)     each reporting client, in turn: copies its items' rows, runs E local
//                     epochs of the model's per-rating steps (client_lr, SGD) on its own
//                     ratings in a seeded order, and hands its item-row deltas over as a
//                     ClientUpdate (train/client_update.h). The worker sums them
//                     (RoundAggregate), reduces the per-row client counts over workers
//                     (WEIGHTED_MEAN only: counts, never values), scales the sums by the
//                     aggregation rule and pushes them as deltas; the servers add the
//                     workers' parts. The trainer's flush and barrier end the round: no
//                     worker pulls round r + 1 before every part of round r is applied.
//   EndEpoch          reduces the round's figures (clients, bytes per client, times).
// Why an UpdateMode and not beside one: a round is a batch that the trainer's epoch loop
// already brackets with a flush, a barrier and an evaluation, which is exactly a round
// boundary; servers need no change (they add deltas as for DELTAS).
//
// Thread safety: one thread. Contract of the calls: train/update_mode.h.
#pragma once

#include <limits>

#include <memory>
#include <string>
#include <vector>

#include "table/optimizer.h"
#include "train/client_update.h"
#include "train/federated_privacy.h"
#include "train/local_user_rows.h"
#include "train/privacy/rdp_accountant.h"
#include "train/update_mode.h"

namespace psrec::train {

class FederatedRound : public UpdateMode {
 public:
  // REQUIRES: context.users is LOCAL (context.users->local_table() != nullptr) and
  // context.collective is set; `privacy` from ResolveFederatedPrivacy. `transform` may be
  // null (plain FedAvg); under DP (privacy.dp) the round's aggregate covers every item row
  // of the job, so the noise covers rows no client touched.
  FederatedRound(const UpdateModeContext& context, const FederatedPrivacySettings& privacy,
                 std::unique_ptr<ClientUpdateTransform> transform);

  std::string Describe() const override;
  std::string DivergenceAdvice() const override;
  void StartEpoch(const EpochStart& epoch) override;
  Status PrepareBatch(size_t b) override;
  Status TrainBatch(size_t b, TrainSums* sums) override;
  Status FinishBatch(size_t) override { return Status::OK(); }
  Status EndEpoch(EpochMetrics* metrics) override;

 private:
  static constexpr uint32_t kNoSlot = std::numeric_limits<uint32_t>::max();
  // What one round adds up to on this worker (reduced in EndEpoch).
  struct RoundFigures {
    double sampled = 0, reporting = 0, dropped = 0;
    double bytes_up_sum = 0, bytes_up_max = 0, bytes_down_sum = 0, bytes_down_max = 0;
    double compute_sec_sum = 0, compute_sec_max = 0, aggregation_sec = 0;
    double clipped = 0, abandoned = 0;
  };
  struct Client {
    uint32_t dense = 0;     // the user's dense index
    bool reports = true;    // false: sampled, then dropped out
  };

  // Once, collective: the job's item index (for per-row counts) and client count.
  Status AgreeOnce();
  // One client's local training; adds its update to the round's aggregate.
  Status TrainClient(uint32_t dense, TrainSums* sums);
  // Lays out the round's aggregate (rows: the pulled rows, or every item row under DP).
  Status StartAggregate();
  // Scales the aggregate by the aggregation rule and pushes it.
  Status AggregateAndPush();
  // refit_epochs: every client of the partition refits its user row against the current
  // item rows (pulled whole; item rows fixed).
  Status RefitUserRows();

  const UpdateModeContext context_;
  const config::FederatedConfig& federated_;
  const FederatedPrivacySettings privacy_;
  std::unique_ptr<ClientUpdateTransform> transform_;
  privacy::RdpAccountant accountant_;
  LocalUserRows users_;
  table::SgdOptimizer client_sgd_;
  const int dim_;            // item payload floats
  int64_t round_ = 0;

  // The partition's ratings grouped by client: client d's are by_client_[first_[d], first_[d + 1]).
  std::vector<data::PackedRating> by_client_;
  std::vector<size_t> first_;
  int64_t local_clients_ = 0;

  bool agreed_ = false;
  std::vector<uint32_t> global_of_item_;  // worker-dense item -> index in the job's items
  std::vector<uint64_t> global_keys_;     // the job's item keys, sorted
  size_t global_items_ = 0;
  std::vector<float> momentum_;           // server_momentum > 0: this worker's part, global rows
  double total_clients_ = 0;

  std::vector<Client> clients_;                  // this round's sampled clients
  std::vector<uint32_t> round_items_;            // worker-dense ids of the pulled rows
  std::vector<uint32_t> round_slot_of_item_;     // worker-dense item -> row in round_rows_
  std::vector<uint64_t> round_keys_;
  std::vector<float> round_rows_;
  RoundAggregate aggregate_;
  std::vector<RoundParticipant> participants_;
  const std::vector<uint32_t>* agg_row_of_item_ = nullptr;  // worker-dense item -> aggregate row
  std::vector<uint32_t> agg_global_;                        // aggregate row -> global index
  RoundFigures figures_;

  // One client's scratch.
  ClientUpdate update_;
  std::vector<uint32_t> client_slot_of_item_;    // worker-dense item -> row in client_rows_
  std::vector<float> client_rows_, base_rows_, labels_, scratch_;
  std::vector<uint32_t> slots_, order_;
  std::vector<uint64_t> push_keys_;
  std::vector<float> push_deltas_;
};

}  // namespace psrec::train
