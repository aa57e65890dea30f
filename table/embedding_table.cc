#include "table/embedding_table.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <vector>

#include <glog/logging.h>

#include "table/row_initializer.h"

namespace psrec::table {

namespace {
constexpr size_t kMinCapacityRows = 256;
}  // namespace

EmbeddingTable::EmbeddingTable(const TableSpec& spec, uint64_t seed)
    : spec_(spec),
      seed_(seed),
      optimizer_(MakeOptimizer(spec.optimizer)),
      dim_(spec.dim),
      state_floats_(optimizer_->state_floats(spec.dim)),
      row_floats_(spec.dim + state_floats_) {
  CHECK_GE(spec.dim, 1) << "table " << spec.name;
  CHECK(spec.zero_tail >= 0 && spec.zero_tail <= spec.dim) << "table " << spec.name;
}

void EmbeddingTable::Grow(size_t min_rows) {
  if (min_rows <= capacity_rows_) return;
  // Row numbers are uint32 in the index; 4G rows of one shard is far beyond any machine.
  CHECK_LE(min_rows, static_cast<size_t>(std::numeric_limits<uint32_t>::max()))
      << "table " << spec_.name << " shard is full";
  size_t rows = std::max({min_rows, capacity_rows_ * 2, kMinCapacityRows});
  arena_.Grow(rows * static_cast<size_t>(row_floats_) * sizeof(float));
  capacity_rows_ = arena_.capacity_bytes() / (static_cast<size_t>(row_floats_) * sizeof(float));
  keys_.reserve(rows);
}

void EmbeddingTable::Reserve(size_t rows) {
  Grow(rows);
  index_.Reserve(rows);
}

uint32_t EmbeddingTable::FindOrCreate(uint64_t key, bool initialize) {
  const auto next = static_cast<uint32_t>(keys_.size());
  const auto [row, inserted] = index_.FindOrInsert(key, next);
  if (!inserted) return row;
  if (keys_.size() == capacity_rows_) Grow(keys_.size() + 1);
  keys_.push_back(key);
  if (initialize) {
    float* row = RowAt(next);
    InitializeRow(spec_, seed_, key, row);
    optimizer_->InitState(row, row + dim_, dim_);
  }
  return next;
}

// Pull and Push work in blocks: prefetch the index slots of the next block, resolve the rows
// of this block and prefetch their lines, then copy or update them. With 1M rows the index
// and the arena miss the cache on almost every key; overlapping those misses instead of
// taking them one after another is what bench/table_bench.cc BM_TablePull*/Push* measure.
template <typename Fn>
void EmbeddingTable::ForEachKeyBlocked(std::span<const uint64_t> keys, int prefetch_floats,
                                       bool initialize, Fn&& fn) {
  constexpr size_t kBlock = 16;
  uint32_t rows[kBlock];
  const size_t n = keys.size();
  for (size_t i = 0; i < std::min(n, kBlock); ++i) index_.Prefetch(keys[i]);
  for (size_t begin = 0; begin < n; begin += kBlock) {
    const size_t end = std::min(n, begin + kBlock);
    for (size_t i = end; i < std::min(n, end + kBlock); ++i) index_.Prefetch(keys[i]);
    for (size_t i = begin; i < end; ++i) {
      const uint32_t r = FindOrCreate(keys[i], initialize);
      rows[i - begin] = r;
      const char* line = reinterpret_cast<const char*>(RowAt(r));
      const char* last = reinterpret_cast<const char*>(RowAt(r) + prefetch_floats - 1);
      for (; line <= last; line += 64) __builtin_prefetch(line, 1);
      __builtin_prefetch(last, 1);
    }
    for (size_t i = begin; i < end; ++i) fn(i, RowAt(rows[i - begin]));
  }
}

void EmbeddingTable::Pull(std::span<const uint64_t> keys, float* out) {
  const size_t bytes = static_cast<size_t>(dim_) * sizeof(float);
  ForEachKeyBlocked(keys, dim_, /*initialize=*/true, [&](size_t i, const float* row) {
    std::memcpy(out + i * dim_, row, bytes);
  });
}

void EmbeddingTable::Push(std::span<const uint64_t> keys, const float* grads,
                          float learning_rate) {
  // A key repeated within one block resolves to the same row twice; the updates still apply
  // in order because the second pass runs them sequentially.
  ForEachKeyBlocked(keys, row_floats_, /*initialize=*/true, [&](size_t i, float* row) {
    optimizer_->UpdateRow(row, row + dim_, grads + i * dim_, dim_, learning_rate);
  });
}

void EmbeddingTable::PullWithState(std::span<const uint64_t> keys, float* out) {
  const size_t bytes = static_cast<size_t>(row_floats_) * sizeof(float);
  ForEachKeyBlocked(keys, row_floats_, /*initialize=*/true, [&](size_t i, const float* row) {
    std::memcpy(out + i * row_floats_, row, bytes);
  });
}

void EmbeddingTable::AddRows(std::span<const uint64_t> keys, const float* deltas) {
  const int n = row_floats_;
  ForEachKeyBlocked(keys, row_floats_, /*initialize=*/true, [&](size_t i, float* row) {
    const float* delta = deltas + i * static_cast<size_t>(n);
    for (int j = 0; j < n; ++j) row[j] += delta[j];
  });
}

void EmbeddingTable::ResolveRows(std::span<const uint64_t> keys, float** rows) {
  // Row numbers first: creating a row may move the arena, so addresses come after.
  std::vector<uint32_t> numbers(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) numbers[i] = FindOrCreate(keys[i], true);
  for (size_t i = 0; i < keys.size(); ++i) rows[i] = RowAt(numbers[i]);
}

void EmbeddingTable::UpsertRow(uint64_t key, const float* payload, const float* state) {
  // The row is overwritten whole, so a new one skips the initializer (restores are hot).
  float* row = RowAt(FindOrCreate(key, /*initialize=*/false));
  std::memcpy(row, payload, static_cast<size_t>(dim_) * sizeof(float));
  if (state_floats_ == 0) return;
  if (state != nullptr) {
    std::memcpy(row + dim_, state, static_cast<size_t>(state_floats_) * sizeof(float));
  } else {
    optimizer_->InitState(row, row + dim_, dim_);
  }
}

void EmbeddingTable::UpsertRows(std::span<const uint64_t> keys, const float* rows) {
  const size_t bytes = static_cast<size_t>(row_floats_) * sizeof(float);
  ForEachKeyBlocked(keys, row_floats_, /*initialize=*/false, [&](size_t i, float* row) {
    std::memcpy(row, rows + i * row_floats_, bytes);
  });
}

const float* EmbeddingTable::Find(uint64_t key) const {
  const uint32_t row = index_.Find(key);
  return row == RowIndex::kNoRow ? nullptr : RowAt(row);
}

size_t EmbeddingTable::FindRows(std::span<const uint64_t> keys, const float** rows) const {
  // Index slots a block ahead, as ForEachKeyBlocked (the callers copy the rows at once).
  constexpr size_t kAhead = 16;
  size_t missing = 0;
  for (size_t i = 0; i < std::min(keys.size(), kAhead); ++i) index_.Prefetch(keys[i]);
  for (size_t i = 0; i < keys.size(); ++i) {
    if (i + kAhead < keys.size()) index_.Prefetch(keys[i + kAhead]);
    const uint32_t row = index_.Find(keys[i]);
    if (row == RowIndex::kNoRow) {
      rows[i] = nullptr;
      ++missing;
    } else {
      rows[i] = RowAt(row);
      __builtin_prefetch(rows[i]);
    }
  }
  return missing;
}

const float* EmbeddingTable::FindState(uint64_t key) const {
  if (state_floats_ == 0) return nullptr;
  const float* row = Find(key);
  return row == nullptr ? nullptr : row + dim_;
}

size_t EmbeddingTable::MemoryBytes() const {
  return arena_.capacity_bytes() +
         keys_.capacity() * sizeof(uint64_t) +
         index_.MemoryBytes();
}

}  // namespace psrec::table
