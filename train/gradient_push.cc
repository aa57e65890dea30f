#include "train/gradient_push.h"

#include <string>

namespace psrec::train {

GradientPush::GradientPush(const UpdateModeContext& context)
    : context_(context),
      ring_(static_cast<size_t>(context.job->training().pipeline_depth())),
      item_scaler_(context.job->training().shared_row_changes(), context.workers) {
  if (table::EmbeddingTable* table = context.users->local_table()) {
    local_users_.emplace(table, context.user_ids, /*keep_addresses=*/true);
  }
}

std::string GradientPush::DivergenceAdvice() const {
  return " or training.batch_size (now " +
         std::to_string(context_.job->training().batch_size()) +
         "), or use training.update_mode DELTAS";
}

void GradientPush::StartEpoch(const EpochStart& epoch) {
  epoch_ = epoch;
  issued_ = 0;
  if (has_dense()) context_.dense->StartEpoch(epoch.epoch);
  if (local_users_) local_users_->Resolve();
}

Status GradientPush::PrepareBatch(size_t b) {
  const size_t depth = ring_.size();
  const size_t batches = static_cast<size_t>(context_.batches->batches_per_epoch());
  while (issued_ < batches && issued_ < b + depth) {
    InFlight* slot = &ring_[issued_ % depth];
    context_.batches->Plan(issued_, &slot->plan, /*items_only=*/false);
    RETURN_IF_ERROR(SendPull(issued_, slot));
    ++issued_;
  }
  InFlight* slot = &ring_[b % depth];
  RETURN_IF_ERROR(AwaitRows(local_users_ ? nullptr : context_.users, context_.items, slot));
  return has_dense() ? context_.dense->Await(&slot->dense) : Status::OK();
}

Status GradientPush::SendPull(size_t batch, InFlight* slot) {
  const int clock =
      context_.clocks->ClockOfBatch(epoch_.first_global_batch + static_cast<int64_t>(batch));
  slot->rows_ready = false;
  slot->item_rows.resize(slot->plan.item_keys.size() * static_cast<size_t>(context_.items->dim()));
  if (!local_users_) {
    slot->user_rows.resize(slot->plan.user_keys.size() *
                           static_cast<size_t>(context_.users->dim()));
    ASSIGN_OR_RETURN(slot->user_ticket, context_.users->BeginPull(
                                            slot->plan.user_keys, slot->user_rows.data(), clock));
  }
  ASSIGN_OR_RETURN(slot->item_ticket, context_.items->BeginPull(slot->plan.item_keys,
                                                                slot->item_rows.data(), clock));
  if (has_dense()) RETURN_IF_ERROR(context_.dense->BeginPull(clock, false, &slot->dense));
  return Status::OK();
}

Status GradientPush::TrainBatch(size_t b, TrainSums* sums) {
  InFlight* slot = &ring_[b % ring_.size()];
  const size_t user_floats = static_cast<size_t>(context_.users->dim());
  const BatchPlan& plan = slot->plan;
  slot->user_grads.assign(plan.user_keys.size() * user_floats, 0.0f);
  slot->item_grads.assign(slot->item_rows.size(), 0.0f);
  // Example i reads the rows of its user and item slots, and adds to their gradients.
  models::RowLookup fields[3];
  models::RowLookup& user = fields[0];
  models::RowLookup& item = fields[1];
  user.index = plan.user_slot.data();
  user.grads = slot->user_grads.data();
  if (local_users_) {
    // LOCAL users: the kernel reads their rows in place, through one address per batch user.
    const std::span<float* const> row_of_dense = local_users_->row_of_dense();
    slot->user_row_addresses.resize(plan.user_keys.size());
    for (size_t u = 0; u < plan.user_dense.size(); ++u) {
      slot->user_row_addresses[u] = row_of_dense[plan.user_dense[u]];
    }
    user.addresses = slot->user_row_addresses.data();
  } else {
    user.rows = slot->user_rows.data();
    user.stride = user_floats;
  }
  item.rows = slot->item_rows.data();
  item.stride = static_cast<size_t>(context_.items->dim());
  item.index = plan.item_slot.data();
  item.grads = slot->item_grads.data();
  // Pairwise models read a third field: the negative item, from the same item rows.
  const size_t num_fields = context_.model->fields().size();
  if (num_fields == 3) {
    fields[2] = item;
    fields[2].index = plan.neg_slot.data();
  }
  models::ExampleBatch batch;
  batch.size = plan.rating.size();
  batch.labels = plan.rating.data();
  batch.fields = std::span<const models::RowLookup>(fields, num_fields);
  if (has_dense()) {
    context_.dense->MakeViews(&slot->dense);
    batch.dense = slot->dense.views;
  }
  sums->squared_error += context_.model->AccumulateGradients(batch);
  sums->ratings += plan.ratings;
  // The worker does not see the servers' AdaGrad accumulators, so only SGD steps are
  // scaled (shared_row_changes.h).
  if (item_scaler_.active() &&
      context_.items->optimizer().kind() == config::OptimizerConfig::SGD) {
    const size_t item_floats = static_cast<size_t>(context_.items->dim());
    const float lr = epoch_.item_lr;
    item_scaler_.Scale({plan.item_slot, plan.neg_slot}, plan.item_keys.size(), item_floats,
                       item_floats, {&lr, 1}, slot->item_grads);
  }
  // Dense and items first: their pushes go on the wire while the user rows are updated here.
  if (has_dense()) RETURN_IF_ERROR(context_.dense->PushGradients(slot->dense));
  RETURN_IF_ERROR(context_.items->Push(plan.item_keys, slot->item_grads, epoch_.item_lr));
  if (!local_users_) return context_.users->Push(plan.user_keys, slot->user_grads, epoch_.user_lr);
  UpdateLocalUsers(*slot);
  return Status::OK();
}

void GradientPush::UpdateLocalUsers(const InFlight& slot) {
  const size_t stride = static_cast<size_t>(context_.users->dim());
  table::EmbeddingTable& table = local_users_->table();
  const size_t users = slot.plan.user_dense.size();
  for (size_t u = 0; u < users; ++u) {
    if (u + 4 < users) {  // the rows are scattered over the arena
      const char* ahead = reinterpret_cast<const char*>(slot.user_row_addresses[u + 4]);
      for (size_t b = 0; b < stride * sizeof(float); b += 64) __builtin_prefetch(ahead + b, 1);
    }
    table.UpdateRowInPlace(slot.user_row_addresses[u], slot.user_grads.data() + u * stride,
                           epoch_.user_lr);
  }
}

}  // namespace psrec::train
