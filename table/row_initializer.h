// The deterministic initial value of a parameter row. A row's value is a pure function of
// (seed, table id, key), so a model never depends on the number of servers, on which server
// creates the row, or on the order in which keys arrive.
//
// Generator: counter-based splitmix64. base = seed ^ Mix64(key ^ TableSeed(table)); the i-th
// 64-bit draw is Mix64(base + (i + 1) * 0x9e3779b97f4a7c15); its top 24 bits make a uniform.
// Draws 2j+1, 2j+2 become floats 2j, 2j+1 by Box-Muller (float, Eigen's vectorized
// log/sqrt/sin/cos), scaled by init_std. Values are reproducible for a given build; a
// different compiler or -march may change the last bits.
// The last zero_tail floats (biases) are 0.
//
// Dense tables (spec.is_dense()): the row of block key b holds floats b*dim .. b*dim+dim-1
// of the flat vector; float p draws from its own stream, base = seed ^ Mix64(p ^
// TableSeed(table) ^ kDenseSalt), so a value depends on (seed, table, position) only: not
// on the block size, the server count or which server creates the block. kUniform: one
// draw, (2u - 1) * scale; kNormal: Box-Muller (cosine) of two draws in double, * scale.
//
// Thread safety: pure function.
#pragma once

#include <cstdint>

#include "table/table_spec.h"

namespace psrec::table {

// Writes spec.dim floats to out. REQUIRES: 0 <= spec.zero_tail <= spec.dim.
void InitializeRow(const TableSpec& spec, uint64_t seed, uint64_t key, float* out);

}  // namespace psrec::table
