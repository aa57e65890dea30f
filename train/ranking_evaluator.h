// RankingEvaluator: one worker's share of a ranking evaluation (docs/evaluation.md), run at
// every evaluation epoch: the catalogue's item rows and the worker's evaluated users' rows
// are pulled read-only once (no row is created; a key without a row is scored with the
// model's cold-start row, as train/evaluator.h does), every candidate is scored through the
// model (Model::Score for leave-one-out cases, Model::ScoreBlock for blocks of users x the
// whole catalogue), and the figures come back as sums for the job's collective to reduce.
//
// Thread safety: runs on the trainer thread; uses the trainer's TableAccess objects.
#pragma once

#include <span>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "models/model.h"
#include "train/ranking_metrics.h"
#include "train/ranking_setup.h"
#include "train/table_access.h"

namespace psrec::train {

struct RankingSums {
  LeaveOneOutSums leave_one_out;
  FullRankingSums excluded;  // the user's training items left out of the ranking
  FullRankingSums all;       // every catalogue item ranked (exclude_train false: unused)

  // Flattened for AllReduceSum, and back.
  std::vector<double> ToVector() const;
  static RankingSums FromVector(const std::vector<double>& v);
};

// Named figures of reduced sums, in display order: {"hr@10", 0.61}, {"ndcg@10", 0.33} for
// leave-one-out; precision, recall, ndcg, map at K and auc, then the same suffixed
// "_no_exclusion" when training items were excluded, for full ranking.
std::vector<std::pair<std::string, double>> RankingFigures(const RankingTask& task,
                                                           const RankingSums& sums);

// Full ranking of `users` against every item: each user's row of scores over the catalogue
// comes from Model::ScoreBlock in blocks of users, its figures from RankUser. Users are split over
// `threads` threads (each its own block of scores); the sums do not depend on `threads`
// up to the order of floating-point additions. excluded/relevant: per user u, catalogue
// indices [offsets[u], offsets[u+1]).
struct FullRankingInput {
  const models::Model* model = nullptr;
  const float* user_rows = nullptr;
  size_t user_stride = 0, n_users = 0;
  const float* item_rows = nullptr;
  size_t item_stride = 0, n_items = 0;
  std::span<const uint32_t> excluded_offsets, excluded, relevant_offsets, relevant;
  int k = 10;
  bool exclude = true;           // leave each user's excluded items out of its ranking
  bool also_unexcluded = false;  // with exclude: the figures without exclusion too, in *all
};
void RankUsers(const FullRankingInput& input, int threads, FullRankingSums* excluded,
               FullRankingSums* all);

class RankingEvaluator {
 public:
  // REQUIRES: model and the task outlive the evaluator; the model has fields (user, item).
  RankingEvaluator(const models::Model* model, const RankingTask* task)
      : model_(model), task_(task) {}

  // This worker's sums, at clock `clock`.
  Result<RankingSums> Evaluate(TableAccess* users, TableAccess* items, int clock);

 private:
  Status PullRows(TableAccess* access, std::span<const uint64_t> keys, int clock,
                  std::vector<float>* rows);
  void EvaluateLeaveOneOut(RankingSums* sums) const;
  void EvaluateFullRanking(RankingSums* sums) const;

  const models::Model* model_;
  const RankingTask* task_;
  std::vector<float> user_rows_, item_rows_;
  size_t user_stride_ = 0, item_stride_ = 0;
};

}  // namespace psrec::train
