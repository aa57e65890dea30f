// PackedRating: one training rating as the trainer keeps it, by dense indices.
//
// Thread safety: a value.
#pragma once

#include <cstdint>

namespace psrec::data {

// One training rating in the trainer's pre-shuffled copy of its partition: 12 bytes, so a
// batch is one sequential read instead of three random ones per rating.
struct PackedRating {
  uint32_t user;  // dense user index
  uint32_t item;  // dense item index
  float rating;
};

}  // namespace psrec::data
