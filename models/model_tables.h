// The tables of a job: the model's declarations (layout, initializer, key) joined with the
// config's per-table settings (optimizer, placement), as servers, workers and checkpoint
// tools build them. Servers are given these specs and never see the model.
//
// Thread safety: pure functions.
#pragma once

#include <memory>
#include <vector>

#include "common/proto/config.pb.h"
#include "common/status.h"
#include "models/model.h"
#include "table/table_spec.h"

namespace psrec::models {

// One TableSpec per model table, id = its position. Errors name the config field: a
// `tables` entry the model does not declare, or LOCAL placement of a table not keyed by user.
Result<std::vector<TableSpec>> TableSpecsFor(const Model& model, const config::JobConfig& job);

// The job's model and its table specs in one call (tools and tests).
struct JobModel {
  std::unique_ptr<Model> model;
  std::vector<TableSpec> tables;
};
Result<JobModel> ModelForJob(const config::JobConfig& job);

// The config entry of table `name` in `job`, added (with that name) when there is none.
config::TableConfig* MutableTableConfig(config::JobConfig* job, const std::string& name);

// The table specs of the job's model.
Result<std::vector<TableSpec>> TableSpecsForJob(const config::JobConfig& job);

// `job` with an entry in `tables` for every table of the model (defaults where the config
// named none), so that the effective config shows every table.
config::JobConfig WithEveryTable(const Model& model, const config::JobConfig& job);

}  // namespace psrec::models
