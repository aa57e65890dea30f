// Checkpoint write and load speed for issue #4's model: 1M user + 100k item rows of dim 33
// (32 factors + bias) with AdaGrad state (66 floats per row, 290 MB), written to and read
// from /tmp/psrec_checkpoint_bench (removed afterwards).
//
//   build/bench/checkpoint_bench
#include <filesystem>
#include <vector>

#include <benchmark/benchmark.h>

#include "common/keys.h"
#include "checkpoint/checkpoint_reader.h"
#include "checkpoint/checkpoint_writer.h"
#include "table/embedding_table.h"
#include "models/mf/biased_mf.h"

namespace psrec::ps {
namespace {

namespace fs = std::filesystem;

const char kRoot[] = "/tmp/psrec_checkpoint_bench";

TableSpec Spec(TableId id, const char* name) {
  TableSpec spec;
  spec.id = id;
  spec.name = name;
  spec.dim = 33;
  spec.init_std = 0.1f;
  spec.optimizer.set_kind(config::OptimizerConfig::ADAGRAD);
  return spec;
}

// 1M users and 100k items, every row created.
std::vector<table::EmbeddingTable>& Tables() {
  static std::vector<table::EmbeddingTable>* tables = [] {
    auto* t = new std::vector<table::EmbeddingTable>();
    t->emplace_back(Spec(models::kUserTable, "user"), 1);
    t->emplace_back(Spec(models::kItemTable, "item"), 1);
    for (auto [index, rows] : {std::pair<int, uint64_t>{0, 1000000}, {1, 100000}}) {
      table::EmbeddingTable& table = (*t)[index];
      table.Reserve(rows);
      std::vector<uint64_t> keys(rows);
      for (uint64_t k = 0; k < rows; ++k) keys[k] = k;
      std::vector<float> out(rows * 33);
      table.Pull(keys, out.data());
    }
    return t;
  }();
  return *tables;
}

void BM_CheckpointWrite(benchmark::State& state) {
  std::vector<table::EmbeddingTable>& tables = Tables();
  int64_t step = 0;
  uint64_t bytes = 0;
  for (auto _ : state) {
    state.PauseTiming();
    fs::remove_all(kRoot);
    state.ResumeTiming();
    std::vector<checkpoint::ShardToWrite> shards = {{tables[0].rows(), 0, false}, {tables[1].rows(), 0, false}};
    checkpoint::Manifest manifest;
    manifest.set_step(++step);
    Result<std::string> dir = checkpoint::WriteCheckpoint(kRoot, manifest, shards);
    if (!dir.ok()) state.SkipWithError(dir.status().ToString().c_str());
    bytes = 0;
    for (const auto& f : fs::directory_iterator(*dir)) bytes += f.file_size();
  }
  state.SetBytesProcessed(state.iterations() * bytes);
  state.counters["rows"] = static_cast<double>(tables[0].size() + tables[1].size());
}
BENCHMARK(BM_CheckpointWrite)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(3);

void BM_CheckpointLoad(benchmark::State& state) {
  std::vector<table::EmbeddingTable>& tables = Tables();
  fs::remove_all(kRoot);
  std::vector<checkpoint::ShardToWrite> shards = {{tables[0].rows(), 0, false}, {tables[1].rows(), 0, false}};
  checkpoint::Manifest manifest;
  manifest.set_step(1);
  Result<std::string> dir = checkpoint::WriteCheckpoint(kRoot, manifest, shards);
  if (!dir.ok()) state.SkipWithError(dir.status().ToString().c_str());
  const bool verify_first = state.range(0) != 0;
  for (auto _ : state) {
    // Resume path: validate the manifest and structure, then load (checksums are checked
    // while loading); verify_first adds a separate full checksum pass first.
    checkpoint::ReadCheckpointOptions options;
    options.verify_checksums = verify_first;
    Result<checkpoint::LoadedCheckpoint> ckpt = checkpoint::ReadCheckpoint(*dir, options);
    if (!ckpt.ok()) state.SkipWithError(ckpt.status().ToString().c_str());
    table::EmbeddingTable users(Spec(models::kUserTable, "user"), 1), items(Spec(models::kItemTable, "item"), 1);
    Status s = checkpoint::LoadRowsInto(*ckpt, models::kUserTable, nullptr, &users);
    if (s.ok()) s = checkpoint::LoadRowsInto(*ckpt, models::kItemTable, nullptr, &items);
    if (!s.ok()) state.SkipWithError(s.ToString().c_str());
    benchmark::DoNotOptimize(users.size() + items.size());
  }
  fs::remove_all(kRoot);
}
BENCHMARK(BM_CheckpointLoad)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(3);

}  // namespace
}  // namespace psrec::ps

BENCHMARK_MAIN();
