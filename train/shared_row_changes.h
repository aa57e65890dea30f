// SharedRowScaler: scales the changes a worker pushes for rows that other workers change in
// the same clock (training.shared_row_changes), so that W workers move a popular row about
// as far per epoch as one worker does instead of W times as far.
//
// Why: every worker pulls a shared row (an item) at the start of its batch and computes its
// change from that copy. One worker running the same batches one after another starts each
// from the previous one's result; W workers start from the same row and their changes add
// up. For a row whose batch steps are small (a rarely rated item) the sum is what sequential
// steps give; for a row a batch moves most of the way to its batch optimum (a popular item,
// many examples per batch), the sum overshoots about n times (n workers changing it) and
// diverges once n (1 - c) passes 2.
//
// The rule, per row with m examples in this worker's batch:
//   n = 1 + (W - 1) (1 - e^-m)     expected workers changing the row in the clock (each other
//                                  worker's batch holds it with probability about 1 - e^-m:
//                                  partitions are random user sets);
//   AVERAGE_BY_EXPECTED_WRITERS:   scale 1 / n;
//   SEQUENTIAL_EQUIVALENT:         c = e^(-a m), a = one example's step (learning rate, per
//                                  unit curvature), scale (1 - c^n) / (n (1 - c)), so that n
//                                  scaled changes from one row contract it by c^n, as n
//                                  batches one after another would: 1 for small steps, 1 / n
//                                  for rows a batch moves all the way.
// Measured in docs/training.md ("Several workers").
//
// Cost: one pass over the batch's item slots (a counter per row), two exp per row and one
// multiply per scaled float; nothing per example in the kernel, nothing on the servers.
//
// Thread safety: one thread (the mode's). With one worker, or rule SUM, active() is false and
// Scale must not be called: pushes stay bit for bit what they were.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <vector>

#include "common/proto/config.pb.h"

namespace psrec::train {

class SharedRowScaler {
 public:
  SharedRowScaler(config::TrainingConfig::SharedRowChanges rule, int workers);

  bool active() const { return active_; }

  // Scales the first `scaled_floats` floats of each of the `rows` rows of `values` (row r at
  // r * stride). `slots` lists, per example and field that reads the table, the row it reads
  // (BatchPlan::item_slot, neg_slot), so a row's examples are counted from them. `step` is a
  // one example's step per row (`rows` values), or one value for every row.
  // REQUIRES: active(); every slot < rows; values.size() == rows * stride;
  // scaled_floats <= stride; step.size() is 1 or rows.
  void Scale(std::initializer_list<std::span<const uint32_t>> slots, size_t rows, size_t stride,
             size_t scaled_floats, std::span<const float> step, std::span<float> values);

  // The scale of a row with `examples` in one worker's batch, out of `workers`, each
  // example's step `step`.
  static float ScaleFor(config::TrainingConfig::SharedRowChanges rule, uint32_t examples,
                        int workers, float step);

 private:
  config::TrainingConfig::SharedRowChanges rule_;
  bool active_;
  int workers_;
  std::vector<uint32_t> examples_;  // per row of the batch being scaled
};

}  // namespace psrec::train
