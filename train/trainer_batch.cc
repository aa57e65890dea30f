// What the trainer does with one batch: plan its keys and pull their rows (PlanBatch,
// SendPull), then train on it and send the updates back (ComputeAndPush), as summed
// gradients or as the rows' changes after worker-side steps (training.update_mode).
#include <chrono>
#include <thread>

#include "train/row_changes.h"
#include "train/trainer.h"

namespace psrec::train {
namespace {

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

void Trainer::PlanBatch(size_t batch, InFlight* slot) {
  const size_t n = packed_.size();
  const size_t slice = batch_order_[batch];
  const size_t begin = batch_offset_ + n * slice / batches_per_epoch_;
  const size_t end = batch_offset_ + n * (slice + 1) / batches_per_epoch_;
  const std::span<const data::PackedRating> all(packed_);
  // LOCAL users stepped in place need no user keys: the kernel reads the packed ratings.
  const bool items_only = direct_table_ != nullptr && deltas_;
  if (end <= n) {
    planner_.BuildPacked(all.subspan(begin, end - begin), {}, &slot->plan, items_only);
  } else if (begin >= n) {
    planner_.BuildPacked(all.subspan(begin - n, end - begin), {}, &slot->plan, items_only);
  } else {
    planner_.BuildPacked(all.subspan(begin), all.subspan(0, end - n), &slot->plan, items_only);
  }
}

Status Trainer::SendPull(size_t batch, InFlight* slot) {
  const int clock = ClockOfBatch(global_batch_ + static_cast<int64_t>(batch));
  const size_t item_stride =
      static_cast<size_t>(item_dim_) + (deltas_ ? items_->state_floats() : 0);
  slot->rows_ready = false;
  if (deltas_ && !pull_ahead_) {
    // One pull at a time: take over the previous batch's buffers (it is done) rather than
    // keep a second set of 10+ MB row buffers for 1M-rating batches.
    InFlight& previous = ring_[(batch + 1) % ring_.size()];
    if (&previous != slot) {
      slot->item_rows.swap(previous.item_rows);
      slot->user_rows.swap(previous.user_rows);
    }
  }
  slot->item_rows.resize(slot->plan.item_keys.size() * item_stride);
  if (direct_table_ == nullptr) {
    const size_t user_stride =
        static_cast<size_t>(user_dim_) + (deltas_ ? users_->state_floats() : 0);
    slot->user_rows.resize(slot->plan.user_keys.size() * user_stride);
    ASSIGN_OR_RETURN(slot->user_ticket,
                     deltas_ ? users_->BeginPullWithState(slot->plan.user_keys,
                                                          slot->user_rows.data(), clock)
                             : users_->BeginPull(slot->plan.user_keys, slot->user_rows.data(),
                                                 clock));
  }
  ASSIGN_OR_RETURN(slot->item_ticket,
                   deltas_ ? items_->BeginPullWithState(slot->plan.item_keys,
                                                        slot->item_rows.data(), clock)
                           : items_->BeginPull(slot->plan.item_keys, slot->item_rows.data(),
                                               clock));
  return Status::OK();
}

Status Trainer::AwaitRows(InFlight* slot) {
  if (slot->rows_ready) return Status::OK();
  if (direct_table_ == nullptr) RETURN_IF_ERROR(users_->EndPull(slot->user_ticket));
  RETURN_IF_ERROR(items_->EndPull(slot->item_ticket));
  slot->rows_ready = true;
  return Status::OK();
}

// On every connection the next batch's pull went out before this batch's push, so the
// servers answered it without this batch's changes (and with everything pushed earlier).
// Adding them here gives the rows the servers now hold, as far as this worker's changes go:
// with one worker, exactly what pulling after the push would give, bit for bit.
Status Trainer::CarryChanges(const InFlight& done, InFlight* next) {
  RETURN_IF_ERROR(AwaitRows(next));
  AddChangesToSharedRows(done.plan.item_dense, done.item_rows, next->plan.item_dense,
                         next->item_rows, static_cast<size_t>(item_dim_ + items_->state_floats()),
                         &carry_item_slot_);
  if (direct_table_ == nullptr) {
    AddChangesToSharedRows(done.plan.user_dense, done.user_rows, next->plan.user_dense,
                           next->user_rows,
                           static_cast<size_t>(user_dim_ + users_->state_floats()),
                           &carry_user_slot_);
  }
  return Status::OK();
}

Status Trainer::ComputeAndPush(InFlight* slot, float user_lr, float item_lr, double* sse) {
  RETURN_IF_ERROR(AwaitRows(slot));
  const double start = Now();
  if (deltas_) {
    RETURN_IF_ERROR(StepAndPushDeltas(slot, user_lr, item_lr, sse));
  } else {
    RETURN_IF_ERROR(AccumulateAndPushGradients(slot, user_lr, item_lr, sse));
  }
  if (options_.compute_slowdown > 1) {
    std::this_thread::sleep_for(
        std::chrono::duration<double>((Now() - start) * (options_.compute_slowdown - 1)));
  }
  return Status::OK();
}

Status Trainer::AccumulateAndPushGradients(InFlight* slot, float user_lr, float item_lr,
                                           double* sse) {
  const bool direct = direct_table_ != nullptr;
  const size_t stride = static_cast<size_t>(user_dim_);
  const BatchPlan& plan = slot->plan;
  slot->user_grads.assign(plan.user_keys.size() * stride, 0.0f);
  slot->item_grads.assign(slot->item_rows.size(), 0.0f);
  // Example i reads the rows of its user and item slots; LOCAL users in place, by address.
  models::RowLookup lookups[2];
  models::RowLookup& user = lookups[0];
  models::RowLookup& item = lookups[1];
  user.index = plan.user_slot.data();
  user.grads = slot->user_grads.data();
  if (direct) {
    slot->user_row_addresses.resize(plan.user_keys.size());
    for (size_t u = 0; u < plan.user_dense.size(); ++u) {
      slot->user_row_addresses[u] = direct_users_[plan.user_dense[u]];
    }
    user.addresses = slot->user_row_addresses.data();
  } else {
    user.rows = slot->user_rows.data();
    user.stride = stride;
  }
  item.rows = slot->item_rows.data();
  item.stride = static_cast<size_t>(item_dim_);
  item.index = plan.item_slot.data();
  item.grads = slot->item_grads.data();
  models::ExampleBatch batch;
  batch.size = plan.rating.size();
  batch.labels = plan.rating.data();
  batch.fields = lookups;
  *sse += model_->AccumulateGradients(batch);
  // Items first: their push goes on the wire while the user rows are updated here.
  RETURN_IF_ERROR(items_->Push(plan.item_keys, slot->item_grads, item_lr));
  if (!direct) return users_->Push(plan.user_keys, slot->user_grads, user_lr);
  const size_t users = plan.user_dense.size();
  for (size_t u = 0; u < users; ++u) {
    if (u + 4 < users) {  // the rows are scattered over the arena
      const char* ahead = reinterpret_cast<const char*>(slot->user_row_addresses[u + 4]);
      for (size_t b = 0; b < stride * sizeof(float); b += 64) __builtin_prefetch(ahead + b, 1);
    }
    direct_table_->UpdateRowInPlace(slot->user_row_addresses[u],
                                    slot->user_grads.data() + u * stride, user_lr);
  }
  return Status::OK();
}

Status Trainer::StepAndPushDeltas(InFlight* slot, float user_lr, float item_lr, double* sse) {
  const BatchPlan& plan = slot->plan;
  const models::RowStepper steppers[2] = {
      {&users_->optimizer(), user_lr, users_->state_floats()},
      {&items_->optimizer(), item_lr, items_->state_floats()}};
  const size_t user_stride = static_cast<size_t>(user_dim_ + users_->state_floats());
  models::RowLookup lookups[2];
  models::RowLookup& user = lookups[0];
  models::RowLookup& item = lookups[1];
  item.rows = slot->item_rows.data();
  item.stride = static_cast<size_t>(item_dim_ + items_->state_floats());
  models::ExampleBatch batch;
  batch.fields = lookups;
  batch.steppers = steppers;
  // The pulled rows as they arrived: each row's change is its value after the batch's
  // steps minus this.
  base_rows_.assign(slot->item_rows.begin(), slot->item_rows.end());
  if (direct_table_ != nullptr) {
    // LOCAL users in place, found by the dense user index of the packed ratings themselves
    // (no per-batch copies), in one or (wrapping around packed_'s end) two parts.
    const std::span<const uint32_t> item_slot(plan.item_slot);
    const size_t first = plan.packed_first.size();
    user.index_stride = sizeof(data::PackedRating) / sizeof(uint32_t);
    batch.label_stride = sizeof(data::PackedRating) / sizeof(float);
    if (direct_contiguous_) {
      user.rows = direct_first_row_;
      user.stride = user_stride;
    } else {
      user.addresses = direct_users_.data();
    }
    for (const auto& [ratings, slots] :
         {std::pair(plan.packed_first, item_slot.first(first)),
          std::pair(plan.packed_second, item_slot.subspan(first))}) {
      if (ratings.empty()) continue;
      user.index = &ratings.data()->user;
      item.index = slots.data();
      batch.size = ratings.size();
      batch.labels = &ratings.data()->rating;
      *sse += model_->Step(batch, &step_scratch_);
    }
  } else {
    // REMOTE users: their base rows go after the items' in the same buffer.
    base_rows_.insert(base_rows_.end(), slot->user_rows.begin(), slot->user_rows.end());
    user.rows = slot->user_rows.data();
    user.stride = user_stride;
    user.index = plan.user_slot.data();
    item.index = plan.item_slot.data();
    batch.size = plan.rating.size();
    batch.labels = plan.rating.data();
    *sse += model_->Step(batch, &step_scratch_);
  }
  const std::span<const float> base(base_rows_);
  ToRowChanges(slot->item_rows, base.first(slot->item_rows.size()));
  RETURN_IF_ERROR(items_->PushDelta(plan.item_keys, slot->item_rows));
  if (direct_table_ != nullptr) return Status::OK();
  ToRowChanges(slot->user_rows, base.subspan(slot->item_rows.size()));
  return users_->PushDelta(plan.user_keys, slot->user_rows);
}

}  // namespace psrec::train
