// Sequential SGD for biased MF (training.update_mode DELTAS): each rating of a batch takes
// one optimizer step on its user row and its item row right away, in place, as a
// shared-memory trainer would. The caller pushes each row's change afterwards.
//
// A row here is the table's payload (factors, then the bias: dim = factors + 1 floats)
// followed by the optimizer's state (state_floats), the layout of an table::EmbeddingTable row and
// of PsClient::PullWithState. Gradients are those of mf_gradients.h, per rating; the step is
// the table's optimizer (table/optimizer.h), so one worker reproduces the server's AdaGrad
// exactly and several workers' accumulator increments add up on the server.
//
// Thread safety: pure functions over the caller's rows; one thread per set of rows.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "table/optimizer.h"
#include "data/packed_rating.h"
#include "models/mf/mf_gradients.h"

namespace psrec::models {

// How to step one table's rows.
struct RowStep {
  const table::Optimizer* optimizer = nullptr;
  float learning_rate = 0;
  int state_floats = 0;  // after the dim payload floats of every row
};

// Steps ratings i in [0, item_slot.size()) in order on user row U(i) and item row
// item_rows + item_slot[i] * (dim + items.state_floats), dim = params.factors + 1. Returns
// the sum of squared errors before each step. `scratch` grows as needed (no allocation once
// grown). The overloads differ in where rating i's user row and value are:
//   pulled copies (REMOTE users): U(i) = user_rows + user_slot[i] * (dim + users.state_floats),
//     value rating[i];
//   LOCAL users, ratings read from the trainer's packed array (no per-batch copies of user
//     indices and values): U(i) = user_row_by_dense[ratings[i].user], or
//     user_rows + ratings[i].user * (dim + users.state_floats) when the rows are one array.
double StepMfRatings(const MfParams& params, const RowStep& users, const RowStep& items,
                     float* user_rows, std::span<const uint32_t> user_slot,
                     std::span<const uint32_t> item_slot, std::span<const float> rating,
                     float* item_rows, std::vector<float>* scratch);
double StepMfRatings(const MfParams& params, const RowStep& users, const RowStep& items,
                     std::span<float* const> user_row_by_dense,
                     std::span<const data::PackedRating> ratings, std::span<const uint32_t> item_slot,
                     float* item_rows, std::vector<float>* scratch);
double StepMfRatings(const MfParams& params, const RowStep& users, const RowStep& items,
                     float* user_rows, std::span<const data::PackedRating> ratings,
                     std::span<const uint32_t> item_slot, float* item_rows,
                     std::vector<float>* scratch);

// rows[j] -= base[j] for every float: stepped rows become the changes to push, in place (for
// 1M-rating batches a separate buffer would be another 10+ MB).
void ToRowChanges(std::span<float> rows, std::span<const float> base);

// For every row that both batches hold (same dense index in done_dense and next_dense):
// next_rows[row] += done_changes[row], `stride` floats per row. Rows of the next batch that
// were pulled before the done batch's changes were pushed then hold them, as the servers'
// rows will. slot_of_dense: scratch indexed by dense index, all kNoSlot before and after
// (grown here when a dense index is beyond it).
inline constexpr uint32_t kNoSlot = UINT32_MAX;
void AddChangesToSharedRows(std::span<const uint32_t> done_dense,
                            std::span<const float> done_changes,
                            std::span<const uint32_t> next_dense, std::span<float> next_rows,
                            size_t stride, std::vector<uint32_t>* slot_of_dense);

}  // namespace psrec::models
