// PretrainedRows: the state a NeuMF job with model.pretrain starts from instead of its
// initializer, composed from a GMF job's and an MLP job's checkpoints (the NCF paper's
// pretraining; the maths is models/ncf/ncf_pretrain.h):
//   "user", "item"  row = [GMF row | MLP row] of the same key; a key only one checkpoint
//                   holds gets the job's initializer value (table/row_initializer.h) for the
//                   other segment, a key neither holds is not produced (it starts from the
//                   initializer when first pulled, as without pretraining);
//   "dense"         the MLP's tower, the output layer [alpha w_gmf, (1 - alpha) w_mlp] with
//                   bias alpha b_gmf + (1 - alpha) b_mlp, cut into the job's blocks.
// Optimizer state is not carried over: rows get their optimizer's initial state (put).
//
// Who loads what: every server calls ForEachRow for each table it serves, keeping its own
// keys (ServerOf), before it listens (ps::ServerOptions::initial_rows); a worker with LOCAL
// user rows keeps the users of its partition. So the checkpoints may come from any number of
// servers and workers, as a resume's may. Each reader needs the two checkpoint directories
// (as a resume needs its checkpoint).
//
// Thread safety: an opened PretrainedRows is immutable; ForEachRow may run on several
// threads (each reads the files itself).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "checkpoint/checkpoint_reader.h"
#include "common/proto/config.pb.h"
#include "common/status.h"
#include "table/table_spec.h"

namespace psrec::train {

class PretrainedRows {
 public:
  using Keep = std::function<bool(uint64_t key)>;
  using Put = std::function<void(uint64_t key, const float* payload)>;

  // Reads both checkpoints' manifests and checks them against `job` (REQUIRES:
  // job.model().has_pretrain()): each path a checkpoint or a checkpoint root, the model
  // types GMF and MLP, the GMF's model.dim and the MLP's model.mlp_layers those of the job,
  // the tables and their widths, the training data the job's. Errors name the config field
  // (model.pretrain.gmf_checkpoint / mlp_checkpoint), the directory and what differs.
  static Result<PretrainedRows> Open(const config::JobConfig& job);

  // put(key, payload) for every composed row of the job's table `spec` whose key passes
  // `keep` (payload: spec.dim floats, valid during the call). Reads (and checksums) the
  // checkpoints' files of that table. Tables other than user, item and dense produce nothing.
  Status ForEachRow(const TableSpec& spec, const Keep& keep, const Put& put) const;

  const std::string& gmf_dir() const { return gmf_.dir; }
  const std::string& mlp_dir() const { return mlp_.dir; }

 private:
  PretrainedRows() = default;
  Status ForEachEmbeddingRow(const TableSpec& spec, const Keep& keep, const Put& put) const;
  Status ForEachDenseBlock(const TableSpec& spec, const Keep& keep, const Put& put) const;

  config::ModelConfig model_;  // the NeuMF's
  uint64_t seed_ = 0;          // training.seed: the initializer's, for missing segments
  checkpoint::LoadedCheckpoint gmf_, mlp_;
};

// ps::ServerOptions::initial_rows (and a LOCAL user table's rows) for `job`: its
// PretrainedRows, opened once and shared, when job.model().has_pretrain(); else a null
// function. Errors are Open's.
using InitialRows = std::function<Status(const TableSpec& spec, const PretrainedRows::Keep& keep,
                                         const PretrainedRows::Put& put)>;
Result<InitialRows> InitialRowsFor(const config::JobConfig& job);

}  // namespace psrec::train
