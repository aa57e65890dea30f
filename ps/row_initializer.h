// The deterministic initial value of a parameter row. A row's value is a pure function of
// (seed, table id, key), so a model never depends on the number of servers, on which server
// creates the row, or on the order in which keys arrive.
//
// Generator: counter-based splitmix64. base = seed ^ Mix64(key ^ TableSeed(table)); the i-th
// 64-bit draw is Mix64(base + (i + 1) * 0x9e3779b97f4a7c15). Pairs of draws become pairs of
// standard normals by Box-Muller (in double, rounded to float once), scaled by init_std.
// The last zero_tail floats (biases) are 0.
//
// Thread safety: pure function.
#pragma once

#include <cstdint>

#include "common/table_spec.h"

namespace psrec::ps {

// Writes spec.dim floats to out. REQUIRES: 0 <= spec.zero_tail <= spec.dim.
void InitializeRow(const TableSpec& spec, uint64_t seed, uint64_t key, float* out);

}  // namespace psrec::ps
