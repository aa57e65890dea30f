// NcfOfflineTrainer: trains an NCF model (models/ncf/ncf_model.h) in one process on
// in-memory tables, with no servers: the model-level check of the paper's protocol
// (leave-one-out files, HR@10 / NDCG@10 over 99 sampled negatives) for the tests and
// bench/model_bench, while the trainer's dense-table plumbing is built. It drives the model
// exactly as a 1-worker DELTAS job would (Step over batches of positives and sampled
// negatives, one optimizer per table), so what it measures is the models' maths.
//
// Thread safety: a trainer is used by one thread.
#pragma once

#include <cstdint>
#include <memory>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "common/proto/config.pb.h"
#include "common/status.h"
#include "models/ncf/ncf_model.h"
#include "table/optimizer.h"

namespace psrec::models {

// The NCF layout's files (train.tsv, test.tsv, test.negative in `dir`; 0-based ids).
struct LeaveOneOutData {
  uint32_t users = 0, items = 0;  // 1 + the largest id in any file
  std::vector<uint32_t> train_user, train_item;
  std::vector<uint32_t> test_user, test_item;
  std::vector<std::vector<uint32_t>> test_negatives;  // per test row
};

// An error names the file and line that do not parse.
Result<LeaveOneOutData> ReadLeaveOneOut(const std::string& dir);

struct RankingFigures {
  double hr = 0, ndcg = 0;  // at k
};

class NcfOfflineTrainer {
 public:
  // Rows and the dense vector start as the servers' tables of a job with training.seed
  // `seed` start them (table::InitializeRow: user and item keys are the ids); `optimizer`
  // for every table (the rate too: no decay). Sampling and shuffling draw from `seed` too.
  NcfOfflineTrainer(const NcfModel& model, const config::OptimizerConfig& optimizer,
                    uint32_t users, uint32_t items, uint64_t seed);

  // One epoch: the positives in a random order, each followed by `negatives` items the user
  // has no training interaction with (uniform), in batches of `batch` examples. Returns
  // the mean log loss per example.
  double TrainEpoch(const LeaveOneOutData& data, int negatives, int batch);

  // NeuMF's rows and dense vector composed from a trained GMF's and MLP's
  // (models/ncf/ncf_pretrain.h), the optimizer state started afresh. An error says what
  // does not fit. REQUIRES: the three trainers have the same users and items.
  Status InitFromPretrained(const NcfOfflineTrainer& gmf, const NcfOfflineTrainer& mlp,
                            float alpha);

  // HR@k and NDCG@k: each test item ranked among its negatives (ties count against it).
  RankingFigures Evaluate(const LeaveOneOutData& data, int k, NcfModel* model) const;

 private:
  const NcfModel& model_;
  std::unique_ptr<table::Optimizer> optimizer_;
  float learning_rate_;
  int floats_, state_floats_;
  size_t stride_;
  std::vector<float> users_, items_, dense_, dense_state_;
  std::vector<std::vector<uint32_t>> user_items_;  // sorted training items per user
  std::mt19937_64 rng_;
  std::vector<uint32_t> order_, batch_users_, batch_items_;
  std::vector<float> labels_, scratch_;
};

}  // namespace psrec::models
