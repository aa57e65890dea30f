// What a sampled client computes on its own device: E local epochs over its ratings from the
// item rows it downloaded (FederatedRound::TrainClient), and the refit of its private user
// row before an evaluation (FederatedRound::RefitUserRows). The round's sampling,
// aggregation and pushes are in federated_round.cc.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <vector>

#include "train/client_compute.h"
#include "train/client_sampler.h"
#include "train/federated_round.h"
#include "train/monotonic_seconds.h"

namespace psrec::train {

FederatedRound::ClientCost FederatedRound::TrainLocally(uint32_t dense, TrainSums* sums) {
  const double start = MonotonicSeconds();
  const size_t first = first_[dense], end = first_[dense + 1];
  const size_t n = end - first;
  const size_t row = static_cast<size_t>(dim_);
  const int epochs = federated_.local_epochs();
  // Implicit models: the client's own negatives for all its local epochs, drawn on the
  // device (the same draws PullRoundRows asked rows for).
  DrawClientNegatives(dense, round_, kNegativeStream, epochs);
  // The client's copy of its items' rows (positives, then negatives), as downloaded.
  update_.items.clear();
  items_scratch_.clear();
  AppendClientItems(dense, &items_scratch_);
  for (const uint32_t item : items_scratch_) {
    if (client_slot_of_item_[item] != kNoSlot) continue;
    client_slot_of_item_[item] = static_cast<uint32_t>(update_.items.size());
    update_.items.push_back(item);
  }
  base_rows_.resize(update_.items.size() * row);
  for (size_t s = 0; s < update_.items.size(); ++s) {
    const float* pulled = &round_rows_[round_slot_of_item_[update_.items[s]] * row];
    std::copy(pulled, pulled + row, &base_rows_[s * row]);
  }
  client_rows_ = base_rows_;
  // E local epochs of the model's steps, each over the client's positives (or ratings) in a
  // seeded order.
  const uint64_t id = context_.user_ids[dense];
  const float lr = static_cast<float>(
      federated_.client_lr() * std::pow(federated_.client_lr_decay(), static_cast<double>(round_)));
  order_.resize(n);
  const uint64_t seed = context_.job->training().seed();
  size_t examples = 0;
  for (int e = 0; e < epochs; ++e) {
    std::iota(order_.begin(), order_.end(), 0u);
    for (size_t i = n; i > 1; --i) {  // Fisher-Yates, seeded by (seed, round, client, e)
      const double u = ClientUniform(seed, round_ * 1024 + e, id ^ (i << 40), kShuffleStream);
      std::swap(order_[i - 1], order_[static_cast<size_t>(u * static_cast<double>(i))]);
    }
    examples = BuildLocalExamples(dense, e, &client_slot_of_item_);
    BindFields(users_.row_of_dense()[dense], client_rows_.data(), lr, lr);
    const double loss = StepLocalExamples(examples);
    if (e == 0) {  // the loss before the round's steps, as a DELTAS epoch reports it
      sums->squared_error += loss;
      sums->ratings += examples;
    }
  }
  update_.round = round_;
  update_.client_id = id;
  update_.dim = dim_;
  update_.weight = 1;
  update_.ratings = examples;
  update_.absorbed = false;
  update_.masked_words.clear();
  update_.deltas.resize(client_rows_.size());
  for (size_t i = 0; i < client_rows_.size(); ++i) {
    update_.deltas[i] = client_rows_[i] - base_rows_[i];
  }
  for (uint32_t item : update_.items) client_slot_of_item_[item] = kNoSlot;
  // What the client receives on its own: its rows (OWN_ITEMS) or the whole item table; what
  // it sends: the keys it asks for (OWN_ITEMS), then its keys and deltas (TrainClient
  // recounts the upload when a transform masks it).
  ClientCost cost;
  const double rows = static_cast<double>(update_.items.size());
  const double row_bytes = 4.0 * static_cast<double>(row);
  const bool whole = federated_.item_pull() == config::FederatedConfig::WHOLE_TABLE;
  cost.bytes_down = (whole ? static_cast<double>(global_items_) : rows) * row_bytes;
  cost.bytes_up = (whole ? 0 : 8 * rows) + rows * (8 + row_bytes);
  cost.compute_sec = MonotonicSeconds() - start;
  if (context_.client_update_tap) context_.client_update_tap(update_);
  cost.virtual_time = ClientComputeTime(seed, id, examples, federated_.local_epochs(),
                                        federated_.client_compute());
  return cost;
}

Status FederatedRound::TrainClient(uint32_t dense, TrainSums* sums) {
  ClientCost cost = TrainLocally(dense, sums);
  update_.rows.resize(update_.items.size());
  for (size_t s = 0; s < update_.items.size(); ++s) {
    update_.rows[s] = (*agg_row_of_item_)[update_.items[s]];
  }
  if (transform_) RETURN_IF_ERROR(transform_->TransformClientUpdate(&update_));
  AddToAggregate(update_);
  if (update_.absorbed) cost.bytes_up = MaskedUploadBytes(update_);
  CountReport(cost);
  figures_.round_time = std::max(figures_.round_time, cost.virtual_time);
  return Status::OK();
}

void FederatedRound::AddToAggregate(const ClientUpdate& update) {
  const size_t row = static_cast<size_t>(dim_);
  // A masked update was summed by the transform (secure aggregation); the round adds nothing.
  for (size_t s = 0; s < update.items.size() && !update.absorbed; ++s) {
    const size_t r = update.rows[s];
    double* sum = &aggregate_.sums[r * row];
    const float* delta = &update.deltas[s * row];
    for (size_t k = 0; k < row; ++k) sum[k] += update.weight * delta[k];
    aggregate_.weights[r] += update.weight;
  }
  ++aggregate_.clients;
}

double FederatedRound::MaskedUploadBytes(const ClientUpdate& update) const {
  // The keys it asked rows for (OWN_ITEMS), then its fixed-point words.
  const bool whole = federated_.item_pull() == config::FederatedConfig::WHOLE_TABLE;
  return (whole ? 0 : 8 * static_cast<double>(update.items.size())) +
         8.0 * static_cast<double>(update.masked_words.size());
}

void FederatedRound::CountReport(const ClientCost& cost) {
  ++figures_.reporting;
  figures_.bytes_up_sum += cost.bytes_up;
  figures_.bytes_up_max = std::max(figures_.bytes_up_max, cost.bytes_up);
  figures_.bytes_down_sum += cost.bytes_down;
  figures_.bytes_down_max = std::max(figures_.bytes_down_max, cost.bytes_down);
  figures_.compute_sec_sum += cost.compute_sec;
  figures_.compute_sec_max = std::max(figures_.compute_sec_max, cost.compute_sec);
}

Status FederatedRound::RefitUserRows() {
  const size_t items = context_.item_ids.size();
  const size_t row = static_cast<size_t>(dim_);
  std::vector<float> item_rows(items * row);
  if (items > 0) {
    ASSIGN_OR_RETURN(TableAccess::Ticket ticket,
                     context_.items->BeginPull(context_.item_ids, item_rows.data(),
                                               static_cast<int>(round_)));
    RETURN_IF_ERROR(context_.items->EndPull(ticket));
  }
  users_.Resolve();
  // Implicit models draw fresh negatives for the refit (their own stream): the user row
  // learns to rank its positives above random catalogue items, as in training.
  for (uint32_t d = 0; d < context_.user_ids.size(); ++d) {
    const size_t n = first_[d + 1] - first_[d];
    if (n == 0) continue;
    DrawClientNegatives(d, round_, kRefitNegativeStream, federated_.refit_epochs());
    order_.resize(n);
    std::iota(order_.begin(), order_.end(), 0u);
    for (int e = 0; e < federated_.refit_epochs(); ++e) {
      // The item steppers' rate is 0: only the user row moves.
      const size_t examples = BuildLocalExamples(d, e, nullptr);
      BindFields(users_.row_of_dense()[d], item_rows.data(), federated_.client_lr(), 0.0f);
      StepLocalExamples(examples);
    }
  }
  return Status::OK();
}

double FederatedRound::StepLocalExamples(size_t examples) {
  const size_t fields = context_.model->fields().size();
  models::ExampleBatch batch;
  batch.size = examples;
  batch.labels = labels_.data();
  batch.fields = std::span<const models::RowLookup>(fields_, fields);
  batch.steppers = std::span<const models::RowStepper>(steppers_, fields);
  return context_.model->Step(batch, &scratch_);
}

}  // namespace psrec::train
