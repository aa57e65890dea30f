#include "train/federated_round.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>

#include "train/client_sampler.h"
#include "train/monotonic_seconds.h"

namespace psrec::train {
FederatedRound::FederatedRound(const UpdateModeContext& context,
                               const FederatedPrivacySettings& privacy,
                               std::unique_ptr<ClientUpdateTransform> transform)
    : context_(context),
      federated_(context.job->training().federated()),
      privacy_(privacy),
      transform_(std::move(transform)),
      users_(context.users->local_table(), context.user_ids, /*keep_addresses=*/true),
      dim_(context.items->dim()),
      implicit_(context.batches->implicit()),
      examples_(context.model->examples()),
      negatives_per_positive_(implicit_ != nullptr
                                  ? implicit_->config.negatives_per_positive()
                                  : 0),
      buffered_(federated_.has_buffered()) {
  // Group the partition's ratings by client (stable: each client's ratings keep the packed
  // order, itself a function of the seed and rank only).
  const std::span<const data::PackedRating> packed = context.batches->packed();
  const size_t users = context.user_ids.size();
  first_.assign(users + 1, 0);
  for (const data::PackedRating& r : packed) ++first_[r.user + 1];
  for (size_t d = 0; d < users; ++d) {
    if (first_[d + 1] > 0) ++local_clients_;
    first_[d + 1] += first_[d];
  }
  by_client_.resize(packed.size());
  std::vector<size_t> next(first_.begin(), first_.end() - 1);
  for (const data::PackedRating& r : packed) by_client_[next[r.user]++] = r;
  round_slot_of_item_.assign(context.item_ids.size(), kNoSlot);
  client_slot_of_item_.assign(context.item_ids.size(), kNoSlot);
  buffer_slot_of_item_.assign(context.item_ids.size(), kNoSlot);
  for (uint32_t d = 0; d < users; ++d) {
    if (first_[d + 1] > first_[d]) client_dense_.push_back(d);
  }
  training_.assign(users, 0);
  contributions_.assign(users, 0);
}

std::string FederatedRound::Describe() const {
  char schedule[80];
  if (buffered_) {
    std::snprintf(schedule, sizeof(schedule), "buffered K %d of %d concurrent",
                  federated_.buffered().buffer_size(), federated_.buffered().concurrency());
  } else {
    std::snprintf(schedule, sizeof(schedule), "q %g", federated_.sampling_rate());
  }
  char text[280];
  std::snprintf(text, sizeof(text), ", FEDERATED (%s, %d local epochs, %s, %s%s%s%s)", schedule,
                federated_.local_epochs(),
                config::FederatedConfig::Aggregation_Name(privacy_.aggregation).c_str(),
                config::FederatedConfig::ItemPull_Name(federated_.item_pull()).c_str(),
                privacy_.dp ? ", DP" : "", privacy_.secure_aggregation ? ", secure agg" : "",
                federated_.server_optimizer() == config::FederatedConfig::SERVER_ADAM
                    ? ", FedAdam"
                    : "");
  return text;
}

std::string FederatedRound::DivergenceAdvice() const {
  return " or training.federated.client_lr / server_lr";
}

void FederatedRound::StartEpoch(const EpochStart& epoch) {
  round_ = context_.clocks->ClockOfBatch(epoch.first_global_batch);
  users_.Resolve();
  figures_ = RoundFigures();
  clients_.clear();
  participants_.clear();
  if (buffered_) return;  // clients start as slots free up (BufferedStep)
  const uint64_t seed = context_.job->training().seed();
  for (uint32_t d = 0; d < context_.user_ids.size(); ++d) {
    if (first_[d + 1] == first_[d]) continue;  // no ratings: never a client
    const uint64_t id = context_.user_ids[d];
    if (!ClientSampled(seed, round_, id, federated_.sampling_rate())) continue;
    clients_.push_back(
        {d, !ClientDropsOut(seed, round_, id, federated_.dropout_fraction())});
    participants_.push_back({id, clients_.back().reports});
  }
}

Status FederatedRound::AgreeOnce() {
  if (agreed_) return Status::OK();
  Collective& collective = *context_.collective;
  const std::span<const uint64_t> items = context_.item_ids;
  // Item keys are gathered through sums: each worker writes its keys (as two exact 32-bit
  // halves) into its own segment of a zero vector.
  // [items of worker w..., clients of worker w..., all clients]
  const size_t workers = static_cast<size_t>(collective.size());
  std::vector<double> sizes(2 * workers + 1, 0);
  sizes[static_cast<size_t>(collective.rank())] = static_cast<double>(items.size());
  sizes[workers + static_cast<size_t>(collective.rank())] = static_cast<double>(local_clients_);
  sizes.back() = static_cast<double>(local_clients_);
  RETURN_IF_ERROR(collective.AllReduceSum(sizes));
  total_clients_ = sizes.back();
  fixed_denominator_ = federated_.sampling_rate() * std::max(total_clients_, 1.0);
  if (buffered_) {
    const config::BufferedAggregation& b = federated_.buffered();
    if (static_cast<double>(b.concurrency()) > total_clients_) {
      return Status::InvalidArgument(
          "training.federated.buffered.concurrency: " + std::to_string(b.concurrency()) +
          " clients training at once, but the job has " +
          std::to_string(static_cast<int64_t>(total_clients_)) + " clients");
    }
    // This worker's share of the concurrency, by its clients (at least one while it has any).
    const double share = static_cast<double>(b.concurrency()) *
                         static_cast<double>(local_clients_) / std::max(total_clients_, 1.0);
    concurrency_ = std::min(static_cast<size_t>(local_clients_),
                            std::max<size_t>(local_clients_ > 0 ? 1 : 0,
                                             static_cast<size_t>(std::llround(share))));
    fixed_denominator_ = b.buffer_size();
  }
  if (privacy_.secure_aggregation) {
    // Every worker sees the same counts, so every worker fails alike (no one left waiting).
    // Rounds: q x the worker's clients are sampled; buffered: its share of each step's
    // buffer_size updates (by its clients, as the concurrency is split).
    for (size_t w = 0; w < workers; ++w) {
      const double expected =
          buffered_ ? federated_.buffered().buffer_size() * sizes[workers + w] /
                          std::max(total_clients_, 1.0)
                    : federated_.sampling_rate() * sizes[workers + w];
      if (expected < 2) {
        return Status::InvalidArgument(
            "training.federated.secure_aggregation: needs at least 2 clients per round on "
            "each worker (masks cancel only in a sum of 2 or more), but worker " +
            std::to_string(w) + " expects " + std::to_string(expected) +
            (buffered_ ? " (buffered.buffer_size x its share of the clients); raise "
                         "buffered.buffer_size or use fewer workers"
                       : " (sampling_rate x its clients); raise sampling_rate or use fewer "
                         "workers"));
      }
    }
  }
  size_t offset = 0, total = 0;
  for (int w = 0; w < collective.size(); ++w) {
    if (w < collective.rank()) offset += static_cast<size_t>(sizes[static_cast<size_t>(w)]);
    total += static_cast<size_t>(sizes[static_cast<size_t>(w)]);
  }
  std::vector<double> halves(2 * total, 0);
  for (size_t i = 0; i < items.size(); ++i) {
    halves[2 * (offset + i)] = static_cast<double>(items[i] >> 32);
    halves[2 * (offset + i) + 1] = static_cast<double>(items[i] & 0xffffffffULL);
  }
  RETURN_IF_ERROR(collective.AllReduceSum(halves));
  std::vector<uint64_t> keys(total);
  for (size_t i = 0; i < total; ++i) {
    keys[i] = (static_cast<uint64_t>(halves[2 * i]) << 32) |
              static_cast<uint64_t>(halves[2 * i + 1]);
  }
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  global_items_ = keys.size();
  global_of_item_.resize(items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    global_of_item_[i] = static_cast<uint32_t>(
        std::lower_bound(keys.begin(), keys.end(), items[i]) - keys.begin());
  }
  global_keys_ = std::move(keys);
  if (federated_.server_momentum() > 0) {
    momentum_.assign(global_items_ * static_cast<size_t>(dim_), 0.0f);
  }
  if (federated_.server_optimizer() == config::FederatedConfig::SERVER_ADAM) {
    ServerAdamOptions adam;
    adam.beta1 = federated_.server_adam_beta1();
    adam.beta2 = federated_.server_adam_beta2();
    adam.epsilon = federated_.server_adam_epsilon();
    adam_ = std::make_unique<ServerAdam>(adam, global_items_, dim_, collective.rank(),
                                         collective.size());
  }
  agreed_ = true;
  return Status::OK();
}

Status FederatedRound::PrepareBatch(size_t) {
  RETURN_IF_ERROR(AgreeOnce());
  if (buffered_) return Status::OK();  // pulls as clients start (BufferedStep)
  RETURN_IF_ERROR(PullRoundRows());
  return StartAggregate();
}

Status FederatedRound::PullRoundRows() {
  for (uint32_t item : round_items_) round_slot_of_item_[item] = kNoSlot;
  round_items_.clear();
  if (federated_.item_pull() == config::FederatedConfig::WHOLE_TABLE) {
    round_items_.resize(context_.item_ids.size());
    std::iota(round_items_.begin(), round_items_.end(), 0u);
  } else {
    // Every sampled client downloads its items, a dropped one too (it drops out later);
    // an implicit model's client also the negatives it drew for the round.
    for (const Client& client : clients_) {
      DrawClientNegatives(client.dense, round_, kNegativeStream, federated_.local_epochs());
      items_scratch_.clear();
      AppendClientItems(client.dense, &items_scratch_);
      for (const uint32_t item : items_scratch_) {
        if (round_slot_of_item_[item] != kNoSlot) continue;
        round_slot_of_item_[item] = 0;
        round_items_.push_back(item);
      }
    }
    std::sort(round_items_.begin(), round_items_.end());
  }
  round_keys_.resize(round_items_.size());
  for (size_t r = 0; r < round_items_.size(); ++r) {
    round_slot_of_item_[round_items_[r]] = static_cast<uint32_t>(r);
    round_keys_[r] = context_.item_ids[round_items_[r]];
  }
  round_rows_.resize(round_items_.size() * static_cast<size_t>(dim_));
  if (!round_keys_.empty()) {
    ASSIGN_OR_RETURN(TableAccess::Ticket ticket,
                     context_.items->BeginPull(round_keys_, round_rows_.data(),
                                               static_cast<int>(round_)));
    RETURN_IF_ERROR(context_.items->EndPull(ticket));
  }
  return Status::OK();
}

Status FederatedRound::StartAggregate() {
  aggregate_.round = round_;
  aggregate_.dim = dim_;
  aggregate_.clients = 0;
  aggregate_.clients_clipped = 0;
  aggregate_.groups_abandoned = 0;
  if (privacy_.dp) {
    // Every item row of the job: which rows carry a nonzero sum is itself data, so the noise
    // must cover them all.
    aggregate_.keys = global_keys_;
    agg_row_of_item_ = &global_of_item_;
    agg_global_.resize(global_items_);
    std::iota(agg_global_.begin(), agg_global_.end(), 0u);
  } else {
    aggregate_.keys = round_keys_;
    agg_row_of_item_ = &round_slot_of_item_;
    agg_global_.resize(round_items_.size());
    for (size_t r = 0; r < round_items_.size(); ++r) {
      agg_global_[r] = global_of_item_[round_items_[r]];
    }
  }
  aggregate_.sums.assign(aggregate_.keys.size() * static_cast<size_t>(dim_), 0);
  aggregate_.weights.assign(aggregate_.keys.size(), 0);
  if (transform_) RETURN_IF_ERROR(transform_->StartRound(aggregate_, participants_));
  return Status::OK();
}

Status FederatedRound::TrainBatch(size_t, TrainSums* sums) {
  if (buffered_) return BufferedStep(sums);
  for (const Client& client : clients_) {
    ++figures_.sampled;
    if (!client.reports) {
      ++figures_.dropped;
      continue;
    }
    RETURN_IF_ERROR(TrainClient(client.dense, sums));
  }
  return AggregateAndPush();
}

Status FederatedRound::AggregateAndPush() {
  const double start = MonotonicSeconds();
  if (transform_) RETURN_IF_ERROR(transform_->TransformAggregate(&aggregate_));
  const size_t row = static_cast<size_t>(dim_);
  const size_t rows = aggregate_.keys.size();
  // Per row: the factor its sum is scaled by.
  std::vector<double> scale(rows, 0);
  const double server_lr =
      federated_.server_lr() * std::pow(federated_.server_lr_decay(), static_cast<double>(round_));
  if (privacy_.aggregation == config::FederatedConfig::WEIGHTED_MEAN) {
    // Every worker reduces the same vector (collective): the job's clients per item row.
    std::vector<double> weights(global_items_, 0);
    for (size_t r = 0; r < rows; ++r) weights[agg_global_[r]] += aggregate_.weights[r];
    RETURN_IF_ERROR(context_.collective->AllReduceSum(weights));
    for (size_t r = 0; r < rows; ++r) {
      const double w = weights[agg_global_[r]];
      if (aggregate_.weights[r] > 0 && w > 0) scale[r] = server_lr / w;
    }
  } else {
    for (size_t r = 0; r < rows; ++r) scale[r] = server_lr / fixed_denominator_;
  }
  // Pushed as DELTAS: payload changes, then zero for the table's optimizer state.
  const size_t state = static_cast<size_t>(context_.items->state_floats());
  push_keys_.clear();
  push_deltas_.clear();
  if (adam_) {
    // FedAdam: Adam is not linear in the aggregate, so the workers reduce the whole of it
    // (their parts, each already divided by the rule's denominator, noised under DP) and
    // each steps the rows it owns. server_lr is Adam's step size, not a factor of d.
    std::vector<double> whole(global_items_ * row, 0);
    for (size_t r = 0; r < rows; ++r) {
      if (scale[r] == 0) continue;
      const double unit = scale[r] / server_lr;
      double* out = &whole[agg_global_[r] * row];
      for (size_t k = 0; k < row; ++k) out[k] += aggregate_.sums[r * row + k] * unit;
    }
    RETURN_IF_ERROR(context_.collective->AllReduceSum(whole));
    adam_rows_.clear();
    adam_steps_.clear();
    adam_->Step(whole, server_lr, &adam_rows_, &adam_steps_);
    for (size_t i = 0; i < adam_rows_.size(); ++i) {
      push_keys_.push_back(global_keys_[adam_rows_[i]]);
      push_deltas_.insert(push_deltas_.end(), &adam_steps_[i * row], &adam_steps_[i * row] + row);
      push_deltas_.insert(push_deltas_.end(), state, 0.0f);
    }
  } else if (!momentum_.empty()) {
    // Heavy-ball server momentum on this worker's part (linear: the parts' momenta sum to
    // the momentum of the aggregate). Rows with momentum move even in rounds nobody sent
    // them.
    const float beta = static_cast<float>(federated_.server_momentum());
    for (float& m : momentum_) m *= beta;
    for (size_t r = 0; r < rows; ++r) {
      if (scale[r] == 0) continue;
      float* m = &momentum_[agg_global_[r] * row];
      for (size_t k = 0; k < row; ++k) {
        m[k] += static_cast<float>(aggregate_.sums[r * row + k] * scale[r]);
      }
    }
    for (size_t g = 0; g < global_items_; ++g) {
      const float* m = &momentum_[g * row];
      if (std::all_of(m, m + row, [](float v) { return v == 0.0f; })) continue;
      push_keys_.push_back(global_keys_[g]);
      push_deltas_.insert(push_deltas_.end(), m, m + row);
      push_deltas_.insert(push_deltas_.end(), state, 0.0f);
    }
  }
  for (size_t r = 0; r < rows && momentum_.empty() && !adam_; ++r) {
    if (scale[r] == 0) continue;  // WEIGHTED_MEAN: no client of this worker sent the row
    push_keys_.push_back(aggregate_.keys[r]);
    for (size_t k = 0; k < row; ++k) {
      push_deltas_.push_back(static_cast<float>(aggregate_.sums[r * row + k] * scale[r]));
    }
    push_deltas_.insert(push_deltas_.end(), state, 0.0f);
  }
  figures_.clipped = static_cast<double>(aggregate_.clients_clipped);
  figures_.abandoned = static_cast<double>(aggregate_.groups_abandoned);
  if (!push_keys_.empty()) {
    RETURN_IF_ERROR(context_.items->PushDelta(push_keys_, push_deltas_));
  }
  figures_.aggregation_sec = MonotonicSeconds() - start;
  return Status::OK();
}

Status FederatedRound::EndEpoch(EpochMetrics* metrics) {
  const RoundFigures& f = figures_;
  double sums[10] = {f.sampled,        f.reporting,       f.dropped, f.bytes_up_sum,
                     f.bytes_down_sum, f.compute_sec_sum, f.clipped, f.abandoned,
                     f.staleness_sum,  f.discarded};
  double maxima[6] = {f.bytes_up_max, f.bytes_down_max, f.compute_sec_max, f.aggregation_sec,
                      f.round_time, f.staleness_max};
  RETURN_IF_ERROR(context_.collective->AllReduceSum(sums));
  RETURN_IF_ERROR(context_.collective->AllReduceMax(maxima));
  const double reporting = std::max(sums[1], 1.0);
  metrics->mode_figures = {
      {"clients_sampled", sums[0]},
      {"clients_reporting", sums[1]},
      {"clients_dropped", sums[2]},
      {"bytes_up_per_client_mean", sums[3] / reporting},
      {"bytes_up_per_client_max", maxima[0]},
      {"bytes_down_per_client_mean", sums[4] / reporting},
      {"bytes_down_per_client_max", maxima[1]},
      {"client_compute_ms_mean", 1e3 * sums[5] / reporting},
      {"client_compute_ms_max", 1e3 * maxima[2]},
      {"aggregation_ms", 1e3 * maxima[3]},
  };
  if (privacy_.secure_aggregation) metrics->mode_figures.push_back({"groups_abandoned", sums[7]});
  // Synchronous: a round lasts as long as its slowest reporting client. Buffered: the step's
  // time was agreed in BufferedStep.
  if (!buffered_) virtual_time_ += maxima[4];
  metrics->mode_figures.push_back({"virtual_time", virtual_time_});
  if (buffered_) {
    metrics->mode_figures.push_back({"staleness_mean", sums[8] / reporting});
    metrics->mode_figures.push_back({"staleness_max", maxima[5]});
    metrics->mode_figures.push_back({"updates_discarded", sums[9]});
  }
  // Every worker flushed its pushes before EndEpoch and the reductions above wait for all,
  // so the round's item rows are final here.
  const int every = federated_.eval_every();
  if (federated_.refit_epochs() > 0 &&
      (metrics->epoch % every == 0 || metrics->epoch >= context_.job->training().epochs())) {
    RETURN_IF_ERROR(RefitUserRows());
  }
  if (privacy_.dp) {
    metrics->mode_figures.push_back({"clients_clipped", sums[6]});
    if (privacy_.noise_multiplier > 0 && buffered_) {
      // Buffered steps are not Poisson samples: no amplification is claimed. A client's
      // update enters a step at most once (it trains one session at a time), clipped to S,
      // and each step's sum gets N(0, (zS)^2): one Gaussian mechanism per step it entered.
      // RDP composes over the steps of the client that entered the most (q = 1).
      double most[1] = {0};
      for (const uint32_t c : contributions_) most[0] = std::max(most[0], static_cast<double>(c));
      RETURN_IF_ERROR(context_.collective->AllReduceMax(most));
      metrics->mode_figures.push_back({"client_contributions_max", most[0]});
      double epsilon = 0;
      if (most[0] > 0) {
        ASSIGN_OR_RETURN(privacy::PrivacySpent spent,
                         privacy::ComputeEpsilon(1.0, privacy_.noise_multiplier,
                                                 static_cast<int64_t>(most[0]), privacy_.delta));
        epsilon = spent.epsilon;
      }
      metrics->mode_figures.push_back({"epsilon", epsilon});
    } else if (privacy_.noise_multiplier > 0) {
      // One round is one step of the Poisson-subsampled Gaussian mechanism at (q, z).
      RETURN_IF_ERROR(accountant_.Compose(federated_.sampling_rate(),
                                          privacy_.noise_multiplier, 1));
      ASSIGN_OR_RETURN(privacy::PrivacySpent spent, accountant_.Spent(privacy_.delta));
      metrics->mode_figures.push_back({"epsilon", spent.epsilon});
    }
  }
  return Status::OK();
}

}  // namespace psrec::train
