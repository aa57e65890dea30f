#include "train/update_mode.h"

#include <glog/logging.h>

#include "train/delta_push.h"
#include "train/federated_privacy.h"
#include "train/federated_round.h"
#include "train/gradient_push.h"
#include "train/private_aggregation.h"

namespace psrec::train {

std::unique_ptr<UpdateMode> MakeUpdateMode(const UpdateModeContext& context) {
  // No default: a mode added to config.proto but not here is a -Wswitch warning.
  switch (context.job->training().update_mode()) {
    case config::DELTAS: return std::make_unique<DeltaPush>(context);
    case config::FEDERATED: {
      // cli/worker_runner.cc resolved the settings before training (errors name the field).
      Result<FederatedPrivacySettings> privacy = ResolveFederatedPrivacy(*context.job);
      CHECK(privacy.ok()) << privacy.status().message();
      std::unique_ptr<ClientUpdateTransform> transform;
      if (privacy->any()) {
        Result<std::unique_ptr<PrivateAggregation>> made = PrivateAggregation::Create(
            *privacy, context.job->training().seed(), context.collective->rank(),
            context.collective->size());
        CHECK(made.ok()) << made.status().message();
        transform = std::move(*made);
      }
      return std::make_unique<FederatedRound>(context, *privacy, std::move(transform));
    }
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
