// LocalUserRows: where the rows of a worker's LOCAL users are in its own table, so that an
// update mode trains them in place: no pull copies, no push, no key lookup per batch.
//
// Row addresses change only when rows are created (a restore, or the first Resolve), which
// may move the table's arena; neither runs inside an epoch (evaluation creates no rows). Resolve() at each epoch
// start therefore looks the rows up again only when the table grew or moved (1M lookups are
// ~5% of an epoch). Rows created for the partition in dense order (a fresh run) sit at
// row_floats() strides: contiguous() then lets a kernel compute a row's address instead of
// loading it from an array that is itself a cache miss per rating.
//
// Thread safety: one thread (the trainer's). Addresses are valid until the table next
// creates a row.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include "table/embedding_table.h"

namespace psrec::train {

class LocalUserRows {
 public:
  // `user_ids`: the partition's users by dense index. Both must outlive this object.
  // keep_addresses: keep row_of_dense() even when the rows are contiguous (a mode that
  // looks rows up per batch); otherwise it is released then (only first_row() is needed).
  LocalUserRows(table::EmbeddingTable* table, std::span<const uint64_t> user_ids,
                bool keep_addresses)
      : table_(table), user_ids_(user_ids), keep_addresses_(keep_addresses) {}

  // Creates missing rows (a fresh table is first sized for every user of the partition)
  // and (re)computes the addresses when the table grew or moved since the last call.
  void Resolve();

  table::EmbeddingTable& table() { return *table_; }
  // Row of dense user d; empty when contiguous() and !keep_addresses.
  std::span<float* const> row_of_dense() const { return row_of_dense_; }
  // Row of dense user d is first_row() + d * table().row_floats().
  bool contiguous() const { return contiguous_; }
  float* first_row() const { return first_row_; }

 private:
  table::EmbeddingTable* table_;
  std::span<const uint64_t> user_ids_;
  bool keep_addresses_;
  std::vector<float*> row_of_dense_;
  bool contiguous_ = false;
  float* first_row_ = nullptr;
  size_t resolved_rows_ = 0;  // table size and arena when the addresses were made
  const float* resolved_arena_ = nullptr;
};

}  // namespace psrec::train
