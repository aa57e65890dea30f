// psrec ckpt ls|info|verify|show|topk|similar|diff|export: look inside checkpoints without a
// running job. This file dispatches and holds ls, info and verify; show/topk/similar are in
// ckpt_query.cc, diff/export in ckpt_export.cc.
#include <algorithm>
#include <cmath>
#include <ctime>
#include <iostream>
#include <string>
#include <vector>

#include "common/flags.h"
#include "cli/ckpt_tools.h"
#include "cli/ckpt_util.h"
#include "cli/commands.h"
#include "checkpoint/checkpoint_catalog.h"

namespace psrec::cli {

namespace {

using ckpt::Num;

std::string FormatTime(int64_t unix_ms) {
  const std::time_t t = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm;
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%SZ", &tm);
  return buf;
}

std::string FormatBytes(uint64_t bytes) {
  char buf[32];
  if (bytes >= (uint64_t{1} << 30)) std::snprintf(buf, sizeof(buf), "%.2f GiB", bytes / 1073741824.0);
  else if (bytes >= (1 << 20)) std::snprintf(buf, sizeof(buf), "%.1f MiB", bytes / 1048576.0);
  else if (bytes >= 1024) std::snprintf(buf, sizeof(buf), "%.1f KiB", bytes / 1024.0);
  else std::snprintf(buf, sizeof(buf), "%llu B", static_cast<unsigned long long>(bytes));
  return buf;
}

int RunLs(int argc, char** argv) {
  bool json = false, verify = false;
  std::vector<std::string> positional;
  FlagSet flags("psrec ckpt ls", "List the checkpoints under a checkpoint directory.");
  flags.AddBool("json", &json, "print JSON");
  flags.AddBool("verify", &verify,
                "also check every rows file's checksum (reads all data); without it \"valid\" "
                "covers the MANIFEST's checksum, file sizes and headers only");
  flags.SetPositional("DIR", &positional, 1, 1);
  if (int rc = ckpt::ParseToolFlags(&flags, argc, argv); rc >= 0) return rc;
  Result<std::vector<checkpoint::CheckpointListing>> listings = checkpoint::ListCheckpoints(positional[0], verify);
  if (!listings.ok()) return ckpt::Fail("ls", listings.status());
  if (json) {
    std::cout << "[";
    for (size_t i = 0; i < listings->size(); ++i) {
      const checkpoint::CheckpointListing& l = (*listings)[i];
      Json j;
      j["path"] = l.path;
      j["step"] = l.step;
      j["epoch"] = l.epoch;
      j["created_unix_ms"] = l.created_unix_ms;
      j["bytes"] = l.bytes;
      j["valid"] = l.valid;
      j["rows_verified"] = verify;  // false: "valid" covers the MANIFEST, sizes and headers
      j["why"] = l.why;
      std::cout << (i ? ",\n " : "") << JsonText(j);  // one checkpoint per line
    }
    std::cout << "]\n";
    return ckpt::kExitOk;
  }
  if (listings->empty()) std::cout << "no checkpoints in " << positional[0] << "\n";
  for (const checkpoint::CheckpointListing& l : *listings) {
    std::cout << l.name << "  step " << l.step << "  "
              << (l.valid ? "epoch " + std::to_string(l.epoch) : std::string("epoch -")) << "  "
              << FormatTime(l.created_unix_ms) << "  " << FormatBytes(l.bytes) << "  "
              << (l.valid ? (verify ? "valid (rows verified)" : "valid (manifest)")
                          : "INVALID: " + l.why)
              << "\n";
  }
  if (!verify && !listings->empty()) {
    std::cout << "valid (manifest): MANIFEST checksum, file sizes and headers checked; rows not "
                 "verified: --verify reads every file\n";
  }
  return ckpt::kExitOk;
}

// The checkpoint's model scalars as ", name value" text.
std::string ScalarsText(const checkpoint::Manifest& m) {
  std::string out;
  for (const auto& [name, value] : m.model_scalars()) {
    out += ", ";
    out += name;
    out += ' ';
    out += ckpt::Num(value);
  }
  return out;
}

struct NormStats {
  double min = 0, p50 = 0, p90 = 0, p99 = 0, max = 0, mean = 0;
};

NormStats Quantiles(std::vector<float> norms) {
  NormStats s;
  if (norms.empty()) return s;
  std::sort(norms.begin(), norms.end());
  auto at = [&](double q) { return norms[static_cast<size_t>(q * (norms.size() - 1))]; };
  s.min = norms.front();
  s.max = norms.back();
  s.p50 = at(0.5);
  s.p90 = at(0.9);
  s.p99 = at(0.99);
  double sum = 0;
  for (float n : norms) sum += n;
  s.mean = sum / norms.size();
  return s;
}

// "    id text: N entries in K file(s)\n" for a table whose string ids have text stored.
std::string IdTextLine(const checkpoint::Manifest& m, uint32_t table) {
  uint64_t entries = 0;
  int files = 0;
  for (const auto& f : m.id_files()) {
    if (f.table_id() != table) continue;
    entries += f.rows();
    ++files;
  }
  if (files == 0) return "";
  return "    id text: " + std::to_string(entries) + " entries in " + std::to_string(files) +
         " file(s)\n";
}

int RunInfo(int argc, char** argv) {
  bool json = false;
  std::vector<std::string> positional;
  FlagSet flags("psrec ckpt info", "Summarize a checkpoint: config, tables, row norms.");
  flags.AddBool("json", &json, "print JSON");
  flags.SetPositional("CKPT", &positional, 1, 1);
  if (int rc = ckpt::ParseToolFlags(&flags, argc, argv); rc >= 0) return rc;
  Result<checkpoint::LoadedCheckpoint> ckpt = ckpt::OpenCheckpoint(positional[0], /*verify=*/false);
  if (!ckpt.ok()) return ckpt::Fail("info", ckpt.status());
  const checkpoint::Manifest& m = ckpt->manifest;
  Result<std::unique_ptr<models::Model>> model = ckpt::ModelOfCheckpoint(*ckpt);
  if (!model.ok()) return ckpt::Fail("info", model.status());
  std::vector<NormStats> norms;
  for (const auto& t : m.tables()) {
    std::vector<float> table_norms;
    table_norms.reserve(t.rows());
    // Norms of the rows' embeddings (the first segment of the model's row layout).
    const int factors = ckpt::DeclOf(**model, t).segments.front().floats;
    Status s = checkpoint::ForEachCheckpointRow(*ckpt, t.id(), [&](uint64_t, const float* p, const float*) {
      double sq = 0;
      for (int i = 0; i < factors; ++i) sq += double{p[i]} * p[i];
      table_norms.push_back(static_cast<float>(std::sqrt(sq)));
    });
    if (!s.ok()) return ckpt::Fail("info", s);
    norms.push_back(Quantiles(std::move(table_norms)));
  }
  const config::JobConfig& job = m.job();
  if (json) {
    Json j;
    j["path"] = ckpt->dir;
    j["format_version"] = m.format_version();
    j["step"] = m.step();
    j["epoch"] = m.epoch();
    j["clock"] = m.clock();
    j["created_unix_ms"] = m.created_unix_ms();
    j["model"] = std::string((*model)->name());
    Json scalars = Json::object();
    for (const auto& [name, value] : m.model_scalars()) scalars[name] = ckpt::NumJson(value);
    j["model_scalars"] = scalars;
    j["shards"] = m.shards();
    j["local_partitions"] = m.local_partitions();
    j["job_id"] = job.job_id();
    j["identity"] = Json{{"job_id", m.identity().job_id()},
                         {"model_type", m.identity().model_type()},
                         {"data_hash", ckpt::Hex64(m.identity().data_hash())}};
    j["model_dim"] = job.model().dim();
    j["tables"] = Json::array();
    for (int i = 0; i < m.tables_size(); ++i) {
      const auto& t = m.tables(i);
      const NormStats& n = norms[i];
      Json table;
      table["name"] = t.name();
      table["id"] = t.id();
      table["dim"] = t.dim();
      table["optimizer"] = config::OptimizerConfig::Kind_Name(t.optimizer().kind());
      table["state_floats"] = t.state_floats();
      table["rows"] = t.rows();
      table["files"] = Json::array();
      for (const auto& f : m.files()) {
        if (f.table_id() != t.id()) continue;
        table["files"].push_back(Json{
            {"name", f.name()}, {"shard", f.shard()}, {"rows", f.rows()}, {"bytes", f.bytes()}});
      }
      table["id_text_files"] = Json::array();
      for (const auto& f : m.id_files()) {
        if (f.table_id() != t.id()) continue;
        table["id_text_files"].push_back(Json{
            {"name", f.name()}, {"worker", f.shard()}, {"entries", f.rows()}, {"bytes", f.bytes()}});
      }
      table["factor_norm"] = Json{{"min", ckpt::NumJson(n.min)}, {"p50", ckpt::NumJson(n.p50)},
                                  {"p90", ckpt::NumJson(n.p90)}, {"p99", ckpt::NumJson(n.p99)},
                                  {"max", ckpt::NumJson(n.max)}, {"mean", ckpt::NumJson(n.mean)}};
      j["tables"].push_back(std::move(table));
    }
    std::cout << JsonText(j) << "\n";
    return ckpt::kExitOk;
  }
  std::cout << ckpt->dir << "\n"
            << "  step " << m.step() << ", epoch " << m.epoch() << ", clock " << m.clock()
            << ", written " << FormatTime(m.created_unix_ms()) << "\n"
            << "  job '" << job.job_id() << "': model dim " << job.model().dim()
            << ", " << (*model)->name() << ScalarsText(m) << ", " << m.shards()
            << " server shard(s)"
            << (m.local_partitions() > 0
                    ? ", " + std::to_string(m.local_partitions()) + " local partition(s)"
                    : std::string())
            << ", seed " << m.seed() << "\n"
            << "  identity: job '" << m.identity().job_id() << "', model "
            << m.identity().model_type() << ", data hash "
            << ckpt::Hex64(m.identity().data_hash()) << "\n";
  for (int i = 0; i < m.tables_size(); ++i) {
    const auto& t = m.tables(i);
    const NormStats& n = norms[i];
    uint64_t bytes = 0;
    std::string per_shard;
    for (const auto& f : m.files()) {
      if (f.table_id() != t.id()) continue;
      bytes += f.bytes();
      if (!per_shard.empty()) per_shard += ' ';
      per_shard += std::to_string(f.rows());
    }
    std::cout << "  table " << t.name() << " (id " << t.id() << "): " << t.rows()
              << " rows x dim " << t.dim() << ", optimizer "
              << config::OptimizerConfig::Kind_Name(t.optimizer().kind()) << " ("
              << t.state_floats() << " state floats/row), " << FormatBytes(bytes) << "\n"
              << "    rows per file: " << per_shard << "\n"
              << IdTextLine(m, t.id())
              << "    factor L2 norm: min " << Num(n.min) << "  p50 " << Num(n.p50) << "  p90 "
              << Num(n.p90) << "  p99 " << Num(n.p99) << "  max " << Num(n.max) << "  mean "
              << Num(n.mean) << "\n";
  }
  return ckpt::kExitOk;
}

int RunVerify(int argc, char** argv) {
  bool json = false;
  std::vector<std::string> positional;
  FlagSet flags("psrec ckpt verify",
                "Check a checkpoint: manifest, file sizes, headers, checksums, row counts, "
                "NaN/inf. Exit 1 naming the first problem.");
  flags.AddBool("json", &json, "print JSON");
  flags.SetPositional("CKPT", &positional, 1, 1);
  if (int rc = ckpt::ParseToolFlags(&flags, argc, argv); rc >= 0) return rc;
  auto report = [&](const Status& s, uint64_t rows) {
    if (json) {
      Json j{{"path", positional[0]}, {"ok", s.ok()}, {"rows", rows}, {"problem", s.message()}};
      std::cout << JsonText(j) << "\n";
      return s.ok() ? ckpt::kExitOk : ckpt::kExitProblem;
    }
    if (!s.ok()) return ckpt::Fail("verify", s);
    std::cout << positional[0] << ": OK (" << rows << " rows checked)\n";
    return ckpt::kExitOk;
  };
  Result<checkpoint::LoadedCheckpoint> ckpt = ckpt::OpenCheckpoint(positional[0], /*verify=*/true);
  if (!ckpt.ok()) return report(ckpt.status(), 0);
  uint64_t rows = 0;
  for (const auto& t : ckpt->manifest.tables()) {
    Status bad;
    const int floats = t.dim() + t.state_floats();
    Status s = checkpoint::ForEachCheckpointRow(*ckpt, t.id(), [&](uint64_t key, const float* p, const float*) {
      ++rows;
      if (!bad.ok()) return;
      for (int i = 0; i < floats; ++i) {  // payload and state are contiguous in a row
        if (!std::isfinite(p[i])) {
          bad = Status::Corruption("table " + t.name() + " row " + ckpt::IdLabel(key) +
                                   (i < t.dim() ? " value " : " optimizer state ") +
                                   std::to_string(i < t.dim() ? i : i - t.dim()) + " is " +
                                   (std::isnan(p[i]) ? "NaN" : "infinite"));
          return;
        }
      }
    });
    if (!s.ok()) return report(s, rows);
    if (!bad.ok()) return report(bad, rows);
  }
  return report(Status::OK(), rows);
}

void PrintCkptHelp() {
  std::cout << "Usage: psrec ckpt <verb> [flags]   (psrec ckpt <verb> --help for its flags)\n\n"
               "  ls DIR                      checkpoints with step, time, size, valid or why not\n"
               "  info CKPT                   config summary, tables, rows per shard, row norms\n"
               "  verify CKPT                 checksums, sizes, row counts, NaN/inf; exit 1 on a problem\n"
               "  show CKPT --table T --id ID a row: factors, bias, optimizer state\n"
               "  topk CKPT --user ID -k N    top items by predicted score (also: psrec recommend)\n"
               "  similar CKPT --item ID -k N nearest items by cosine similarity\n"
               "  diff A B                    rows added/removed, L2 change, most changed rows\n"
               "  export CKPT --table T --format npy|csv --out PATH\n"
               "All verbs take --json.\n";
}

}  // namespace

namespace ckpt {
int ParseToolFlags(FlagSet* flags, int argc, char** argv) {
  std::vector<std::string> storage;
  std::vector<char*> args = NormalizeShortFlags(argc, argv, &storage);
  Status s = flags->Parse(static_cast<int>(args.size()), args.data(), 1);
  if (flags->help_requested()) {
    std::cout << flags->Usage();
    return kExitOk;
  }
  if (!s.ok()) {
    std::cerr << s.message() << "\n" << flags->Usage();
    return kExitUsage;
  }
  return -1;
}
}  // namespace ckpt

// `psrec recommend CKPT --user ID -k N`: the user-facing name of `psrec ckpt topk`.
int RunRecommendCommand(int argc, char** argv) { return ckpt::RunTopK(argc, argv); }

int RunCkptCommand(int argc, char** argv) {
  const std::string verb = argc >= 2 ? argv[1] : "";
  // Each verb sees argv[0] = its name, like a subcommand of its own.
  int sub_argc = argc - 1;
  char** sub_argv = argv + 1;
  if (verb == "ls") return RunLs(sub_argc, sub_argv);
  if (verb == "info") return RunInfo(sub_argc, sub_argv);
  if (verb == "verify") return RunVerify(sub_argc, sub_argv);
  if (verb == "show") return ckpt::RunShow(sub_argc, sub_argv);
  if (verb == "topk") return ckpt::RunTopK(sub_argc, sub_argv);
  if (verb == "similar") return ckpt::RunSimilar(sub_argc, sub_argv);
  if (verb == "diff") return ckpt::RunDiff(sub_argc, sub_argv);
  if (verb == "export") return ckpt::RunExport(sub_argc, sub_argv);
  PrintCkptHelp();
  if (verb.empty() || verb == "help" || verb == "--help" || verb == "-h") return ckpt::kExitOk;
  std::cerr << "psrec ckpt: unknown verb '" << verb << "'\n";
  return ckpt::kExitUsage;
}

}  // namespace psrec::cli
