// TableSpec: everything a parameter table needs to know about itself, derived once from the
// job config so that servers, workers (LOCAL user tables) and checkpoint tools agree on the
// row layout and the optimizer.
//
// The model declares a table's layout and initializer (models/model_tables.h builds the
// specs); the table layer only knows `dim` payload floats per row, of which the first
// dim - zero_tail start at N(0, init_std^2) and the last zero_tail at 0.
//
// Thread safety: values and pure functions.
#pragma once

#include <string>
#include <vector>

#include "common/keys.h"
#include "common/proto/config.pb.h"

namespace psrec {

struct TableSpec {
  TableId id = 0;
  std::string name;     // the model's name for it ("user", "item" for biased MF)
  int dim = 0;          // payload floats per row (optimizer state is stored after them)
  float init_std = 0;   // the first dim - zero_tail floats ~ N(0, init_std^2)
  int zero_tail = 0;    // the last zero_tail floats start at 0
  config::OptimizerConfig optimizer;
  config::TableConfig::Placement placement = config::TableConfig::REMOTE;
};

}  // namespace psrec
