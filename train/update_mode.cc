#include "train/update_mode.h"

#include "train/delta_push.h"
#include "train/federated_round.h"
#include "train/gradient_push.h"

namespace psrec::train {

std::unique_ptr<UpdateMode> MakeUpdateMode(const UpdateModeContext& context) {
  // No default: a mode added to config.proto but not here is a -Wswitch warning.
  switch (context.job->training().update_mode()) {
    case config::DELTAS: return std::make_unique<DeltaPush>(context);
    // The privacy transforms (clip, noise, masks) are wired here once they exist.
    case config::FEDERATED: return std::make_unique<FederatedRound>(context, nullptr);
    case config::GRADIENTS: break;
  }
  return std::make_unique<GradientPush>(context);
}

Status AwaitRows(TableAccess* users, TableAccess* items, PulledBatch* batch) {
  if (batch->rows_ready) return Status::OK();
  if (users != nullptr) RETURN_IF_ERROR(users->EndPull(batch->user_ticket));
  RETURN_IF_ERROR(items->EndPull(batch->item_ticket));
  batch->rows_ready = true;
  return Status::OK();
}

}  // namespace psrec::train
