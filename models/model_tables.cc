#include "models/model_tables.h"

#include "models/registry.h"

namespace psrec::models {
namespace {

const config::TableConfig* FindTableConfig(const config::JobConfig& job,
                                           const std::string& name) {
  for (const config::TableConfig& table : job.tables()) {
    if (table.name() == name) return &table;
  }
  return nullptr;
}

std::string TableNames(const Model& model) {
  std::string names;
  for (const TableDecl& table : model.tables()) {
    names += (names.empty() ? "" : ", ") + table.name;
  }
  return names;
}

}  // namespace

Result<std::vector<TableSpec>> TableSpecsFor(const Model& model, const config::JobConfig& job) {
  for (const config::TableConfig& table : job.tables()) {
    bool declared = false;
    for (const TableDecl& decl : model.tables()) declared = declared || decl.name == table.name();
    if (!declared) {
      return Status::InvalidArgument("tables." + table.name() + ": model " +
                                     std::string(model.name()) + " has no table '" +
                                     table.name() + "' (its tables: " + TableNames(model) + ")");
    }
  }
  std::vector<TableSpec> specs;
  for (size_t t = 0; t < model.tables().size(); ++t) {
    const TableDecl& decl = model.tables()[t];
    TableSpec spec;
    spec.id = static_cast<TableId>(t);
    spec.name = decl.name;
    spec.dim = decl.payload_floats;
    spec.init_std = decl.init_std;
    spec.zero_tail = decl.zero_tail;
    if (const config::TableConfig* table = FindTableConfig(job, decl.name)) {
      spec.optimizer = table->optimizer();
      spec.placement = table->placement();
    }
    // A LOCAL table lives on the worker whose data partition holds the row's user; rows
    // keyed by anything else are shared by every worker and can only live on the servers.
    if (spec.placement == config::TableConfig::LOCAL && decl.keyed_by != KeyedBy::kUser) {
      return Status::InvalidArgument("tables." + decl.name +
                                     ".placement: LOCAL is only for tables keyed by user; '" +
                                     decl.name + "' is shared by every worker");
    }
    specs.push_back(std::move(spec));
  }
  return specs;
}

Result<JobModel> ModelForJob(const config::JobConfig& job) {
  JobModel out;
  ASSIGN_OR_RETURN(out.model, CreateModel(job.model()));
  ASSIGN_OR_RETURN(out.tables, TableSpecsFor(*out.model, job));
  return out;
}

config::TableConfig* MutableTableConfig(config::JobConfig* job, const std::string& name) {
  for (config::TableConfig& table : *job->mutable_tables()) {
    if (table.name() == name) return &table;
  }
  config::TableConfig* table = job->add_tables();
  table->set_name(name);
  return table;
}

Result<std::vector<TableSpec>> TableSpecsForJob(const config::JobConfig& job) {
  ASSIGN_OR_RETURN(JobModel job_model, ModelForJob(job));
  return std::move(job_model.tables);
}

config::JobConfig WithEveryTable(const Model& model, const config::JobConfig& job) {
  config::JobConfig out = job;
  for (const TableDecl& decl : model.tables()) {
    if (FindTableConfig(out, decl.name) == nullptr) out.add_tables()->set_name(decl.name);
  }
  return out;
}

}  // namespace psrec::models
