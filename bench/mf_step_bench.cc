// Micro-benchmark of biased MF's per-rating SGD step on the layout of `psrec bench train`'s
// DELTAS / LOCAL-users batches (configs/bench_synth20m.textproto): a batch of 1M ratings,
// 20 per user in user order (BY_USER), users' rows contiguous in their table, items drawn
// Zipf(0.8) from 100k whose rows (33 floats, pulled copies) span 13 MB, k = 32.
// One benchmark per kernel: the unfused Eigen step (BiasedMf::Step with UNFUSED) and the
// fused kernel (models/mf/fused_sgd_step.h) for each instruction set this CPU runs, and
// the fused kernel on the batch ordered in blocks of item rows, and on the orders the trainer
// makes (BY_USER, BY_TILE: BM_FusedStepTrainerOrder).
// Items per second = ratings per second; compare CPU times on a shared machine.
//
//   build-n/bench/mf_step_bench --benchmark_repetitions=3
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include <benchmark/benchmark.h>

#include "models/mf/biased_mf.h"
#include "models/mf/fused_sgd_step.h"
#include "table/optimizer.h"
#include "train/batch_source.h"

namespace psrec::models::mf {
namespace {

constexpr int kFactors = 32;
constexpr size_t kDim = kFactors + 1;
constexpr size_t kUsers = 50000;
constexpr size_t kRatingsPerUser = 20;
constexpr size_t kItems = 100000;

struct Layout {
  std::vector<uint32_t> user_of, item_of;
  std::vector<float> labels, users, items;
};

const Layout& BenchLayout() {
  static const Layout layout = [] {
    Layout l;
    std::mt19937 rng(2026);
    std::vector<double> cdf(kItems);
    double total = 0;
    for (size_t i = 0; i < kItems; ++i) cdf[i] = total += std::pow(i + 1.0, -0.8);
    std::uniform_real_distribution<double> uniform(0, total);
    std::uniform_int_distribution<int> label(1, 5);
    // A random permutation: popular items are not neighbours in the pulled buffer.
    std::vector<uint32_t> slot_of(kItems);
    for (size_t i = 0; i < kItems; ++i) slot_of[i] = static_cast<uint32_t>(i);
    std::shuffle(slot_of.begin(), slot_of.end(), rng);
    for (size_t u = 0; u < kUsers; ++u) {
      for (size_t r = 0; r < kRatingsPerUser; ++r) {
        const size_t item = std::lower_bound(cdf.begin(), cdf.end(), uniform(rng)) - cdf.begin();
        l.user_of.push_back(static_cast<uint32_t>(u));
        l.item_of.push_back(slot_of[std::min(item, kItems - 1)]);
        l.labels.push_back(static_cast<float>(label(rng)));
      }
    }
    std::normal_distribution<float> normal(0.0f, 0.05f);
    l.users.resize(kUsers * kDim);
    l.items.resize(kItems * kDim);
    for (float& v : l.users) v = normal(rng);
    for (float& v : l.items) v = normal(rng);
    return l;
  }();
  return layout;
}

// Runs `step` over the whole batch per iteration, on copies of the rows (stepped batch after
// batch, as epochs do).
template <typename Step>
void RunBatches(benchmark::State& state, Step&& step) {
  const Layout& l = BenchLayout();
  std::vector<float> users = l.users, items = l.items;
  RowLookup fields[2];
  fields[0] = {users.data(), nullptr, kDim, l.user_of.data(), 1, nullptr};
  fields[1] = {items.data(), nullptr, kDim, l.item_of.data(), 1, nullptr};
  const ExampleBatch batch{l.labels.size(), l.labels.data(), 1, fields, {}, {}};
  double sse = 0;
  for (auto _ : state) sse += step(batch);
  benchmark::DoNotOptimize(sse);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * l.labels.size()));
}

constexpr float kLearningRate = 0.01f;

void BM_UnfusedStep(benchmark::State& state) {
  config::ModelConfig config;
  config.set_dim(kFactors);
  config.set_step_kernel(config::ModelConfig::UNFUSED);
  BiasedMf model(config);
  benchmark::DoNotOptimize(model.RestoreScalars({{"global_mean", 3.0}}));
  const auto sgd = table::MakeOptimizer(config::OptimizerConfig());
  const RowStepper steppers[2] = {{sgd.get(), kLearningRate, 0}, {sgd.get(), kLearningRate, 0}};
  std::vector<float> scratch;
  RunBatches(state, [&](ExampleBatch batch) {
    batch.steppers = steppers;
    return model.Step(batch, &scratch);
  });
}
BENCHMARK(BM_UnfusedStep)->Unit(benchmark::kMillisecond);

void BM_FusedStep(benchmark::State& state) {
  const StepIsa isa = static_cast<StepIsa>(state.range(0));
  if (!CpuRuns(isa)) {
    state.SkipWithError("this CPU does not run this instruction set");
    return;
  }
  state.SetLabel(std::string(StepIsaName(isa)));
  const FusedSgdTerms terms{kFactors, 3.0f, 0.02f, 0.005f, kLearningRate, kLearningRate};
  RunBatches(state, [&](const ExampleBatch& batch) { return FusedSgdStep(isa, terms, batch); });
}
BENCHMARK(BM_FusedStep)
    ->Arg(static_cast<int>(StepIsa::kPortable))
    ->Arg(static_cast<int>(StepIsa::kAvx2))
    ->Arg(static_cast<int>(StepIsa::kAvx512))
    ->Unit(benchmark::kMillisecond);

// The same batch ordered item block major, as a shared-memory trainer's grid orders its
// ratings: all ratings of the first `block` item rows (by pulled slot; users in order within
// a block), then the next block. A block's rows stay in L2 while its ratings run; the user
// rows are read once per block, in order (the hardware prefetcher's case). Arg: rows per
// block (8000 x 132 B = 1 MB); 100000 = one block, the batch order.
void BM_FusedStepItemBlocks(benchmark::State& state) {
  const uint32_t block = static_cast<uint32_t>(state.range(0));
  const Layout& l = BenchLayout();
  std::vector<size_t> order(l.labels.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return l.item_of[a] / block < l.item_of[b] / block;
  });
  Layout blocked;
  for (const size_t i : order) {
    blocked.user_of.push_back(l.user_of[i]);
    blocked.item_of.push_back(l.item_of[i]);
    blocked.labels.push_back(l.labels[i]);
  }
  std::vector<float> users = l.users, items = l.items;
  RowLookup fields[2];
  fields[0] = {users.data(), nullptr, kDim, blocked.user_of.data(), 1, nullptr};
  fields[1] = {items.data(), nullptr, kDim, blocked.item_of.data(), 1, nullptr};
  const ExampleBatch batch{blocked.labels.size(), blocked.labels.data(), 1, fields, {}, {}};
  const FusedSgdTerms terms{kFactors, 3.0f, 0.02f, 0.005f, kLearningRate, kLearningRate};
  state.SetLabel(std::string(StepIsaName(WidestStepIsa())));
  double sse = 0;
  for (auto _ : state) sse += FusedSgdStep(WidestStepIsa(), terms, batch);
  benchmark::DoNotOptimize(sse);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * blocked.labels.size()));
}
BENCHMARK(BM_FusedStepItemBlocks)
    ->Arg(2000)
    ->Arg(4000)
    ->Arg(8000)
    ->Arg(16000)
    ->Arg(100000)
    ->Unit(benchmark::kMillisecond);

// The fused step on the orders the trainer makes (train/batch_source.h), not a sorted copy:
// one worker's partition of 200k users x 20 ratings (items Zipf(0.8) over 100k, as above)
// cut into 4 batches of 1M ratings, planned as DeltaPush plans LOCAL users (item rows pulled
// per batch in first-seen order, user rows stepped in place by dense index), stepped part by
// part. Arg 0: BY_USER, 1: BY_TILE (training.tile_item_rows 8000: a 13 x 13 grid, user
// blocks of 15k users, 2 MB of rows, past L2 as in the 20M set's 77k-user blocks).
void BM_FusedStepTrainerOrder(benchmark::State& state) {
  constexpr size_t kPartUsers = 200000;
  constexpr size_t kBatches = 4;
  static const data::RatingColumns columns = [] {
    data::RatingColumns c;
    std::mt19937 rng(7);
    std::vector<double> cdf(kItems);
    double total = 0;
    for (size_t i = 0; i < kItems; ++i) cdf[i] = total += std::pow(i + 1.0, -0.8);
    std::uniform_real_distribution<double> uniform(0, total);
    std::vector<uint32_t> dense_of(kItems);  // popular items are not the first dense ids
    for (size_t i = 0; i < kItems; ++i) dense_of[i] = static_cast<uint32_t>(i);
    std::shuffle(dense_of.begin(), dense_of.end(), rng);
    for (uint64_t u = 0; u < kPartUsers; ++u) c.user_ids.push_back(u);
    for (uint64_t i = 0; i < kItems; ++i) c.item_ids.push_back(i);
    std::uniform_int_distribution<int> label(1, 5);
    for (size_t u = 0; u < kPartUsers; ++u) {
      for (size_t r = 0; r < kRatingsPerUser; ++r) {
        const size_t item = std::lower_bound(cdf.begin(), cdf.end(), uniform(rng)) - cdf.begin();
        c.user_index.push_back(static_cast<uint32_t>(u));
        c.item_index.push_back(dense_of[std::min(item, kItems - 1)]);
        c.rating.push_back(static_cast<float>(label(rng)));
      }
    }
    return c;
  }();
  config::TrainingConfig training;
  training.set_seed(3);
  training.set_rating_order(state.range(0) == 1 ? config::BY_TILE : config::BY_USER);
  data::RatingsShard shard = data::ShardFromColumns(columns);
  train::BatchSource source(training, 0, &shard, kBatches);
  source.StartEpoch(0);
  std::vector<train::BatchPlan> plans(kBatches);
  std::vector<std::vector<float>> item_rows(kBatches);
  std::mt19937 rng(11);
  std::normal_distribution<float> normal(0.0f, 0.05f);
  std::vector<float> users(kPartUsers * kDim), items(kItems * kDim);
  for (float& v : users) v = normal(rng);
  for (float& v : items) v = normal(rng);
  for (size_t b = 0; b < kBatches; ++b) {
    source.Plan(b, &plans[b], /*items_only=*/true);
    for (const uint32_t dense : plans[b].item_dense) {
      item_rows[b].insert(item_rows[b].end(), items.begin() + dense * kDim,
                          items.begin() + (dense + 1) * kDim);
    }
  }
  const FusedSgdTerms terms{kFactors, 3.0f, 0.02f, 0.005f, kLearningRate, kLearningRate};
  state.SetLabel(std::string(state.range(0) == 1 ? "BY_TILE " : "BY_USER ") +
                 std::string(StepIsaName(WidestStepIsa())));
  double sse = 0;
  for (auto _ : state) {
    for (size_t b = 0; b < kBatches; ++b) {
      const train::BatchPlan& plan = plans[b];
      size_t at = 0;
      for (const auto& part : plan.parts) {
        RowLookup fields[2];
        fields[0] = {users.data(), nullptr, kDim, &part.data()->user,
                     sizeof(data::PackedRating) / sizeof(uint32_t), nullptr};
        fields[1] = {item_rows[b].data(), nullptr, kDim, plan.item_slot.data() + at, 1, nullptr};
        ExampleBatch batch{part.size(), &part.data()->rating,
                           sizeof(data::PackedRating) / sizeof(float), fields, {}, {}};
        sse += FusedSgdStep(WidestStepIsa(), terms, batch);
        at += part.size();
      }
    }
  }
  benchmark::DoNotOptimize(sse);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * columns.rating.size()));
}
BENCHMARK(BM_FusedStepTrainerOrder)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace psrec::models::mf


BENCHMARK_MAIN();
