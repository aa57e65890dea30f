// Micro-benchmarks of one table shard: lookup of existing rows, insertion of new rows, push
// with each optimizer (SGD, AdaGrad, Adam, FTRL), each optimizer's row update on
// cache-resident rows, and the row update through the virtual interface versus the kernel
// called directly (the measurement behind table/optimizer.h's choice).
//
//   build/bench/table_bench --benchmark_filter='Table|OptimizerRow'
#include <cstdint>
#include <memory>
#include <random>
#include <vector>

#include <benchmark/benchmark.h>

#include "common/keys.h"
#include "table/embedding_table.h"
#include "table/optimizer.h"
#include "models/mf/biased_mf.h"

namespace psrec::ps {
namespace {

TableSpec Spec(config::OptimizerConfig::Kind kind, int dim) {
  TableSpec spec;
  spec.id = models::kItemTable;
  spec.dim = dim;
  spec.init_std = 0.1f;
  spec.optimizer.set_kind(kind);
  return spec;
}

// Random keys drawn from `rows` distinct ones, batch by batch, as a server sees them.
std::vector<uint64_t> Keys(size_t count, size_t rows, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<uint64_t> pick(0, rows - 1);
  std::vector<uint64_t> keys(count);
  for (auto& k : keys) k = pick(rng) * 2654435761ULL;
  return keys;
}

void BM_TablePullExisting(benchmark::State& state) {
  const size_t rows = state.range(0);
  const int dim = 33;
  table::EmbeddingTable table(Spec(config::OptimizerConfig::ADAGRAD, dim), 1);
  std::vector<uint64_t> all(rows);
  for (size_t i = 0; i < rows; ++i) all[i] = i * 2654435761ULL;
  std::vector<float> sink(rows * dim);
  table.Pull(all, sink.data());
  const size_t batch = 4096;
  std::vector<uint64_t> keys = Keys(batch * 64, rows, 2);
  std::vector<float> out(batch * dim);
  size_t offset = 0;
  for (auto _ : state) {
    table.Pull(std::span<const uint64_t>(keys.data() + offset, batch), out.data());
    benchmark::DoNotOptimize(out.data());
    offset = (offset + batch) % keys.size();
  }
  state.SetItemsProcessed(state.iterations() * batch);
}
BENCHMARK(BM_TablePullExisting)->Arg(10000)->Arg(1000000);

void BM_TableInsert(benchmark::State& state) {
  const int dim = 33;
  const size_t rows = state.range(0);
  std::vector<float> out(dim);
  for (auto _ : state) {
    table::EmbeddingTable table(Spec(config::OptimizerConfig::ADAGRAD, dim), 1);
    for (uint64_t k = 0; k < rows; ++k) table.Pull(std::span<const uint64_t>(&k, 1), out.data());
    benchmark::DoNotOptimize(table.size());
  }
  state.SetItemsProcessed(state.iterations() * rows);
}
BENCHMARK(BM_TableInsert)->Arg(1000000)->Unit(benchmark::kMillisecond);

void BM_TablePush(benchmark::State& state) {
  const auto kind = static_cast<config::OptimizerConfig::Kind>(state.range(0));
  const size_t rows = 1000000;
  const int dim = 33;
  table::EmbeddingTable table(Spec(kind, dim), 1);
  std::vector<uint64_t> all(rows);
  for (size_t i = 0; i < rows; ++i) all[i] = i * 2654435761ULL;
  std::vector<float> sink(rows * dim);
  table.Pull(all, sink.data());
  const size_t batch = 4096;
  std::vector<uint64_t> keys = Keys(batch * 64, rows, 3);
  std::vector<float> grads(batch * dim, 0.01f);
  size_t offset = 0;
  for (auto _ : state) {
    table.Push(std::span<const uint64_t>(keys.data() + offset, batch), grads.data(), 0.01f);
    offset = (offset + batch) % keys.size();
  }
  state.SetItemsProcessed(state.iterations() * batch);
  state.SetLabel(table.optimizer().name());
}
BENCHMARK(BM_TablePush)
    ->Arg(config::OptimizerConfig::SGD)
    ->Arg(config::OptimizerConfig::ADAGRAD)
    ->Arg(config::OptimizerConfig::ADAM)
    ->Arg(config::OptimizerConfig::FTRL);

// The row update alone, on rows resident in cache.
constexpr int kRows = 512;

void BM_OptimizerVirtual(benchmark::State& state) {
  const int dim = state.range(0);
  config::OptimizerConfig config;
  config.set_kind(config::OptimizerConfig::ADAGRAD);
  std::unique_ptr<table::Optimizer> opt = table::MakeOptimizer(config);
  std::vector<float> w(kRows * dim, 0.1f), a(kRows * dim, 1.0f), g(kRows * dim, 1e-3f);
  for (auto _ : state) {
    for (int r = 0; r < kRows; ++r) {
      opt->UpdateRow(&w[r * dim], &a[r * dim], &g[r * dim], dim, 0.01f);
    }
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * kRows);
}
BENCHMARK(BM_OptimizerVirtual)->Arg(9)->Arg(33)->Arg(129);

void BM_OptimizerDirect(benchmark::State& state) {
  const int dim = state.range(0);
  std::vector<float> w(kRows * dim, 0.1f), a(kRows * dim, 1.0f), g(kRows * dim, 1e-3f);
  for (auto _ : state) {
    for (int r = 0; r < kRows; ++r) {
      table::AdaGradUpdateRow(&w[r * dim], &a[r * dim], &g[r * dim], dim, 0.01f, 1e-8f);
    }
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * kRows);
}
BENCHMARK(BM_OptimizerDirect)->Arg(9)->Arg(33)->Arg(129);

// Each optimizer's row update through the interface, rows of dim 33 with their state
// resident in cache: what a push costs apart from finding the rows.
void BM_OptimizerRow(benchmark::State& state) {
  const int dim = 33;
  config::OptimizerConfig config;
  config.set_kind(static_cast<config::OptimizerConfig::Kind>(state.range(0)));
  std::unique_ptr<table::Optimizer> opt = table::MakeOptimizer(config);
  const int floats = opt->state_floats(dim);
  std::vector<float> w(kRows * dim, 0.1f), s(kRows * floats), g(kRows * dim, 1e-3f);
  for (int r = 0; r < kRows; ++r) opt->InitState(&w[r * dim], &s[r * floats], dim);
  for (auto _ : state) {
    for (int r = 0; r < kRows; ++r) {
      opt->UpdateRow(&w[r * dim], &s[r * floats], &g[r * dim], dim, 0.01f);
    }
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * kRows);
  state.SetLabel(opt->name());
}
BENCHMARK(BM_OptimizerRow)
    ->Arg(config::OptimizerConfig::SGD)
    ->Arg(config::OptimizerConfig::ADAGRAD)
    ->Arg(config::OptimizerConfig::ADAM)
    ->Arg(config::OptimizerConfig::FTRL);

void BM_OptimizerSgdVirtual(benchmark::State& state) {
  const int dim = state.range(0);
  std::unique_ptr<table::Optimizer> opt = table::MakeOptimizer(config::OptimizerConfig());
  std::vector<float> w(kRows * dim, 0.1f), g(kRows * dim, 1e-3f);
  for (auto _ : state) {
    for (int r = 0; r < kRows; ++r) opt->UpdateRow(&w[r * dim], nullptr, &g[r * dim], dim, 0.01f);
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * kRows);
}
BENCHMARK(BM_OptimizerSgdVirtual)->Arg(33);

void BM_OptimizerSgdDirect(benchmark::State& state) {
  const int dim = state.range(0);
  std::vector<float> w(kRows * dim, 0.1f), g(kRows * dim, 1e-3f);
  for (auto _ : state) {
    for (int r = 0; r < kRows; ++r) table::SgdUpdateRow(&w[r * dim], &g[r * dim], dim, 0.01f);
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * kRows);
}
BENCHMARK(BM_OptimizerSgdDirect)->Arg(33);

}  // namespace
}  // namespace psrec::ps

BENCHMARK_MAIN();
