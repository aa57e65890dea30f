// EmbeddingTable: one shard of one parameter table.
//
// Storage: an open-addressing index from key to row number (table/row_index.h), a vector of
// keys by row number, and one contiguous, page-aligned arena of rows (table/row_arena.h). A
// row is dim payload floats followed by the optimizer's state floats (row_floats() in all,
// no padding, so a checkpoint writes the arena as it is). The arena doubles its capacity
// when full (mremap: no copy, no per-row allocation); Reserve sizes it and the index at
// once when the row count is known.
//
// Rows are created on first Pull, or on Push/UpsertRow of an unknown key, with the value
// InitializeRow(spec, seed, key) (table/row_initializer.h) and the optimizer's initial state.
// Rows are never removed. Readers that must not create rows (evaluation) use FindRows.
//
// Usage:
//   EmbeddingTable table(spec, /*seed=*/42);
//   std::vector<float> rows(keys.size() * table.dim());
//   table.Pull(keys, rows.data());
//   table.Push(keys, grads.data(), /*learning_rate=*/0.01f);
//
// Thread safety: not thread-safe. One thread (the owner) calls the mutating methods; const
// methods may run concurrently with each other only. Pointers returned by Find are
// invalidated by the next call that may create a row (Pull, Push, UpsertRow, Reserve).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "table/table_spec.h"
#include "table/optimizer.h"
#include "table/row_arena.h"
#include "table/row_index.h"
#include "table/table_rows.h"

namespace psrec::table {

class EmbeddingTable {
 public:
  // REQUIRES: spec.dim >= 1, 0 <= spec.zero_tail <= spec.dim.
  EmbeddingTable(const TableSpec& spec, uint64_t seed);
  EmbeddingTable(EmbeddingTable&&) noexcept = default;
  EmbeddingTable& operator=(EmbeddingTable&&) noexcept = default;
  EmbeddingTable(const EmbeddingTable&) = delete;
  EmbeddingTable& operator=(const EmbeddingTable&) = delete;

  int dim() const { return dim_; }
  size_t size() const { return keys_.size(); }
  const TableSpec& spec() const { return spec_; }
  uint64_t seed() const { return seed_; }
  // Optimizer state floats per row (0 for SGD, dim for AdaGrad, 2*dim+1 for Adam, 2*dim for
  // FTRL).
  int state_floats() const { return state_floats_; }
  int row_floats() const { return row_floats_; }
  const Optimizer& optimizer() const { return *optimizer_; }

  // Copies the payload of each key to out[i * dim()], creating missing rows.
  // REQUIRES: out holds keys.size() * dim() floats.
  void Pull(std::span<const uint64_t> keys, float* out);

  // Applies grads[i * dim() ..] to the row of keys[i] with the table's optimizer, in order
  // (a repeated key gets every one of its gradients). Creates missing rows first.
  // REQUIRES: grads holds keys.size() * dim() floats.
  void Push(std::span<const uint64_t> keys, const float* grads, float learning_rate);

  // For workers that run the optimizer themselves on pulled copies and push the change.
  // Copies row_floats() floats (payload then state) of each key to out[i * row_floats()],
  // creating missing rows.
  // REQUIRES: out holds keys.size() * row_floats() floats.
  void PullWithState(std::span<const uint64_t> keys, float* out);
  // Adds deltas[i * row_floats() ..] (payload then state) to the row of keys[i], creating
  // missing rows first. A repeated key gets every delta. No optimizer step runs.
  // REQUIRES: deltas holds keys.size() * row_floats() floats.
  void AddRows(std::span<const uint64_t> keys, const float* deltas);

  // In-place access for a table owned by one thread (LOCAL user rows in a worker): creates
  // missing rows, then sets rows[i] to the row (payload, then state) of keys[i]. Addresses
  // stay valid until a later call creates rows (the arena may move when it grows).
  void ResolveRows(std::span<const uint64_t> keys, float** rows);
  // Applies `grad` (dim floats) to a row from ResolveRows with the table's optimizer.
  void UpdateRowInPlace(float* row, const float* grad, float learning_rate) {
    optimizer_->UpdateRow(row, row + dim_, grad, dim_, learning_rate);
  }

  // Calls fn(key, payload, state) for every row in storage (creation) order. state is
  // nullptr when state_floats() == 0. fn must not modify the table.
  template <typename Fn>
  void ForEachRow(Fn&& fn) const {
    for (size_t r = 0; r < keys_.size(); ++r) {
      const float* row = RowAt(r);
      fn(keys_[r], row, state_floats_ > 0 ? row + dim_ : nullptr);
    }
  }

  // Sets the payload (dim floats) and state (state_floats() floats) of `key`, creating the
  // row when missing. state nullptr: the optimizer's initial state (e.g. a checkpoint written
  // with another optimizer).
  void UpsertRow(uint64_t key, const float* payload, const float* state);

  // UpsertRow for many rows at once, prefetching (the checkpoint load path). rows holds
  // keys.size() rows of row_floats() floats: payload then state, as TableRows lays them out.
  void UpsertRows(std::span<const uint64_t> keys, const float* rows);

  // The payload (dim floats) of `key`, or nullptr when absent. Never creates a row.
  const float* Find(uint64_t key) const;
  // Find for many keys, prefetching: rows[i] is the row (payload, then state) of keys[i],
  // or nullptr when absent. Never creates a row; returns how many keys have none.
  size_t FindRows(std::span<const uint64_t> keys, const float** rows) const;
  // The optimizer state of `key`, or nullptr when absent or state_floats() == 0.
  const float* FindState(uint64_t key) const;

  void Reserve(size_t rows);

  // All rows in storage order, for checkpoint writers and tools (valid until the next
  // mutating call).
  TableRows rows() const {
    return TableRows{&spec_, dim_, state_floats_, keys_, arena_.data()};
  }
  // A copy of every row: the in-memory snapshot a background checkpoint writer consumes.
  TableSnapshot Snapshot() const { return TableSnapshot(rows()); }

  // Bytes held by the arena, the key vector and the index.
  size_t MemoryBytes() const;

 private:
  // Returns the row number of key, creating the row when missing (with its initial value
  // and state when `initialize`, else uninitialized for the caller to fill).
  uint32_t FindOrCreate(uint64_t key, bool initialize);
  void Grow(size_t min_rows);
  // Calls fn(i, row of keys[i]) for every i in order, creating rows and prefetching ahead.
  template <typename Fn>
  void ForEachKeyBlocked(std::span<const uint64_t> keys, int prefetch_floats, bool initialize,
                         Fn&& fn);
  float* RowAt(size_t r) { return arena_.data() + r * static_cast<size_t>(row_floats_); }
  const float* RowAt(size_t r) const {
    return arena_.data() + r * static_cast<size_t>(row_floats_);
  }

  TableSpec spec_;
  uint64_t seed_;
  std::unique_ptr<Optimizer> optimizer_;
  int dim_;
  int state_floats_;
  int row_floats_;
  RowIndex index_;
  std::vector<uint64_t> keys_;  // keys_[r] is the key of row r
  RowArena arena_;
  size_t capacity_rows_ = 0;
};

}  // namespace psrec::table
