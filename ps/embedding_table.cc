#include "ps/embedding_table.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include <glog/logging.h>

#include "ps/row_initializer.h"

namespace psrec::ps {

namespace {
constexpr size_t kArenaAlignment = 64;  // a cache line; also the widest SIMD load
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
  size_t bytes = rows * static_cast<size_t>(row_floats_) * sizeof(float);
  bytes = (bytes + kArenaAlignment - 1) / kArenaAlignment * kArenaAlignment;
  auto* fresh = static_cast<float*>(std::aligned_alloc(kArenaAlignment, bytes));
  CHECK(fresh != nullptr) << "out of memory growing table " << spec_.name << " to " << rows
                          << " rows";
  if (!keys_.empty()) {
    std::memcpy(fresh, arena_.get(), keys_.size() * row_floats_ * sizeof(float));
  }
  arena_.reset(fresh);
  capacity_rows_ = rows;
  keys_.reserve(rows);
}

void EmbeddingTable::Reserve(size_t rows) {
  Grow(rows);
  index_.reserve(rows);
}

uint32_t EmbeddingTable::FindOrCreate(uint64_t key) {
  const auto next = static_cast<uint32_t>(keys_.size());
  auto [it, inserted] = index_.try_emplace(key, next);
  if (!inserted) return it->second;
  if (keys_.size() == capacity_rows_) Grow(keys_.size() + 1);
  keys_.push_back(key);
  float* row = RowAt(next);
  InitializeRow(spec_, seed_, key, row);
  optimizer_->InitState(row + dim_, dim_);
  return next;
}

void EmbeddingTable::Pull(std::span<const uint64_t> keys, float* out) {
  const size_t bytes = static_cast<size_t>(dim_) * sizeof(float);
  for (size_t i = 0; i < keys.size(); ++i) {
    const uint32_t r = FindOrCreate(keys[i]);
    std::memcpy(out + i * dim_, RowAt(r), bytes);
  }
}

void EmbeddingTable::Push(std::span<const uint64_t> keys, const float* grads,
                          float learning_rate) {
  for (size_t i = 0; i < keys.size(); ++i) {
    float* row = RowAt(FindOrCreate(keys[i]));
    optimizer_->UpdateRow(row, row + dim_, grads + i * dim_, dim_, learning_rate);
  }
}

void EmbeddingTable::UpsertRow(uint64_t key, const float* payload, const float* state) {
  float* row = RowAt(FindOrCreate(key));
  std::memcpy(row, payload, static_cast<size_t>(dim_) * sizeof(float));
  if (state_floats_ == 0) return;
  if (state != nullptr) {
    std::memcpy(row + dim_, state, static_cast<size_t>(state_floats_) * sizeof(float));
  } else {
    optimizer_->InitState(row + dim_, dim_);
  }
}

const float* EmbeddingTable::Find(uint64_t key) const {
  auto it = index_.find(key);
  return it == index_.end() ? nullptr : RowAt(it->second);
}

const float* EmbeddingTable::FindState(uint64_t key) const {
  if (state_floats_ == 0) return nullptr;
  const float* row = Find(key);
  return row == nullptr ? nullptr : row + dim_;
}

size_t EmbeddingTable::MemoryBytes() const {
  return capacity_rows_ * static_cast<size_t>(row_floats_) * sizeof(float) +
         keys_.capacity() * sizeof(uint64_t) +
         index_.capacity() * (sizeof(std::pair<uint64_t, uint32_t>) + 1);
}

}  // namespace psrec::ps
