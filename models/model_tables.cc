#include "models/model_tables.h"

#include <algorithm>
#include <cmath>
#include <string>

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

// The initializer of one dense parameter, as the table layer draws it (table_spec.h).
DenseInitRun InitRunOf(const DenseParam& param) {
  DenseInitRun run;
  run.offset = param.offset;
  run.floats = static_cast<size_t>(param.rows) * static_cast<size_t>(param.cols);
  const float fan_in = static_cast<float>(param.cols);
  const float fan_out = static_cast<float>(param.rows);
  switch (param.init) {
    case DenseInit::kZeros:
      run.distribution = DenseInitRun::Distribution::kZero;
      break;
    case DenseInit::kXavierUniform:
      run.distribution = DenseInitRun::Distribution::kUniform;
      run.scale = std::sqrt(6.0f / (fan_in + fan_out));
      break;
    case DenseInit::kHeUniform:
      run.distribution = DenseInitRun::Distribution::kUniform;
      run.scale = std::sqrt(6.0f / fan_in);
      break;
    case DenseInit::kNormal:
      run.distribution = DenseInitRun::Distribution::kNormal;
      run.scale = param.init_scale;
      break;
  }
  return run;
}

// A dense table's declaration as the model wrote it: parameters that fit blocks, do not
// overlap and have a shape. The model's own bug, reported as an error naming it.
Status CheckDenseDecl(const Model& model, const TableDecl& decl) {
  const std::string where = "model " + std::string(model.name()) + ", dense table '" +
                            decl.name + "': ";
  if (decl.payload_floats < 1) return Status::Internal(where + "payload_floats must be >= 1");
  if (decl.dense.empty()) return Status::Internal(where + "declares no parameters");
  std::vector<const DenseParam*> params;
  for (const DenseParam& param : decl.dense) {
    if (param.rows < 1 || param.cols < 1) {
      return Status::Internal(where + "parameter " + param.name + " has shape " +
                              std::to_string(param.rows) + "x" + std::to_string(param.cols));
    }
    params.push_back(&param);
  }
  std::sort(params.begin(), params.end(),
            [](const DenseParam* a, const DenseParam* b) { return a->offset < b->offset; });
  for (size_t i = 1; i < params.size(); ++i) {
    const DenseParam& before = *params[i - 1];
    if (before.offset + static_cast<size_t>(before.rows) * static_cast<size_t>(before.cols) >
        params[i]->offset) {
      return Status::Internal(where + "parameters " + before.name + " and " +
                              params[i]->name + " overlap");
    }
  }
  return Status::OK();
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
    if (decl.keyed_by == KeyedBy::kDense) {
      RETURN_IF_ERROR(CheckDenseDecl(model, decl));
      for (const DenseParam& param : decl.dense) spec.dense.push_back(InitRunOf(param));
      std::sort(spec.dense.begin(), spec.dense.end(),
                [](const DenseInitRun& a, const DenseInitRun& b) { return a.offset < b.offset; });
      spec.dense_floats = decl.dense_floats();
      // Every worker reads and updates the whole vector: it can only live on the servers.
      if (spec.placement == config::TableConfig::LOCAL) {
        return Status::InvalidArgument(
            "tables." + decl.name + ".placement: LOCAL is not for dense tables; '" +
            decl.name + "' holds " + std::string(model.name()) +
            "'s dense weights, which every worker pulls whole and updates (use REMOTE)");
      }
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
