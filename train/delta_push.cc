#include "train/delta_push.h"

#include "train/row_changes.h"

#include <algorithm>
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
  const config::TrainingConfig& training = context.job->training();
  step_by_part_ = training.rating_order() == config::BY_TILE;
  const int threads = std::max(1, training.compute_threads());
  if (threads > 1) pool_.emplace(threads);
  step_scratch_.resize(static_cast<size_t>(threads));
}

std::string DeltaPush::Describe() const {
  std::string text = pull_ahead_ ? ", DELTAS (next batch pulled ahead)"
                                 : ", DELTAS (next batch pulled after the push)";
  if (const BatchSource* batches = context_.batches; batches != nullptr &&
                                                      batches->tiles().tiles() > 0) {
    text += batches->tile_user_blocks() > 0
                ? ", tiles by user block (" + std::to_string(batches->tile_user_blocks()) +
                      " a batch)"
                : ", tiles in rounds";
  }
  if (pool_) text += ", " + std::to_string(pool_->threads()) + " compute threads";
  return text;
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
  batch.steppers = std::span<const models::RowStepper>(steppers, num_fields);
  if (has_dense()) batch.dense = slot->dense.views;
  if (!local_users_) {
    user.rows = slot->user_rows.data();
    user.stride = RowFloats(*context_.users);
    if (!step_by_part_) {
      user.index = plan.user_slot.data();
      item.index = plan.item_slot.data();
      negative.index = plan.neg_slot.data();
      batch.fields = std::span<const models::RowLookup>(fields, num_fields);
      batch.size = plan.rating.size();
      batch.labels = plan.rating.data();
      *squared_error += context_.model->Step(batch, &step_scratch_[0]);
      return;
    }
  } else if (local_users_->contiguous()) {
    // LOCAL users in place, found by the dense user index inside the packed ratings (no
    // per-batch copies).
    user.rows = local_users_->first_row();
    user.stride = RowFloats(*context_.users);
  } else {
    user.addresses = local_users_->row_of_dense().data();
  }
  // Part by part (a batch wrapping around the packed array's end, BY_TILE's tiles), each
  // part's error added on its own, in part order whatever thread stepped it (so the sum's
  // rounding does not depend on training.compute_threads).
  part_offset_.resize(plan.parts.size());
  for (size_t p = 0, at = 0; p < plan.parts.size(); ++p) {
    part_offset_[p] = at;
    at += plan.parts[p].size();
  }
  part_error_.assign(plan.parts.size(), 0.0);
  auto step_part = [&](size_t p, int thread) {
    models::RowLookup own[3] = {user, item, negative};
    const std::span<const data::PackedRating> ratings = plan.parts[p];
    const size_t at = part_offset_[p];
    models::ExampleBatch part = batch;
    part.fields = std::span<const models::RowLookup>(own, num_fields);
    part.size = ratings.size();
    own[1].index = plan.item_slot.data() + at;
    if (!plan.neg_slot.empty()) own[2].index = plan.neg_slot.data() + at;
    if (local_users_) {
      own[0].index = &ratings.data()->user;
      own[0].index_stride = sizeof(data::PackedRating) / sizeof(uint32_t);
      part.label_stride = sizeof(data::PackedRating) / sizeof(float);
      part.labels = &ratings.data()->rating;
    } else {
      own[0].index = plan.user_slot.data() + at;
      part.labels = plan.rating.data() + at;
    }
    part_error_[p] = context_.model->Step(part, &step_scratch_[static_cast<size_t>(thread)]);
  };
  for (size_t p = 0; p < plan.parts.size();) {
    // A run of parts of one round shares no row: the pool steps them at once.
    size_t end = p + 1;
    while (pool_ && end < plan.parts.size() && plan.part_round[end] == plan.part_round[p]) ++end;
    if (end - p == 1) {
      step_part(p, 0);
    } else {
      pool_->Run(end - p, [&](size_t t, int thread) { step_part(p + t, thread); });
    }
    p = end;
  }
  for (const double e : part_error_) *squared_error += e;
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
