#include "train/row_changes.h"

#include <Eigen/Core>
#include <glog/logging.h>

namespace psrec::train {
namespace {

using ConstVec = Eigen::Map<const Eigen::VectorXf>;
using Vec = Eigen::Map<Eigen::VectorXf>;

void PrefetchForRead(const float* row, size_t floats) {
  const char* bytes = reinterpret_cast<const char*>(row);
  for (size_t offset = 0; offset < floats * sizeof(float); offset += 64) {
    __builtin_prefetch(bytes + offset, 0);
  }
}

}  // namespace

void ToRowChanges(std::span<float> rows, std::span<const float> base) {
  CHECK_EQ(rows.size(), base.size());
  const Eigen::Index n = static_cast<Eigen::Index>(rows.size());
  Vec(rows.data(), n) -= ConstVec(base.data(), n);
}

void AddChangesToSharedRows(std::span<const uint32_t> done_dense,
                            std::span<const float> done_changes,
                            std::span<const uint32_t> next_dense, std::span<float> next_rows,
                            size_t stride, std::vector<uint32_t>* slot_of_dense) {
  CHECK_EQ(done_changes.size(), done_dense.size() * stride);
  CHECK_EQ(next_rows.size(), next_dense.size() * stride);
  std::vector<uint32_t>& slot_of = *slot_of_dense;
  for (size_t s = 0; s < done_dense.size(); ++s) {
    if (done_dense[s] >= slot_of.size()) slot_of.resize(done_dense[s] + 1, kNoSlot);
    slot_of[done_dense[s]] = static_cast<uint32_t>(s);
  }
  const Eigen::Index n = static_cast<Eigen::Index>(stride);
  auto done_slot = [&](size_t s) {
    return next_dense[s] < slot_of.size() ? slot_of[next_dense[s]] : kNoSlot;
  };
  // The next batch's rows are read in order; the done batch's changes are found by dense
  // index, all over a buffer of 10+ MB for large batches: fetch them a few rows ahead.
  constexpr size_t kAhead = 8;
  const size_t count = next_dense.size();
  for (size_t s = 0; s < count; ++s) {
    if (s + kAhead < count) {
      const uint32_t ahead = done_slot(s + kAhead);
      if (ahead != kNoSlot) PrefetchForRead(done_changes.data() + ahead * stride, stride);
    }
    const uint32_t done = done_slot(s);
    if (done == kNoSlot) continue;
    Vec(next_rows.data() + s * stride, n) += ConstVec(done_changes.data() + done * stride, n);
  }
  for (const uint32_t dense : done_dense) slot_of[dense] = kNoSlot;
}

}  // namespace psrec::train
