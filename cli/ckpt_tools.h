// The verbs of `psrec ckpt` implemented outside cli/ckpt_command.cc. Each takes argv
// with argv[0] = the verb and returns the process exit code (ckpt_util.h kExit*).
#pragma once

#include <string>

#include "checkpoint/checkpoint_reader.h"
#include "common/flags.h"
#include "models/model.h"

namespace psrec::cli::ckpt {

int RunShow(int argc, char** argv);     // ckpt_query.cc
int RunTopK(int argc, char** argv);     // ckpt_query.cc
int RunSimilar(int argc, char** argv);  // ckpt_query.cc
int RunDiff(int argc, char** argv);     // ckpt_export.cc
int RunExport(int argc, char** argv);   // ckpt_export.cc

// Dense tables (models::KeyedBy::kDense), ckpt_dense.cc: `show` prints each parameter's
// name, shape and values; `export` writes each parameter to <out_dir>/<name>.npy ('<f4',
// shape (rows, cols)). REQUIRES: `table` is a dense table of the checkpoint's model.
int ShowDense(const checkpoint::LoadedCheckpoint& checkpoint, const models::Model& model,
              const checkpoint::TableInfo& table, bool json);
int ExportDense(const checkpoint::LoadedCheckpoint& checkpoint, const models::Model& model,
                const checkpoint::TableInfo& table, const std::string& out_dir, bool json);

// Parses argv[1..) (accepting -k for --k). Returns -1 to go on, else the exit code to return
// (0 after --help, kExitUsage after printing the error and usage).
int ParseToolFlags(FlagSet* flags, int argc, char** argv);

}  // namespace psrec::cli::ckpt
