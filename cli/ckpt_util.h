// Helpers shared by the `psrec ckpt` tools (cli/ckpt_*.cc): naming rows by their raw
// ids, figures, opening checkpoints and tables, item titles, scoring.
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/json.h"
#include "common/status.h"
#include "checkpoint/checkpoint_reader.h"
#include "checkpoint/id_text_file.h"
#include "models/model.h"
#include "table/embedding_table.h"

namespace psrec::cli::ckpt {

// Exit codes of every ckpt tool.
inline constexpr int kExitOk = 0;
inline constexpr int kExitProblem = 1;  // missing, invalid or corrupt input; nothing found
inline constexpr int kExitUsage = 2;

// The raw id of a key when it is an integer id (keys below 2^63), else "#<hex key>".
std::string IdLabel(uint64_t key);
// How the tools name the rows of one table: the original text of a string id when the
// checkpoint stores it (format 3: checkpoint/id_text_file.h), else IdLabel(key).
class IdLabels {
 public:
  IdLabels() = default;
  // Reads (and checks) every id text file of `table`.
  static Result<IdLabels> Of(const checkpoint::LoadedCheckpoint& checkpoint, TableId table);
  std::string operator()(uint64_t key) const;

 private:
  checkpoint::IdTextMap text_;
};
// Inverse for command lines: "#<hex>" is a key; anything else is a raw id (KeyOfRawId), so
// the original text of a string id ("0155061224", "034545104X") finds its row.
Result<uint64_t> KeyOfArgument(const std::string& text);

// A figure for the text reports: "%.6g", "null" when not finite.
std::string Num(double value);
// "0123456789abcdef": a 64-bit hash as 16 hex digits.
std::string Hex64(uint64_t value);
// The same figure for --json (6 significant digits, null when not finite; common/json.h).
inline Json NumJson(double value) { return JsonNumber(value, 6); }

// Reads and validates a checkpoint (checksums when `verify`).
Result<checkpoint::LoadedCheckpoint> OpenCheckpoint(const std::string& dir, bool verify);
// The table called `name`, or NotFound listing the tables there are.
Result<const checkpoint::TableInfo*> FindTableNamed(const checkpoint::LoadedCheckpoint& checkpoint,
                                                    const std::string& name);

// Item titles by key from a MovieLens u.item style file: "id|title|...", bytes kept as they
// are (latin-1 in ML-100K).
Result<std::map<uint64_t, std::string>> ReadItemNames(const std::string& path);

// The model a checkpoint was trained with (its job's model.type) with the checkpoint's
// scalars, checked against the checkpoint's tables (names and row sizes), and its dense
// tables' vectors (DenseVectorOf) set for scoring (Model::SetScoringDense).
Result<std::unique_ptr<models::Model>> ModelOfCheckpoint(
    const checkpoint::LoadedCheckpoint& checkpoint);
// The model's declaration of the checkpoint table `table`. REQUIRES: ModelOfCheckpoint
// accepted the checkpoint and `table` is one of its tables.
const models::TableDecl& DeclOf(const models::Model& model, const checkpoint::TableInfo& table);

// The flat vector (dense_floats floats) of the dense table `table` of the checkpoint's
// model: its blocks as saved; a block the checkpoint lacks (never pulled) has its initial
// value, as the servers would create it.
Result<std::vector<float>> DenseVectorOf(const checkpoint::LoadedCheckpoint& checkpoint,
                                         const models::Model& model, TableId table);

// Prints "psrec ckpt <verb>: <message>" on stderr and returns kExitProblem.
int Fail(const std::string& verb, const Status& status);

// Turns "-k" into "--k" so that the tools accept the short form issue #4 documents.
std::vector<char*> NormalizeShortFlags(int argc, char** argv, std::vector<std::string>* storage);

}  // namespace psrec::cli::ckpt
