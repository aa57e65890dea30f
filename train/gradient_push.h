// GradientPush: training.update_mode GRADIENTS. For each batch: pull the user and item rows,
// accumulate the batch's gradients (models::AccumulateMfGradients) and push them; the rows'
// owners apply them with the table's optimizer. Pulls for up to training.pipeline_depth
// batches are in flight ahead of compute, so compute hides network time (an async pull may
// then miss the pushes of the batches just before it; BSP/SSP bound that; a stale gradient
// is one step, never counted twice). LOCAL users are read in place and updated in place
// after the items' push went on the wire. A model's dense tables are pulled whole with each
// batch's rows and their gradient pushed with the items' (train/dense_tables.h).
//
// Thread safety: one thread. Contract of the calls: train/update_mode.h.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "train/local_user_rows.h"
#include "train/shared_row_changes.h"
#include "train/update_mode.h"

namespace psrec::train {

class GradientPush : public UpdateMode {
 public:
  explicit GradientPush(const UpdateModeContext& context);

  std::string Describe() const override { return ""; }
  std::string DivergenceAdvice() const override;
  void StartEpoch(const EpochStart& epoch) override;
  Status PrepareBatch(size_t b) override;
  Status TrainBatch(size_t b, TrainSums* sums) override;
  Status FinishBatch(size_t /*b*/) override { return Status::OK(); }

 private:
  struct InFlight : PulledBatch {
    std::vector<float> user_grads, item_grads;
    std::vector<float*> user_row_addresses;  // LOCAL users: rows in the table
  };
  Status SendPull(size_t batch, InFlight* slot);
  bool has_dense() const { return context_.dense != nullptr && !context_.dense->empty(); }
  // Updates LOCAL user rows in place with the batch's user gradients.
  void UpdateLocalUsers(const InFlight& slot);

  const UpdateModeContext context_;
  std::optional<LocalUserRows> local_users_;  // LOCAL users: trained in place
  std::vector<InFlight> ring_;                // training.pipeline_depth batches
  SharedRowScaler item_scaler_;
  EpochStart epoch_;
  size_t issued_ = 0;                         // batches of this epoch pulled so far
};

}  // namespace psrec::train
