// NPY files (NumPy format version 1.0), as `psrec ckpt export` writes them: the magic
// "\x93NUMPY", version 1.0, a little-endian uint16 header length, then a Python dict
// literal {'descr': ..., 'fortran_order': False, 'shape': (...), } padded with spaces and
// ending in '\n' so that the data starts at a multiple of 64 bytes, then the data in C
// order. numpy.load reads them.
//
// Thread safety: pure functions.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include "common/status.h"

namespace psrec::cli {

// The header (everything before the data) for an array of type `descr` ("<f4", "<u8")
// and shape `shape` (one dimension: "(n,)").
std::string NpyHeader(const std::string& descr, std::span<const size_t> shape);

// Writes header and data to `path` (replacing it).
Status WriteNpy(const std::string& path, const std::string& descr,
                std::span<const size_t> shape, const void* data, size_t bytes);

// What ReadNpyFloat32 found in a file.
struct NpyFloatArray {
  std::vector<size_t> shape;
  std::vector<float> values;  // C order
};
// Reads a '<f4' C-order array, checking the header as a reader of format 1.0 must: magic,
// version, header length (data 64-byte aligned), the dict's keys and the size.
Result<NpyFloatArray> ReadNpyFloat32(const std::string& path);

}  // namespace psrec::cli
