// Row changes for worker-side updates (training.update_mode DELTAS): a worker steps its
// pulled copies of rows, then pushes each row's change (payload and optimizer state) for
// the row's owner to add.
//
// Thread safety: pure functions over the caller's buffers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace psrec::train {

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

}  // namespace psrec::train
