#include "train/pretrained_rows.h"

#include <algorithm>
#include <filesystem>
#include <memory>
#include <span>
#include <sstream>
#include <unordered_map>
#include <utility>
#include <vector>

#include "checkpoint/checkpoint_catalog.h"
#include "checkpoint/checkpoint_format.h"
#include "checkpoint/job_identity.h"
#include "common/config.h"
#include "models/ncf/ncf_model.h"
#include "models/ncf/ncf_pretrain.h"
#include "table/row_initializer.h"

namespace psrec::train {
namespace {

using config::ModelConfig;

// The data fields (checkpoint/job_identity.h's "field=value" lines) that differ.
std::string DataDifferences(const std::string& saved, const std::string& current) {
  std::istringstream a(saved), b(current);
  std::string line_a, line_b, out;
  while (true) {
    const bool more_a = static_cast<bool>(std::getline(a, line_a));
    const bool more_b = static_cast<bool>(std::getline(b, line_b));
    if (!more_a && !more_b) break;
    if (more_a && more_b && line_a == line_b) continue;
    if (!out.empty()) out += "; ";
    out += (more_a ? line_a : "(absent)") + " (checkpoint) vs " + (more_b ? line_b : "(absent)") +
           " (this job)";
  }
  return out.empty() ? "the data description's hash" : out;
}

// The checkpoint a model.pretrain path names: the directory itself when it holds a MANIFEST,
// else the newest valid checkpoint under it (a checkpoint root).
Result<checkpoint::LoadedCheckpoint> OpenOne(const config::JobConfig& job,
                                             const std::string& field, const std::string& path,
                                             ModelConfig::Type want) {
  const std::string context = "model.pretrain." + field;
  std::string dir = path;
  if (!std::filesystem::exists(std::filesystem::path(path) / checkpoint::kManifestName)) {
    Result<std::string> latest = checkpoint::LatestValidCheckpoint(path);
    if (!latest.ok()) {
      return latest.status().WithContext(context + ": " + path +
                                         " is neither a checkpoint nor a checkpoint root");
    }
    dir = *latest;
  }
  checkpoint::ReadCheckpointOptions quick;  // each rows file is checksummed as it is read
  quick.verify_checksums = false;
  Result<checkpoint::LoadedCheckpoint> loaded = checkpoint::ReadCheckpoint(dir, quick);
  if (!loaded.ok()) return loaded.status().WithContext(context);
  const ModelConfig& saved = loaded->manifest.job().model();
  const ModelConfig& mine = job.model();
  if (saved.type() != want) {
    return Status::InvalidArgument(context + ": " + dir + " is a checkpoint of model.type " +
                                   ModelConfig::Type_Name(saved.type()) + ", expected " +
                                   ModelConfig::Type_Name(want));
  }
  if (want == ModelConfig::GMF && saved.dim() != mine.dim()) {
    return Status::InvalidArgument(context + ": " + dir + ": its model.dim is " +
                                   std::to_string(saved.dim()) + ", this NeuMF's model.dim is " +
                                   std::to_string(mine.dim()));
  }
  if (want == ModelConfig::MLP) {
    Result<std::vector<int>> a = ParseMlpLayers(saved.mlp_layers());
    Result<std::vector<int>> b = ParseMlpLayers(mine.mlp_layers());
    if (!a.ok() || !b.ok() || *a != *b) {
      return Status::InvalidArgument(context + ": " + dir + ": its model.mlp_layers is \"" +
                                     saved.mlp_layers() + "\", this NeuMF's model.mlp_layers is \"" +
                                     mine.mlp_layers() + "\"");
    }
  }
  const checkpoint::JobIdentity current = checkpoint::JobIdentityOf(job);
  if (loaded->manifest.identity().data_hash() != current.data_hash()) {
    return Status::InvalidArgument(
        context + ": " + dir + " was trained on other data than this job: " +
        DataDifferences(loaded->manifest.identity().data_description(),
                        current.data_description()));
  }
  const models::NcfModel model(saved);
  const int row_floats = model.network().shape().row_floats();
  for (const char* name : {"user", "item", "dense"}) {
    const checkpoint::TableInfo* info = loaded->FindTable(std::string(name));
    if (info == nullptr) {
      return Status::InvalidArgument(context + ": " + dir + " has no table " + name);
    }
    const bool dense = std::string(name) == "dense";
    const uint64_t floats = dense ? static_cast<uint64_t>(info->dim()) * info->rows()
                                  : static_cast<uint64_t>(info->dim());
    if (!dense && info->dim() != row_floats) {
      return Status::InvalidArgument(context + ": " + dir + ": table " + name + " has " +
                                     std::to_string(info->dim()) + " floats per row, its " +
                                     ModelConfig::Type_Name(want) + " needs " +
                                     std::to_string(row_floats));
    }
    if (dense && floats < model.network().dense_floats()) {
      return Status::InvalidArgument(context + ": " + dir + ": table dense holds " +
                                     std::to_string(floats) + " floats, its " +
                                     ModelConfig::Type_Name(want) + " has " +
                                     std::to_string(model.network().dense_floats()));
    }
  }
  return std::move(loaded).value();
}

// The flat dense vector of a checkpoint's model (its network's dense_floats floats).
Result<std::vector<float>> FlatDense(const checkpoint::LoadedCheckpoint& ckpt, size_t floats) {
  const checkpoint::TableInfo* info = ckpt.FindTable(std::string("dense"));
  ASSIGN_OR_RETURN(table::EmbeddingTable whole, checkpoint::LoadWholeTable(ckpt, info->id()));
  const auto block = static_cast<size_t>(info->dim());
  std::vector<float> flat(floats);
  for (size_t b = 0; b * block < floats; ++b) {
    const float* row = whole.Find(b);
    if (row == nullptr) {
      return Status::InvalidArgument(ckpt.dir + ": table dense lacks block " + std::to_string(b));
    }
    std::copy_n(row, std::min(block, floats - b * block), flat.begin() + static_cast<std::ptrdiff_t>(b * block));
  }
  return flat;
}

}  // namespace

Result<PretrainedRows> PretrainedRows::Open(const config::JobConfig& job) {
  PretrainedRows rows;
  rows.model_ = job.model();
  rows.seed_ = job.training().seed();
  const config::NcfPretrain& p = job.model().pretrain();
  ASSIGN_OR_RETURN(rows.gmf_, OpenOne(job, "gmf_checkpoint", p.gmf_checkpoint(), ModelConfig::GMF));
  ASSIGN_OR_RETURN(rows.mlp_, OpenOne(job, "mlp_checkpoint", p.mlp_checkpoint(), ModelConfig::MLP));
  return rows;
}

Status PretrainedRows::ForEachRow(const TableSpec& spec, const Keep& keep, const Put& put) const {
  if (spec.name == "dense") return ForEachDenseBlock(spec, keep, put);
  if (spec.name == "user" || spec.name == "item") return ForEachEmbeddingRow(spec, keep, put);
  return Status::OK();
}

Status PretrainedRows::ForEachEmbeddingRow(const TableSpec& spec, const Keep& keep,
                                           const Put& put) const {
  const auto gmf_dim = static_cast<size_t>(model_.dim());
  const auto dim = static_cast<size_t>(spec.dim);
  const size_t mlp_dim = dim - gmf_dim;
  // Each kept key's two segments, as far as the checkpoints hold them.
  struct Parts {
    std::vector<float> gmf, mlp;
  };
  std::unordered_map<uint64_t, Parts> parts;
  const auto collect = [&](const checkpoint::LoadedCheckpoint& ckpt, bool gmf) {
    const size_t floats = gmf ? gmf_dim : mlp_dim;
    return checkpoint::ForEachCheckpointRow(
        ckpt, ckpt.FindTable(spec.name)->id(),
        [&](uint64_t key, const float* payload, const float*) {
          if (keep && !keep(key)) return;
          Parts& p = parts[key];
          (gmf ? p.gmf : p.mlp).assign(payload, payload + floats);
        });
  };
  RETURN_IF_ERROR(collect(gmf_, true));
  RETURN_IF_ERROR(collect(mlp_, false));
  std::vector<float> initial(dim), row(dim);
  for (const auto& [key, p] : parts) {
    if (p.gmf.empty() || p.mlp.empty()) table::InitializeRow(spec, seed_, key, initial.data());
    const std::span<const float> gmf =
        p.gmf.empty() ? std::span<const float>(initial.data(), gmf_dim) : std::span<const float>(p.gmf);
    const std::span<const float> mlp = p.mlp.empty()
                                           ? std::span<const float>(initial.data() + gmf_dim, mlp_dim)
                                           : std::span<const float>(p.mlp);
    models::ComposeNeuMfRow(gmf, mlp, row);
    put(key, row.data());
  }
  return Status::OK();
}

Status PretrainedRows::ForEachDenseBlock(const TableSpec& spec, const Keep& keep,
                                         const Put& put) const {
  const models::NcfModel neumf(model_);
  const models::NcfModel gmf(gmf_.manifest.job().model());
  const models::NcfModel mlp(mlp_.manifest.job().model());
  if (spec.dense_floats != neumf.network().dense_floats()) {
    return Status::Internal("table dense has " + std::to_string(spec.dense_floats) +
                            " floats, the NeuMF network " +
                            std::to_string(neumf.network().dense_floats()));
  }
  ASSIGN_OR_RETURN(const std::vector<float> gmf_dense,
                   FlatDense(gmf_, gmf.network().dense_floats()));
  ASSIGN_OR_RETURN(const std::vector<float> mlp_dense,
                   FlatDense(mlp_, mlp.network().dense_floats()));
  const auto block = static_cast<size_t>(spec.dim);
  std::vector<float> flat(spec.blocks() * block, 0.0f);  // the last block's padding stays 0
  RETURN_IF_ERROR(models::ComposeNeuMfDense(gmf.network(), gmf_dense, mlp.network(), mlp_dense,
                                            model_.pretrain().alpha(), neumf.network(), flat));
  for (uint64_t b = 0; b < spec.blocks(); ++b) {
    if (!keep || keep(b)) put(b, flat.data() + b * block);
  }
  return Status::OK();
}

Result<InitialRows> InitialRowsFor(const config::JobConfig& job) {
  if (!job.model().has_pretrain()) return InitialRows();
  ASSIGN_OR_RETURN(PretrainedRows opened, PretrainedRows::Open(job));
  auto rows = std::make_shared<const PretrainedRows>(std::move(opened));
  return InitialRows([rows](const TableSpec& spec, const PretrainedRows::Keep& keep,
                            const PretrainedRows::Put& put) {
    return rows->ForEachRow(spec, keep, put);
  });
}

}  // namespace psrec::train
