// How biased MF's kernels find a rating's rows: the two addressings of a RowLookup
// (models/model.h) as types, so that each kernel is compiled for the addressing it runs with
// (choosing per rating cost ~5% of the DELTAS kernel), and the prefetch both kernels issue
// ahead of a shuffled batch's cache misses.
//
// Thread safety: plain values over the caller's arrays.
#pragma once

#include <cstddef>
#include <cstdint>

#include "models/model.h"

namespace psrec::models::mf {

// Rows of a shuffled batch are cache misses: fetch a few ratings ahead, and what it takes
// to find a row through a table of addresses further ahead.
inline constexpr size_t kPrefetchAhead = 6;
inline constexpr size_t kPrefetchAddressAhead = 16;

// Every cache line of `floats` floats from `row`, for writing.
inline void PrefetchRow(const float* row, size_t floats) {
  const char* bytes = reinterpret_cast<const char*>(row);
  for (size_t offset = 0; offset < floats * sizeof(float); offset += 64) {
    __builtin_prefetch(bytes + offset, 1);
  }
}

// Rows at a fixed stride from `rows` (pulled copies, contiguous LOCAL rows).
struct StridedRows {
  float* rows;
  size_t stride;
  const uint32_t* index;
  size_t index_stride;
  float* row(size_t i) const { return rows + static_cast<size_t>(index[i * index_stride]) * stride; }
  void PrefetchAddress(size_t) const {}
};

// Rows found through a table of addresses (LOCAL rows where they lie in their table).
struct AddressedRows {
  float* const* addresses;
  const uint32_t* index;
  size_t index_stride;
  float* row(size_t i) const { return addresses[index[i * index_stride]]; }
  void PrefetchAddress(size_t i) const { __builtin_prefetch(addresses + index[i * index_stride]); }
};

// Calls f(user_rows, item_rows) with each lookup as the type of its addressing.
template <typename F>
auto WithAddressing(const RowLookup& user, const RowLookup& item, F&& f) {
  const StridedRows user_strided{user.rows, user.stride, user.index, user.index_stride};
  const AddressedRows user_addressed{user.addresses, user.index, user.index_stride};
  const StridedRows item_strided{item.rows, item.stride, item.index, item.index_stride};
  const AddressedRows item_addressed{item.addresses, item.index, item.index_stride};
  if (user.addresses == nullptr) {
    return item.addresses == nullptr ? f(user_strided, item_strided)
                                     : f(user_strided, item_addressed);
  }
  return item.addresses == nullptr ? f(user_addressed, item_strided)
                                   : f(user_addressed, item_addressed);
}

}  // namespace psrec::models::mf
