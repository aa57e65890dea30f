// TableSpec: everything a parameter table needs to know about itself, derived once from the
// job config so that servers, workers (LOCAL user tables) and checkpoint tools agree on the
// row layout and the optimizer.
//
// Row layout (biased MF): `dim` floats = model.dim factors followed by 1 bias. Factors start
// at N(0, init_std^2); the last `zero_tail` floats (the bias) start at 0.
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
  std::string name;  // "user" / "item"
  int dim = 0;       // floats per row: model.dim factors + 1 bias
  float init_std = 0;  // factors ~ N(0, init_std^2)
  int zero_tail = 1;   // the last zero_tail floats start at 0 (the bias)
  config::OptimizerConfig optimizer;
  config::TableConfig::Placement placement = config::TableConfig::REMOTE;
};

// The tables of a biased-MF job, indexed by id: [user (kUserTable), item (kItemTable)].
// REQUIRES: `job` passed ValidateJobConfig (the item table is never LOCAL).
std::vector<TableSpec> TableSpecsForJob(const config::JobConfig& job);

}  // namespace psrec
