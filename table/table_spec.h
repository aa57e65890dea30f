// TableSpec: everything a parameter table needs to know about itself, derived once from the
// job config so that servers, workers (LOCAL user tables) and checkpoint tools agree on the
// row layout and the optimizer.
//
// The model declares a table's layout and initializer (models/model_tables.h builds the
// specs); the table layer only knows `dim` payload floats per row, of which the first
// dim - zero_tail start at N(0, init_std^2) and the last zero_tail at 0.
//
// A dense table (models::KeyedBy::kDense: an MLP's weights) is one flat vector of
// dense_floats floats stored as rows of dim floats ("blocks") with keys 0..blocks()-1; its
// floats start as `dense` says, by position in the flat vector, and init_std/zero_tail are
// unused. The block padding after dense_floats is 0.
//
// Thread safety: values and pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "common/keys.h"
#include "common/proto/config.pb.h"

namespace psrec {

// How a run of a dense table's flat vector starts: floats [offset, offset + floats).
struct DenseInitRun {
  enum class Distribution { kZero, kUniform, kNormal };
  size_t offset = 0;
  size_t floats = 0;
  Distribution distribution = Distribution::kZero;
  float scale = 0;  // kUniform: U(-scale, scale); kNormal: N(0, scale^2)
};

struct TableSpec {
  TableId id = 0;
  std::string name;     // the model's name for it ("user", "item" for biased MF)
  int dim = 0;          // payload floats per row (optimizer state is stored after them)
  float init_std = 0;   // the first dim - zero_tail floats ~ N(0, init_std^2)
  int zero_tail = 0;    // the last zero_tail floats start at 0
  config::OptimizerConfig optimizer;
  config::TableConfig::Placement placement = config::TableConfig::REMOTE;
  // Dense tables only (dense_floats > 0): the runs by increasing offset; floats no run
  // covers start at 0.
  std::vector<DenseInitRun> dense;
  size_t dense_floats = 0;

  bool is_dense() const { return dense_floats > 0; }
  // The block keys of a dense table: 0..blocks()-1 (0 for other tables).
  uint64_t blocks() const {
    return dim <= 0 ? 0 : (dense_floats + static_cast<size_t>(dim) - 1) / static_cast<size_t>(dim);
  }
};

}  // namespace psrec
