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
//                     epochs of the model's steps (client_lr, SGD) on its own ratings in a
//                     seeded order (implicit models: its positives, with negatives it draws
//                     itself, train/federated_implicit.cc), and hands the deltas of every
//                     item row it touched over as a
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
#include "train/implicit_setup.h"
#include "train/local_user_rows.h"
#include "train/privacy/rdp_accountant.h"
#include "train/server_adam.h"
#include "train/update_mode.h"

namespace psrec::train {

// InvalidArgument naming the field: buffered.buffer_size > buffered.concurrency;
// target_epsilon with buffered; server_momentum with SERVER_ADAM.
Status CheckFederatedSchedule(const config::JobConfig& job);

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
    double round_time = 0;  // synchronous: the slowest reporting client's virtual time
    double staleness_sum = 0, staleness_max = 0, discarded = 0;  // buffered
  };
  struct Client {
    uint32_t dense = 0;     // the user's dense index
    bool reports = true;    // false: sampled, then dropped out
  };
  // What one client's local training cost it (figures of a reporting client).
  struct ClientCost {
    double bytes_up = 0, bytes_down = 0, compute_sec = 0, virtual_time = 0;
  };
  // Buffered: a client training asynchronously, its update held until its virtual finish.
  struct InFlight {
    uint32_t dense = 0;
    bool reports = true;
    int64_t version = 0;  // the server step whose rows it downloaded
    double finish = 0;    // virtual time its update arrives (or it is found dropped)
    std::vector<uint32_t> items;  // worker-dense ids
    std::vector<float> deltas;
    ClientCost cost;
  };

  // Once, collective: the job's item index (for per-row counts) and client count.
  Status AgreeOnce();
  // Pulls the rows the clients in clients_ download (item_pull) into round_rows_.
  Status PullRoundRows();
  // One client's local training from round_rows_: fills update_ (items, deltas).
  ClientCost TrainLocally(uint32_t dense, TrainSums* sums);
  // One client's local training; adds its update to the round's aggregate.
  Status TrainClient(uint32_t dense, TrainSums* sums);
  void CountReport(const ClientCost& cost);
  // Adds a client's (weighted) update to aggregate_, unless a transform absorbed it.
  void AddToAggregate(const ClientUpdate& update);
  // What a client whose update was masked uploads: its keys and its fixed-point words.
  double MaskedUploadBytes(const ClientUpdate& update) const;
  // Buffered schedule (train/federated_buffered.cc): one server step.
  Status BufferedStep(TrainSums* sums);
  // Fills this worker's free slots with clients starting now from the current rows.
  Status StartBufferedClients(TrainSums* sums);
  // The virtual time of this step: when the buffer_size-th update arrives, job-wide.
  Result<double> AgreeStepTime();
  // Lays out the round's aggregate (rows: the pulled rows, or every item row under DP).
  Status StartAggregate();
  // Scales the aggregate by the aggregation rule and pushes it.
  Status AggregateAndPush();
  // refit_epochs: every client of the partition refits its user row against the current
  // item rows (pulled whole; item rows fixed).
  Status RefitUserRows();
  // Implicit models (train/federated_implicit.cc). Draws client `dense`'s negatives for
  // `epochs` passes over its positives into negatives_: uniform over the catalogue,
  // excluding its own positives, seeded by (seed, round, client, stream) alone, so they
  // depend on nothing but the client's own data. Ratings models: clears negatives_.
  void DrawClientNegatives(uint32_t dense, int64_t round, uint64_t stream, int epochs);
  // Appends client `dense`'s items, positives then negatives_ (repeats included), to *out.
  void AppendClientItems(uint32_t dense, std::vector<uint32_t>* out) const;
  // Lays out local epoch `epoch` of client `dense` over order_ (its positives in visiting
  // order): labels_, slots_ and (pairwise) neg_slots_, by the model's Examples; a row's slot
  // is slot_of_item[item], or the item itself when null. Returns the examples.
  size_t BuildLocalExamples(uint32_t dense, int epoch, const std::vector<uint32_t>* slot_of_item);
  // The model's fields for one client's examples over `item_rows`; steppers for the user
  // row (user_lr) and the item rows (item_lr).
  void BindFields(float* user_row, float* item_rows, float user_lr, float item_lr);
  // One Model::Step over the first `examples` local examples on the bound fields; its loss.
  double StepLocalExamples(size_t examples);

  const UpdateModeContext context_;
  const config::FederatedConfig& federated_;
  const FederatedPrivacySettings privacy_;
  std::unique_ptr<ClientUpdateTransform> transform_;
  privacy::RdpAccountant accountant_;
  LocalUserRows users_;
  table::SgdOptimizer client_sgd_;
  const int dim_;            // item payload floats
  // Implicit models (BPR_MF, LOGISTIC_MF): the catalogue, positives and uniform sampler;
  // null for rating models.
  const ImplicitTraining* implicit_ = nullptr;
  models::Examples examples_ = models::Examples::kRatings;
  int negatives_per_positive_ = 0;
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
  std::unique_ptr<ServerAdam> adam_;      // server_optimizer SERVER_ADAM
  std::vector<uint32_t> adam_rows_;
  std::vector<float> adam_steps_;
  double total_clients_ = 0;
  double fixed_denominator_ = 1;          // FIXED_DENOMINATOR_SUM: q x clients, or K
  double virtual_time_ = 0;               // the schedule's virtual clock (client_compute)

  // Buffered schedule.
  const bool buffered_;
  size_t concurrency_ = 0;                // this worker's share of buffered.concurrency
  std::vector<uint32_t> client_dense_;    // the partition's clients (users with ratings)
  std::vector<uint8_t> training_;         // per dense user: in flight
  std::vector<InFlight> in_flight_;
  std::vector<uint32_t> buffer_slot_of_item_;  // worker-dense item -> aggregate row
  int64_t picks_ = 0;
  // Buffered under DP: per dense user, the steps its update entered (the accountant composes
  // the most any client of the job has, without amplification by sampling).
  std::vector<uint32_t> contributions_;

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
  std::vector<uint32_t> slots_, order_, neg_slots_, negatives_, items_scratch_;
  models::RowStepper steppers_[3];
  models::RowLookup fields_[3];
  uint32_t zero_ = 0;
  std::vector<uint64_t> push_keys_;
  std::vector<float> push_deltas_;
};

}  // namespace psrec::train
