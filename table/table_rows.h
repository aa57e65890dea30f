// TableRows: a read-only view of a table's rows in storage order, and TableSnapshot: an
// owning copy of them. Checkpoint writers take a TableRows, so they can write either a live
// table (when nothing else writes it) or a snapshot taken at a clock boundary and written
// by a background thread while training goes on.
//
// Layout: row r is rows[r * row_floats() .. +row_floats()) = dim payload floats followed by
// state_floats optimizer-state floats; keys[r] is its key. No padding between rows.
//
// Thread safety: a TableRows is valid while its source is alive and unmodified. A
// TableSnapshot is an immutable value once taken; several threads may read it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "table/table_spec.h"
#include "table/row_arena.h"

namespace psrec::table {

struct TableRows {
  const TableSpec* spec = nullptr;
  int dim = 0;
  int state_floats = 0;
  std::span<const uint64_t> keys;
  const float* rows = nullptr;  // keys.size() * row_floats() floats

  int row_floats() const { return dim + state_floats; }
  size_t size() const { return keys.size(); }
  const float* row(size_t r) const { return rows + r * static_cast<size_t>(row_floats()); }
};

class TableSnapshot {
 public:
  TableSnapshot() = default;
  // Copies the rows that `source` views.
  explicit TableSnapshot(const TableRows& source)
      : spec_(*source.spec),
        dim_(source.dim),
        state_floats_(source.state_floats),
        keys_(source.keys.begin(), source.keys.end()) {
    // The copy is the whole training pause of a checkpoint. A RowArena is mapped with huge
    // pages, so a 300 MB copy takes a few hundred page faults instead of ~70,000 (page
    // faults, not the memcpy, dominated the pause with a std::vector).
    const size_t bytes = source.size() * source.row_floats() * sizeof(float);
    if (bytes > 0) {
      rows_.Grow(bytes);
      std::memcpy(rows_.data(), source.rows, bytes);
    }
  }

  TableRows rows() const {
    return TableRows{&spec_, dim_, state_floats_, keys_, rows_.data()};
  }
  const TableSpec& spec() const { return spec_; }
  size_t size() const { return keys_.size(); }

 private:
  TableSpec spec_;
  int dim_ = 0;
  int state_floats_ = 0;
  std::vector<uint64_t> keys_;
  RowArena rows_;
};

}  // namespace psrec::table
