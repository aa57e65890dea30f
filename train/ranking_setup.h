// RankingTask: what one worker ranks at every evaluation of a ranking protocol
// (evaluation.protocol LEAVE_ONE_OUT or FULL_RANKING; docs/evaluation.md), built once per run
// from the worker's train and test shards before training packs them.
//
// Data are partitioned by user (data/dataset.h): a worker holds every training and test
// interaction of its users, whatever training.rating_order (SHUFFLED, BY_USER, BY_TILE) does to the
// order later, so each user's training items (for exclusion and for drawing negatives) are
// local. The item catalogue (every item of train and test, over all workers) is gathered
// through the collective, sorted by key: every worker ranks over the same catalogue.
//
// Leave-one-out cases: every test interaction (rating >= evaluation.relevant_threshold) of
// the worker's users, with its negatives from evaluation.negatives_path (NCF
// `.test.negative` layout, "(user,item)\tneg\tneg...", raw ids as in the data) or drawn,
// seeded by (evaluation.seed, user, item), among catalogue items the user never touched.
//
// Errors name the file, line and field: a negatives line whose user or item is not in the
// data, a test interaction without a line, K larger than the candidates or the catalogue.
//
// Thread safety: BuildRankingTask is collective (every worker calls it once).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/proto/config.pb.h"
#include "common/status.h"
#include "data/dataset.h"
#include "models/model.h"
#include "train/collective.h"

namespace psrec::train {

struct RankingTask {
  config::EvaluationConfig::Protocol protocol = config::EvaluationConfig::LEAVE_ONE_OUT;
  int k = 10;
  bool exclude_train = true;
  std::vector<uint64_t> catalogue;  // item keys, sorted, the same on every worker
  std::vector<uint64_t> users;      // the worker's evaluated users (keys)
  // Per evaluated user u (FULL_RANKING), catalogue indices, sorted: [offsets[u], offsets[u+1]).
  std::vector<uint32_t> excluded_offsets, excluded;
  std::vector<uint32_t> relevant_offsets, relevant;
  // Per leave-one-out case c: its user (index into users) and its candidates, catalogue
  // indices, the test item first: [case_offsets[c], case_offsets[c+1]).
  std::vector<uint32_t> case_user;
  std::vector<uint32_t> case_offsets, case_items;
};

// The protocol evaluation.protocol names, AUTO resolved by the model's evaluation().
config::EvaluationConfig::Protocol ResolveProtocol(const config::EvaluationConfig& evaluation,
                                                   models::Evaluation model_evaluation);

// Every worker's keys, sorted and unique, on every worker. Collective.
Result<std::vector<uint64_t>> AllGatherKeys(std::span<const uint64_t> keys, Collective* collective);

// REQUIRES: protocol (after AUTO is resolved by the caller) is LEAVE_ONE_OUT or FULL_RANKING.
Result<RankingTask> BuildRankingTask(const config::EvaluationConfig& evaluation,
                                     config::EvaluationConfig::Protocol protocol,
                                     const data::RatingsShard& train,
                                     const data::RatingsShard& test, Collective* collective);

}  // namespace psrec::train
