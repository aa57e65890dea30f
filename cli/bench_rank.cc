// psrec bench rank: full-ranking evaluation (train/ranking_evaluator.h RankUsers) of sampled
// users against a whole catalogue, as every evaluation epoch of a FULL_RANKING job computes
// it on a worker: biased MF rows (random, the figures are meaningless), each user with
// training items to exclude and test items to find; scores by Model::ScoreBlock (a matrix
// product per block of users), a top-K heap per user, precision/recall/NDCG/MAP/AUC.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <random>
#include <vector>

#include "cli/commands.h"
#include "common/flags.h"
#include "models/registry.h"
#include "train/ranking_evaluator.h"

namespace psrec::cli {
namespace {

// Sorted distinct indices below n: `count` of them.
std::vector<uint32_t> DistinctIndices(std::mt19937_64* rng, size_t n, size_t count) {
  std::vector<uint32_t> out;
  std::uniform_int_distribution<uint32_t> pick(0, static_cast<uint32_t>(n - 1));
  while (out.size() < count) {
    const uint32_t i = pick(*rng);
    if (std::find(out.begin(), out.end(), i) == out.end()) out.push_back(i);
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

int RunBenchRank(int argc, char** argv) {
  int64_t users = 10000, items = 100000, dim = 64, k = 10, train_per_user = 20,
          test_per_user = 5, threads = 2, repeats = 3;
  bool no_exclusion = false;
  FlagSet flags("psrec bench rank",
                "Full-ranking evaluation (precision/recall/NDCG/MAP@K, AUC) of sampled users "
                "against every item: time per evaluation and users/s.");
  flags.AddInt("users", &users, "users ranked");
  flags.AddInt("items", &items, "catalogue size");
  flags.AddInt("dim", &dim, "biased MF factors");
  flags.AddInt("k", &k, "K of the metrics");
  flags.AddInt("train-per-user", &train_per_user, "training items excluded per user");
  flags.AddInt("test-per-user", &test_per_user, "relevant test items per user");
  flags.AddInt("threads", &threads, "threads (a worker of a job uses 1)");
  flags.AddInt("repeats", &repeats, "timed evaluations (the best is reported)");
  flags.AddBool("also-no-exclusion", &no_exclusion,
                "also rank without excluding training items (what a job reports too)");
  Status parsed = flags.Parse(argc, argv);
  if (flags.help_requested()) {
    std::cout << flags.Usage();
    return 0;
  }
  if (!parsed.ok()) {
    std::cerr << "psrec bench rank: " << parsed.message() << "\n";
    return 2;
  }
  if (users < 1 || items < 1 || dim < 1 || k < 1 || k > items || threads < 1 ||
      train_per_user + test_per_user > items) {
    std::cerr << "psrec bench rank: need users, items, dim >= 1, 1 <= k <= items, "
                 "train-per-user + test-per-user <= items\n";
    return 2;
  }
  config::ModelConfig model_config;
  model_config.set_type(config::ModelConfig::BIASED_MF);
  model_config.set_dim(static_cast<int>(dim));
  auto model = models::CreateModel(model_config);
  if (!model.ok()) {
    std::cerr << "psrec bench rank: " << model.status().ToString() << "\n";
    return 1;
  }
  const models::Model& m = **model;
  const size_t user_stride = static_cast<size_t>(m.table_of_field(0).payload_floats);
  const size_t item_stride = static_cast<size_t>(m.table_of_field(1).payload_floats);
  std::mt19937_64 rng(1);
  std::normal_distribution<float> normal(0.0f, 0.1f);
  std::vector<float> user_rows(static_cast<size_t>(users) * user_stride);
  std::vector<float> item_rows(static_cast<size_t>(items) * item_stride);
  for (float& v : user_rows) v = normal(rng);
  for (float& v : item_rows) v = normal(rng);
  std::vector<uint32_t> excluded_offsets = {0}, excluded, relevant_offsets = {0}, relevant;
  for (int64_t u = 0; u < users; ++u) {
    std::vector<uint32_t> touched = DistinctIndices(
        &rng, static_cast<size_t>(items), static_cast<size_t>(train_per_user + test_per_user));
    std::shuffle(touched.begin(), touched.end(), rng);
    std::vector<uint32_t> train(touched.begin(), touched.begin() + train_per_user);
    std::vector<uint32_t> test(touched.begin() + train_per_user, touched.end());
    std::sort(train.begin(), train.end());
    std::sort(test.begin(), test.end());
    excluded.insert(excluded.end(), train.begin(), train.end());
    relevant.insert(relevant.end(), test.begin(), test.end());
    excluded_offsets.push_back(static_cast<uint32_t>(excluded.size()));
    relevant_offsets.push_back(static_cast<uint32_t>(relevant.size()));
  }
  train::FullRankingInput input;
  input.model = &m;
  input.user_rows = user_rows.data();
  input.user_stride = user_stride;
  input.n_users = static_cast<size_t>(users);
  input.item_rows = item_rows.data();
  input.item_stride = item_stride;
  input.n_items = static_cast<size_t>(items);
  input.excluded_offsets = excluded_offsets;
  input.excluded = excluded;
  input.relevant_offsets = relevant_offsets;
  input.relevant = relevant;
  input.k = static_cast<int>(k);
  input.exclude = true;
  input.also_unexcluded = no_exclusion;
  double best = 1e30;
  train::FullRankingSums sums, all;
  for (int64_t r = 0; r < std::max<int64_t>(repeats, 1); ++r) {
    sums = {};
    all = {};
    const auto start = std::chrono::steady_clock::now();
    train::RankUsers(input, static_cast<int>(threads), &sums, &all);
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  std::printf("bench rank: %lld users x %lld items, dim %lld, K %lld, %lld threads%s: "
              "%.3f s per evaluation (best of %lld), %.0f users/s, peak RSS %.0f MiB "
              "(precision@K %.4f, AUC %.4f on random rows)\n",
              static_cast<long long>(users), static_cast<long long>(items),
              static_cast<long long>(dim), static_cast<long long>(k),
              static_cast<long long>(threads),
              no_exclusion ? ", with and without exclusion" : "", best,
              static_cast<long long>(repeats), static_cast<double>(users) / best,
              static_cast<double>(usage.ru_maxrss) / 1024.0,
              sums.users > 0 ? sums.precision / sums.users : 0.0,
              sums.auc_users > 0 ? sums.auc / sums.auc_users : 0.0);
  return 0;
}

}  // namespace psrec::cli
