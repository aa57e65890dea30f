#include "table/table_spec.h"

namespace psrec {

namespace {

TableSpec SpecFor(TableId id, std::string name, const config::ModelConfig& model,
                  const config::TableConfig& table) {
  TableSpec spec;
  spec.id = id;
  spec.name = std::move(name);
  spec.dim = model.dim() + 1;
  spec.init_std = model.init_std();
  spec.zero_tail = 1;
  spec.optimizer = table.optimizer();
  spec.placement = table.placement();
  return spec;
}

}  // namespace

std::vector<TableSpec> TableSpecsForJob(const config::JobConfig& job) {
  std::vector<TableSpec> specs;
  specs.push_back(SpecFor(kUserTable, "user", job.model(), job.user_table()));
  specs.push_back(SpecFor(kItemTable, "item", job.model(), job.item_table()));
  // Items are shared by every worker, so they can only live on the servers.
  specs.back().placement = config::TableConfig::REMOTE;
  return specs;
}

}  // namespace psrec
