#include "train/delta_push.h"

#include "train/row_changes.h"

#include <cmath>
#include <span>
#include <utility>


namespace psrec::train {
namespace {

// Floats per pulled row: the payload, then the optimizer state the worker steps.
size_t RowFloats(const TableAccess& table) {
  return static_cast<size_t>(table.dim() + table.state_floats());
}

// Pulling ahead is exact only where a pull is answered in connection order (delta_push.h).
bool PullsAhead(const UpdateModeContext& context) {
  const config::TrainingConfig& training = context.job->training();
  if (training.consistency() != config::ASP) return false;
  switch (training.pull_ahead()) {
    case config::TrainingConfig::ALWAYS: return true;
    case config::TrainingConfig::NEVER: return false;
    default: return context.client != nullptr && !context.client->AllServersOnThisHost();
  }
}

}  // namespace

DeltaPush::DeltaPush(const UpdateModeContext& context)
    : context_(context),
      pull_ahead_(PullsAhead(context)),
      item_scaler_(context.job->training().shared_row_changes(), context.workers) {
  if (table::EmbeddingTable* table = context.users->local_table()) {
    local_users_.emplace(table, context.user_ids, /*keep_addresses=*/false);
  }
}

std::string DeltaPush::Describe() const {
  return pull_ahead_ ? ", DELTAS (next batch pulled ahead)"
                     : ", DELTAS (next batch pulled after the push)";
}

void DeltaPush::StartEpoch(const EpochStart& epoch) {
  epoch_ = epoch;
  if (has_dense()) context_.dense->StartEpoch(epoch.epoch);
  if (local_users_) local_users_->Resolve();
  Plan(0);
}

void DeltaPush::Plan(size_t batch) {
  // LOCAL users stepped in place need no user keys: the kernel reads the packed ratings.
  context_.batches->Plan(batch, &SlotOf(batch).plan, /*items_only=*/local_users_.has_value());
}

Status DeltaPush::PrepareBatch(size_t b) {
  const size_t batches = static_cast<size_t>(context_.batches->batches_per_epoch());
  if (!pull_ahead_ || b == 0) RETURN_IF_ERROR(SendPull(b));
  if (b + 1 < batches) {
    Plan(b + 1);
    if (pull_ahead_) RETURN_IF_ERROR(SendPull(b + 1));
  }
  RETURN_IF_ERROR(AwaitRows(local_users_ ? nullptr : context_.users, context_.items, &SlotOf(b)));
  return has_dense() ? context_.dense->Await(&SlotOf(b).dense) : Status::OK();
}

Status DeltaPush::SendPull(size_t batch) {
  const int clock =
      context_.clocks->ClockOfBatch(epoch_.first_global_batch + static_cast<int64_t>(batch));
  PulledBatch* slot = &SlotOf(batch);
  slot->rows_ready = false;
  if (!pull_ahead_) {
    // One pull at a time: take over the previous batch's buffers (it is done) rather than
    // keep a second set of 10+ MB row buffers for 1M-rating batches.
    PulledBatch& previous = SlotOf(batch + 1);
    slot->item_rows.swap(previous.item_rows);
    slot->user_rows.swap(previous.user_rows);
  }
  slot->item_rows.resize(slot->plan.item_keys.size() * RowFloats(*context_.items));
  if (!local_users_) {
    slot->user_rows.resize(slot->plan.user_keys.size() * RowFloats(*context_.users));
    ASSIGN_OR_RETURN(slot->user_ticket,
                     context_.users->BeginPullWithState(slot->plan.user_keys,
                                                        slot->user_rows.data(), clock));
  }
  ASSIGN_OR_RETURN(slot->item_ticket,
                   context_.items->BeginPullWithState(slot->plan.item_keys,
                                                      slot->item_rows.data(), clock));
  if (has_dense()) RETURN_IF_ERROR(context_.dense->BeginPull(clock, true, &slot->dense));
  return Status::OK();
}

void DeltaPush::Step(PulledBatch* slot, double* squared_error) {
  const BatchPlan& plan = slot->plan;
  const models::RowStepper item_stepper = {&context_.items->optimizer(), epoch_.item_lr,
                                           context_.items->state_floats()};
  const models::RowStepper steppers[3] = {
      {&context_.users->optimizer(), epoch_.user_lr, context_.users->state_floats()},
      item_stepper, item_stepper};
  // Pairwise models read a third field: the negative item, from the same item rows.
  const size_t num_fields = context_.model->fields().size();
  models::RowLookup fields[3];
  models::RowLookup& user = fields[0];
  models::RowLookup& item = fields[1];
  item.rows = slot->item_rows.data();
  item.stride = RowFloats(*context_.items);
  models::RowLookup& negative = fields[2];
  negative.rows = item.rows;
  negative.stride = item.stride;
  models::ExampleBatch batch;
  batch.fields = std::span<const models::RowLookup>(fields, num_fields);
  batch.steppers = std::span<const models::RowStepper>(steppers, num_fields);
  if (has_dense()) batch.dense = slot->dense.views;
  if (!local_users_) {
    user.rows = slot->user_rows.data();
    user.stride = RowFloats(*context_.users);
    user.index = plan.user_slot.data();
    item.index = plan.item_slot.data();
    negative.index = plan.neg_slot.data();
    batch.size = plan.rating.size();
    batch.labels = plan.rating.data();
    *squared_error += context_.model->Step(batch, &step_scratch_);
    return;
  }
  // LOCAL users in place, found by the dense user index inside the packed ratings (no
  // per-batch copies): the batch's ratings in the packed array, in one or (wrapping around
  // its end) two parts, each part's error added on its own (the sum's rounding is the one
  // a run has always had).
  if (local_users_->contiguous()) {
    user.rows = local_users_->first_row();
    user.stride = RowFloats(*context_.users);
  } else {
    user.addresses = local_users_->row_of_dense().data();
  }
  user.index_stride = sizeof(data::PackedRating) / sizeof(uint32_t);
  batch.label_stride = sizeof(data::PackedRating) / sizeof(float);
  const std::span<const uint32_t> item_slot(plan.item_slot);
  const size_t first = plan.packed_first.size();
  for (const auto& [ratings, slots] :
       {std::pair(plan.packed_first, item_slot.first(first)),
        std::pair(plan.packed_second, item_slot.subspan(first))}) {
    if (ratings.empty()) continue;
    user.index = &ratings.data()->user;
    item.index = slots.data();
    // Implicit batches are one part (packed_first spans plan.expanded).
    if (!plan.neg_slot.empty()) {
      negative.index = plan.neg_slot.data() + (ratings.data() == plan.packed_first.data() ? 0 : first);
    }
    batch.size = ratings.size();
    batch.labels = &ratings.data()->rating;
    *squared_error += context_.model->Step(batch, &step_scratch_);
  }
}

Status DeltaPush::TrainBatch(size_t b, TrainSums* sums) {
  PulledBatch* slot = &SlotOf(b);
  const BatchPlan& plan = slot->plan;
  // The pulled rows as they arrived (items, then REMOTE users): each row's change is its
  // value after the batch's steps minus this.
  base_rows_.assign(slot->item_rows.begin(), slot->item_rows.end());
  if (!local_users_) {
    base_rows_.insert(base_rows_.end(), slot->user_rows.begin(), slot->user_rows.end());
  }
  if (has_dense()) context_.dense->MakeViews(&slot->dense);
  Step(slot, &sums->squared_error);
  sums->ratings += plan.ratings;
  const std::span<const float> base(base_rows_);
  ToRowChanges(slot->item_rows, base.first(slot->item_rows.size()));
  // Scaled before the carry (FinishBatch), so the next batch sees what the servers add.
  if (item_scaler_.active()) ScaleSharedItemChanges(slot, base.first(slot->item_rows.size()));
  RETURN_IF_ERROR(context_.items->PushDelta(plan.item_keys, slot->item_rows));
  if (has_dense()) RETURN_IF_ERROR(context_.dense->PushChanges(&slot->dense));
  if (local_users_) return Status::OK();
  ToRowChanges(slot->user_rows, base.subspan(slot->item_rows.size()));
  return context_.users->PushDelta(plan.user_keys, slot->user_rows);
}

void DeltaPush::ScaleSharedItemChanges(PulledBatch* slot, std::span<const float> base) {
  const BatchPlan& plan = slot->plan;
  const size_t rows = plan.item_keys.size();
  const size_t stride = RowFloats(*context_.items);
  const size_t dim = static_cast<size_t>(context_.items->dim());
  const size_t state = static_cast<size_t>(context_.items->state_floats());
  if (context_.items->optimizer().kind() != config::OptimizerConfig::ADAGRAD || state == 0) {
    const float lr = epoch_.item_lr;
    item_scaler_.Scale({plan.item_slot, plan.neg_slot}, rows, stride, dim, {&lr, 1},
                       slot->item_rows);
    return;
  }
  // AdaGrad's step is the rate over the root of the accumulator: take the row's mean
  // accumulator halfway through the batch (pulled value plus half its change).
  item_steps_.resize(rows);
  for (size_t r = 0; r < rows; ++r) {
    const float* pulled = base.data() + r * stride + dim;
    const float* change = slot->item_rows.data() + r * stride + dim;
    double sum = 0;
    for (size_t k = 0; k < state; ++k) sum += pulled[k] + 0.5 * change[k];
    const double mean = sum / static_cast<double>(state);
    item_steps_[r] = mean > 0 ? static_cast<float>(epoch_.item_lr / std::sqrt(mean)) : 0.0f;
  }
  item_scaler_.Scale({plan.item_slot, plan.neg_slot}, rows, stride, dim, item_steps_,
                     slot->item_rows);
}

Status DeltaPush::FinishBatch(size_t b) {
  const size_t batches = static_cast<size_t>(context_.batches->batches_per_epoch());
  if (!pull_ahead_ || b + 1 >= batches) return Status::OK();
  return CarryChanges(SlotOf(b), &SlotOf(b + 1));
}

Status DeltaPush::CarryChanges(const PulledBatch& done, PulledBatch* next) {
  RETURN_IF_ERROR(AwaitRows(local_users_ ? nullptr : context_.users, context_.items, next));
  if (has_dense()) {
    RETURN_IF_ERROR(context_.dense->Await(&next->dense));
    DenseTables::CarryChanges(done.dense, &next->dense);
  }
  AddChangesToSharedRows(done.plan.item_dense, done.item_rows, next->plan.item_dense,
                         next->item_rows, RowFloats(*context_.items), &carry_item_slot_);
  if (local_users_) return Status::OK();
  AddChangesToSharedRows(done.plan.user_dense, done.user_rows, next->plan.user_dense,
                         next->user_rows, RowFloats(*context_.users), &carry_user_slot_);
  return Status::OK();
}

}  // namespace psrec::train
