#include "train/row_changes.h"

#include <gtest/gtest.h>

#include <span>
#include <vector>

namespace psrec::train {
namespace {

TEST(RowChangesTest, RowChangesAreNewMinusBase) {
  std::vector<float> rows = {1.5f, -2, 0};
  ToRowChanges(rows, std::vector<float>{1, 1, 0});
  EXPECT_EQ(rows, (std::vector<float>{0.5f, -3, 0}));
}

// Rows are matched by dense index, not by slot: dense 2 is slot 1 of the done batch and slot 0
// of the next; dense 7 is only in the next batch and keeps its pulled value.
TEST(RowChangesTest, ChangesCarryToTheRowsBothBatchesHold) {
  const std::vector<uint32_t> done_dense = {5, 2};
  const std::vector<float> done_changes = {0.5f, 1, -1, 2};
  const std::vector<uint32_t> next_dense = {2, 7, 5};
  std::vector<float> next_rows = {10, 10, 20, 20, 30, 30};
  std::vector<uint32_t> scratch;
  AddChangesToSharedRows(done_dense, done_changes, next_dense, next_rows, 2, &scratch);
  EXPECT_EQ(next_rows, (std::vector<float>{9, 12, 20, 20, 30.5f, 31}));
  for (uint32_t slot : scratch) EXPECT_EQ(slot, kNoSlot) << "scratch left for the next call";
  const std::vector<uint32_t> only_new = {7};
  AddChangesToSharedRows(done_dense, done_changes, only_new,
                         std::span<float>(next_rows).first(2), 2, &scratch);
  EXPECT_EQ(next_rows[0], 9) << "dense 7 was not in the done batch";
}

}  // namespace
}  // namespace psrec::train
