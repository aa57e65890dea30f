#include "train/delta_push.h"

#include <span>
#include <utility>

#include "models/mf/mf_steps.h"

namespace psrec::train {
namespace {

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
    : context_(context), pull_ahead_(PullsAhead(context)) {
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
  return AwaitRows(local_users_ ? nullptr : context_.users, context_.items, &SlotOf(b));
}

Status DeltaPush::SendPull(size_t batch) {
  const int clock =
      context_.clocks->ClockOfBatch(epoch_.first_global_batch + static_cast<int64_t>(batch));
  const size_t dim = static_cast<size_t>(context_.params->factors) + 1;
  PulledBatch* slot = &SlotOf(batch);
  slot->rows_ready = false;
  if (!pull_ahead_) {
    // One pull at a time: take over the previous batch's buffers (it is done) rather than
    // keep a second set of 10+ MB row buffers for 1M-rating batches.
    PulledBatch& previous = SlotOf(batch + 1);
    slot->item_rows.swap(previous.item_rows);
    slot->user_rows.swap(previous.user_rows);
  }
  slot->item_rows.resize(slot->plan.item_keys.size() *
                         (dim + static_cast<size_t>(context_.items->state_floats())));
  if (!local_users_) {
    slot->user_rows.resize(slot->plan.user_keys.size() *
                           (dim + static_cast<size_t>(context_.users->state_floats())));
    ASSIGN_OR_RETURN(slot->user_ticket,
                     context_.users->BeginPullWithState(slot->plan.user_keys,
                                                        slot->user_rows.data(), clock));
  }
  ASSIGN_OR_RETURN(slot->item_ticket,
                   context_.items->BeginPullWithState(slot->plan.item_keys,
                                                      slot->item_rows.data(), clock));
  return Status::OK();
}

void DeltaPush::Step(PulledBatch* slot, double* squared_error) {
  const models::MfParams& params = *context_.params;
  const BatchPlan& plan = slot->plan;
  const models::RowStep user_step{&context_.users->optimizer(), epoch_.user_lr,
                                  context_.users->state_floats()};
  const models::RowStep item_step{&context_.items->optimizer(), epoch_.item_lr,
                                  context_.items->state_floats()};
  if (!local_users_) {
    *squared_error += models::StepMfRatings(params, user_step, item_step,
                                            slot->user_rows.data(), plan.user_slot,
                                            plan.item_slot, plan.rating, slot->item_rows.data(),
                                            &step_scratch_);
    return;
  }
  // LOCAL users: the batch's ratings in the packed array, in one or (wrapping around its
  // end) two parts, each part's error added on its own (the sum's rounding is the one a
  // run has always had).
  const std::span<const uint32_t> item_slot(plan.item_slot);
  const size_t first = plan.packed_first.size();
  for (const auto& [ratings, slots] :
       {std::pair(plan.packed_first, item_slot.first(first)),
        std::pair(plan.packed_second, item_slot.subspan(first))}) {
    if (ratings.empty()) continue;
    *squared_error +=
        local_users_->contiguous()
            ? models::StepMfRatings(params, user_step, item_step, local_users_->first_row(),
                                    ratings, slots, slot->item_rows.data(), &step_scratch_)
            : models::StepMfRatings(params, user_step, item_step, local_users_->row_of_dense(),
                                    ratings, slots, slot->item_rows.data(), &step_scratch_);
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
  Step(slot, &sums->squared_error);
  sums->ratings += plan.ratings;
  const std::span<const float> base(base_rows_);
  models::ToRowChanges(slot->item_rows, base.first(slot->item_rows.size()));
  RETURN_IF_ERROR(context_.items->PushDelta(plan.item_keys, slot->item_rows));
  if (local_users_) return Status::OK();
  models::ToRowChanges(slot->user_rows, base.subspan(slot->item_rows.size()));
  return context_.users->PushDelta(plan.user_keys, slot->user_rows);
}

Status DeltaPush::FinishBatch(size_t b) {
  const size_t batches = static_cast<size_t>(context_.batches->batches_per_epoch());
  if (!pull_ahead_ || b + 1 >= batches) return Status::OK();
  return CarryChanges(SlotOf(b), &SlotOf(b + 1));
}

Status DeltaPush::CarryChanges(const PulledBatch& done, PulledBatch* next) {
  RETURN_IF_ERROR(AwaitRows(local_users_ ? nullptr : context_.users, context_.items, next));
  const size_t dim = static_cast<size_t>(context_.params->factors) + 1;
  models::AddChangesToSharedRows(done.plan.item_dense, done.item_rows, next->plan.item_dense,
                                 next->item_rows,
                                 dim + static_cast<size_t>(context_.items->state_floats()),
                                 &carry_item_slot_);
  if (local_users_) return Status::OK();
  models::AddChangesToSharedRows(done.plan.user_dense, done.user_rows, next->plan.user_dense,
                                 next->user_rows,
                                 dim + static_cast<size_t>(context_.users->state_floats()),
                                 &carry_user_slot_);
  return Status::OK();
}

}  // namespace psrec::train
