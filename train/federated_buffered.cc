// The buffered asynchronous schedule of FederatedRound (training.federated.buffered; FedBuff,
// Nguyen et al. 2022, "Federated learning with buffered asynchronous aggregation").
//
// One epoch of the trainer is one server step r. Each worker keeps its share of the job's
// `concurrency` clients training at all times, in virtual time (train/client_compute.h):
//   1. free slots are filled: clients picked uniformly among the partition's idle clients
//      download the current rows (version r, every earlier step applied: the trainer's flush
//      and barrier end each step), train at once, and hold their update until their virtual
//      finish time, start + compute time (start: the previous step's time);
//   2. the workers agree, with one reduction of each worker's buffer_size earliest finish
//      times, on the step's time T_r: when the buffer_size-th update of the job arrives;
//   3. every update that arrived by T_r enters the step's aggregate, weighted by its
//      staleness s = r - version, (1 + s)^-staleness_exponent (or is discarded past
//      max_staleness); a dropped client is found out at its finish time and frees its slot;
//   4. the aggregate is scaled (WEIGHTED_MEAN: per row by the summed weights, job-wide;
//      FIXED_DENOMINATOR_SUM: by buffer_size) and pushed as in a synchronous round.
// A client slower than the others (a straggler) or one that never reports holds only its own
// slot: the step waits for buffer_size updates from whoever finishes first.
//
// Simulation shortcuts: a client trains (and its private user row moves) when it starts,
// not when it finishes in virtual time; a slot freed in step r is refilled at the start of
// step r + 1, from T_r (the server hands out work when it steps).
//
// Privacy (docs/federated.md, "DP and secure aggregation under FedBuff"): the arrivals of a
// step on a worker are its secure-aggregation group (they mask among each other; a dropped
// client never uploads, so never joins one); under DP each update is clipped, then weighted
// (staleness weight <= 1), each step's sum is noised over every item row, and EndEpoch's
// accountant composes one Gaussian mechanism per step the busiest client entered (no
// amplification by sampling is claimed).
#include <algorithm>
#include <cmath>
#include <numeric>

#include "train/client_compute.h"
#include "train/client_sampler.h"
#include "train/federated_round.h"

namespace psrec::train {

Status FederatedRound::StartBufferedClients(TrainSums* sums) {
  clients_.clear();
  const uint64_t seed = context_.job->training().seed();
  const uint64_t rank = static_cast<uint64_t>(context_.collective->rank());
  const size_t n = client_dense_.size();
  while (in_flight_.size() + clients_.size() < concurrency_) {
    // Uniform over the partition's clients, probing past those already training
    // (concurrency_ <= n, so an idle one exists).
    size_t k = static_cast<size_t>(ClientUniform(seed, picks_++, rank, kPickStream) *
                                   static_cast<double>(n));
    while (training_[client_dense_[k]]) k = (k + 1) % n;
    const uint32_t d = client_dense_[k];
    training_[d] = 1;
    clients_.push_back(
        {d, !ClientDropsOut(seed, round_, context_.user_ids[d], federated_.dropout_fraction())});
  }
  figures_.sampled += static_cast<double>(clients_.size());
  if (clients_.empty()) return Status::OK();
  RETURN_IF_ERROR(PullRoundRows());  // a client that will drop out downloads too
  for (const Client& client : clients_) {
    InFlight started;
    started.dense = client.dense;
    started.reports = client.reports;
    started.version = round_;
    if (client.reports) {
      started.cost = TrainLocally(client.dense, sums);
      started.items = std::move(update_.items);
      started.deltas = std::move(update_.deltas);
      update_.items.clear();
      update_.deltas.clear();
      started.finish = virtual_time_ + started.cost.virtual_time;
    } else {
      started.finish =
          virtual_time_ + ClientComputeTime(seed, context_.user_ids[client.dense],
                                            first_[client.dense + 1] - first_[client.dense],
                                            federated_.local_epochs(),
                                            federated_.client_compute());
    }
    in_flight_.push_back(std::move(started));
  }
  return Status::OK();
}

Result<double> FederatedRound::AgreeStepTime() {
  Collective& collective = *context_.collective;
  const size_t k = static_cast<size_t>(federated_.buffered().buffer_size());
  std::vector<double> mine;
  for (const InFlight& c : in_flight_) {
    if (c.reports) mine.push_back(c.finish);
  }
  const size_t kept = std::min(k, mine.size());
  std::partial_sort(mine.begin(), mine.begin() + static_cast<ptrdiff_t>(kept), mine.end());
  // Each worker writes its k earliest finish times (finish > 0; -1: none) into its own
  // segment of a zero vector; the sum gathers them all.
  std::vector<double> gathered(static_cast<size_t>(collective.size()) * k, 0);
  const size_t offset = static_cast<size_t>(collective.rank()) * k;
  for (size_t i = 0; i < k; ++i) gathered[offset + i] = i < kept ? mine[i] : -1;
  RETURN_IF_ERROR(collective.AllReduceSum(gathered));
  std::vector<double> finishes;
  for (double t : gathered) {
    if (t > 0) finishes.push_back(t);
  }
  if (finishes.size() >= k) {
    std::nth_element(finishes.begin(), finishes.begin() + static_cast<ptrdiff_t>(k - 1),
                     finishes.end());
    return finishes[k - 1];
  }
  if (!finishes.empty()) return *std::max_element(finishes.begin(), finishes.end());
  // No client that will report is training (every one dropped out): the step ends when the
  // last of them is found out. Every worker sees the same gathered vector, so all come here.
  double last[1] = {0};
  for (const InFlight& c : in_flight_) last[0] = std::max(last[0], c.finish);
  RETURN_IF_ERROR(collective.AllReduceMax(last));
  return last[0];
}

Status FederatedRound::BufferedStep(TrainSums* sums) {
  RETURN_IF_ERROR(StartBufferedClients(sums));
  ASSIGN_OR_RETURN(const double step_time, AgreeStepTime());
  const config::BufferedAggregation& b = federated_.buffered();
  // The arrivals, in start order (a function of the seed: the sums repeat bit for bit).
  std::vector<InFlight> arrived;
  size_t still = 0;
  for (InFlight& c : in_flight_) {
    if (c.finish <= step_time) {
      training_[c.dense] = 0;
      arrived.push_back(std::move(c));
    } else {
      in_flight_[still++] = std::move(c);
    }
  }
  in_flight_.resize(still);
  std::vector<double> weight(arrived.size(), 0);  // 0: not aggregated
  std::vector<uint32_t> items;
  participants_.clear();
  for (size_t a = 0; a < arrived.size(); ++a) {
    const InFlight& c = arrived[a];
    if (!c.reports) {
      ++figures_.dropped;
      continue;
    }
    const int64_t staleness = round_ - c.version;
    figures_.staleness_sum += static_cast<double>(staleness);
    figures_.staleness_max = std::max(figures_.staleness_max, static_cast<double>(staleness));
    if (b.max_staleness() > 0 && staleness > b.max_staleness()) {
      CountReport(c.cost);
      ++figures_.discarded;
      continue;
    }
    weight[a] = StalenessWeight(staleness, b.staleness_exponent());
    // The step's group: with secure aggregation these clients mask among each other (they
    // are the ones whose uploads the server assigned to this buffer).
    participants_.push_back({context_.user_ids[c.dense], true});
    for (uint32_t item : c.items) {
      if (buffer_slot_of_item_[item] != kNoSlot) continue;
      buffer_slot_of_item_[item] = 0;
      items.push_back(item);
    }
  }
  // The step's aggregate: one row per item some aggregated update changed; under DP every
  // item row of the job (which rows carry a sum is data, so the noise covers them all).
  std::sort(items.begin(), items.end());
  const size_t row = static_cast<size_t>(dim_);
  aggregate_ = RoundAggregate();
  aggregate_.round = round_;
  aggregate_.dim = dim_;
  for (size_t r = 0; r < items.size(); ++r) {
    buffer_slot_of_item_[items[r]] = static_cast<uint32_t>(r);
  }
  if (privacy_.dp) {
    aggregate_.keys = global_keys_;
    agg_row_of_item_ = &global_of_item_;
    agg_global_.resize(global_items_);
    std::iota(agg_global_.begin(), agg_global_.end(), 0u);
  } else {
    aggregate_.keys.resize(items.size());
    agg_global_.resize(items.size());
    for (size_t r = 0; r < items.size(); ++r) {
      aggregate_.keys[r] = context_.item_ids[items[r]];
      agg_global_[r] = global_of_item_[items[r]];
    }
    agg_row_of_item_ = &buffer_slot_of_item_;
  }
  aggregate_.sums.assign(aggregate_.keys.size() * row, 0);
  aggregate_.weights.assign(aggregate_.keys.size(), 0);
  Status status = Status::OK();
  if (transform_) status = transform_->StartRound(aggregate_, participants_);
  for (size_t a = 0; a < arrived.size() && status.ok(); ++a) {
    if (weight[a] == 0) continue;
    InFlight& c = arrived[a];
    update_.round = round_;
    update_.client_id = context_.user_ids[c.dense];
    update_.dim = dim_;
    update_.weight = weight[a];
    update_.items = std::move(c.items);
    update_.deltas = std::move(c.deltas);
    update_.absorbed = false;
    update_.masked_words.clear();
    update_.rows.resize(update_.items.size());
    for (size_t s = 0; s < update_.items.size(); ++s) {
      update_.rows[s] = (*agg_row_of_item_)[update_.items[s]];
    }
    if (transform_) {
      status = transform_->TransformClientUpdate(&update_);
      if (!status.ok()) break;
    }
    AddToAggregate(update_);
    if (update_.absorbed) c.cost.bytes_up = MaskedUploadBytes(update_);
    CountReport(c.cost);
    if (privacy_.dp) ++contributions_[c.dense];
  }
  virtual_time_ = step_time;
  if (status.ok()) status = AggregateAndPush();
  for (uint32_t item : items) buffer_slot_of_item_[item] = kNoSlot;
  return status;
}

}  // namespace psrec::train
