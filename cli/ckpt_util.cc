#include "cli/ckpt_util.h"

#include <cinttypes>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>

#include "common/keys.h"
#include "models/model_tables.h"
#include "models/registry.h"
#include "table/row_initializer.h"

namespace psrec::cli::ckpt {

std::string IdLabel(uint64_t key) {
  if (key < (uint64_t{1} << 63)) return std::to_string(key);
  char buf[24];
  std::snprintf(buf, sizeof(buf), "#%016" PRIx64, key);
  return buf;
}

Result<IdLabels> IdLabels::Of(const checkpoint::LoadedCheckpoint& checkpoint, TableId table) {
  IdLabels labels;
  ASSIGN_OR_RETURN(labels.text_, checkpoint::ReadIdText(checkpoint, table));
  return labels;
}

std::string IdLabels::operator()(uint64_t key) const {
  auto it = text_.find(key);
  return it != text_.end() ? it->second : IdLabel(key);
}

Result<uint64_t> KeyOfArgument(const std::string& text) {
  if (text.empty()) return Status::InvalidArgument("empty id");
  if (text[0] == '#') {
    uint64_t key = 0;
    if (text.size() < 2 || text.size() > 17) return Status::InvalidArgument("bad key " + text);
    for (size_t i = 1; i < text.size(); ++i) {
      const char c = text[i];
      int digit;
      if (c >= '0' && c <= '9') digit = c - '0';
      else if (c >= 'a' && c <= 'f') digit = c - 'a' + 10;
      else if (c >= 'A' && c <= 'F') digit = c - 'A' + 10;
      else return Status::InvalidArgument("bad key " + text + " (want #<hex>)");
      key = key * 16 + static_cast<uint64_t>(digit);
    }
    return key;
  }
  return KeyOfRawId(text);
}

std::string Num(double value) {
  if (!std::isfinite(value)) return "null";
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.6g", value);
  return buf;
}

std::string Hex64(uint64_t value) {
  char buf[24];
  std::snprintf(buf, sizeof(buf), "%016" PRIx64, value);
  return buf;
}

Result<checkpoint::LoadedCheckpoint> OpenCheckpoint(const std::string& dir, bool verify) {
  checkpoint::ReadCheckpointOptions options;
  options.verify_checksums = verify;
  return checkpoint::ReadCheckpoint(dir, options);
}

Result<const checkpoint::TableInfo*> FindTableNamed(const checkpoint::LoadedCheckpoint& checkpoint,
                                                    const std::string& name) {
  if (const checkpoint::TableInfo* t = checkpoint.FindTable(name)) return t;
  std::string names;
  for (const auto& t : checkpoint.manifest.tables()) {
    if (!names.empty()) names += ", ";
    names += t.name();
  }
  return Status::NotFound("no table '" + name + "' (tables: " + names + ")");
}

Result<std::map<uint64_t, std::string>> ReadItemNames(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound(path + ": cannot open");
  std::map<uint64_t, std::string> names;
  std::string line;
  int64_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    const size_t bar = line.find('|');
    if (bar == std::string::npos || bar == 0) {
      return Status::InvalidArgument(path + ":" + std::to_string(number) +
                                     ": expected id|title|...");
    }
    const size_t end = line.find('|', bar + 1);
    names[KeyOfRawId(line.substr(0, bar))] =
        line.substr(bar + 1, end == std::string::npos ? std::string::npos : end - bar - 1);
  }
  return names;
}

int Fail(const std::string& verb, const Status& status) {
  std::cerr << "psrec ckpt " << verb << ": " << status.message() << "\n";
  return kExitProblem;
}

std::vector<char*> NormalizeShortFlags(int argc, char** argv, std::vector<std::string>* storage) {
  storage->assign(argv, argv + argc);
  for (std::string& arg : *storage) {
    if (arg == "-k") arg = "--k";
  }
  std::vector<char*> out;
  for (std::string& arg : *storage) out.push_back(arg.data());
  return out;
}

Result<std::unique_ptr<models::Model>> ModelOfCheckpoint(
    const checkpoint::LoadedCheckpoint& checkpoint) {
  const checkpoint::Manifest& m = checkpoint.manifest;
  ASSIGN_OR_RETURN(std::unique_ptr<models::Model> model, models::CreateModel(m.job().model()));
  RETURN_IF_ERROR(model->RestoreScalars(
                           models::ModelScalars(m.model_scalars().begin(), m.model_scalars().end()))
                      .WithContext(checkpoint.dir));
  for (const checkpoint::TableInfo& table : m.tables()) {
    const size_t id = table.id();
    if (id >= model->tables().size() || model->tables()[id].name != table.name() ||
        model->tables()[id].payload_floats != table.dim()) {
      return Status::Corruption(checkpoint.dir + ": table " + table.name() + " (id " +
                                std::to_string(id) + ", dim " + std::to_string(table.dim()) +
                                ") is not a table of model " + std::string(model->name()));
    }
  }
  std::vector<std::vector<float>> dense;
  for (size_t t = 0; t < model->tables().size(); ++t) {
    if (model->tables()[t].keyed_by != models::KeyedBy::kDense) continue;
    ASSIGN_OR_RETURN(std::vector<float> vector,
                     DenseVectorOf(checkpoint, *model, static_cast<TableId>(t)));
    dense.push_back(std::move(vector));
  }
  if (!dense.empty()) model->SetScoringDense(std::move(dense));
  return model;
}

Result<std::vector<float>> DenseVectorOf(const checkpoint::LoadedCheckpoint& checkpoint,
                                         const models::Model& model, TableId table) {
  const checkpoint::Manifest& m = checkpoint.manifest;
  ASSIGN_OR_RETURN(std::vector<TableSpec> specs, models::TableSpecsFor(model, m.job()));
  const TableSpec& spec = specs[table];
  if (!spec.is_dense()) {
    return Status::InvalidArgument("table " + spec.name + " is not a dense table");
  }
  const size_t dim = static_cast<size_t>(spec.dim);
  const uint64_t blocks = spec.blocks();
  std::vector<float> vector(blocks * dim);
  std::vector<bool> found(blocks, false);
  if (checkpoint.FindTable(table) != nullptr) {
    RETURN_IF_ERROR(checkpoint::ForEachCheckpointRow(
        checkpoint, table, [&](uint64_t key, const float* payload, const float*) {
          if (key >= blocks) return;  // no model reads past its blocks
          std::copy(payload, payload + dim, vector.begin() + static_cast<ptrdiff_t>(key * dim));
          found[key] = true;
        }));
  }
  for (uint64_t b = 0; b < blocks; ++b) {
    if (!found[b]) table::InitializeRow(spec, m.seed(), b, vector.data() + b * dim);
  }
  vector.resize(spec.dense_floats);
  return vector;
}

const models::TableDecl& DeclOf(const models::Model& model, const checkpoint::TableInfo& table) {
  return model.tables()[table.id()];
}

}  // namespace psrec::cli::ckpt
