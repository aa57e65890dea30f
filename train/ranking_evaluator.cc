#include "train/ranking_evaluator.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <optional>
#include <thread>

namespace psrec::train {
namespace {

constexpr size_t kPullChunk = 16384;  // keys per read-only pull
constexpr size_t kUserBlock = 32;     // users scored against the catalogue at once

void Append(const FullRankingSums& s, std::vector<double>* v) {
  v->insert(v->end(), {s.precision, s.recall, s.ndcg, s.map, s.users, s.auc, s.auc_users});
}

FullRankingSums ReadFull(const std::vector<double>& v, size_t at) {
  FullRankingSums s;
  s.precision = v[at];
  s.recall = v[at + 1];
  s.ndcg = v[at + 2];
  s.map = v[at + 3];
  s.users = v[at + 4];
  s.auc = v[at + 5];
  s.auc_users = v[at + 6];
  return s;
}

double Mean(double sum, double count) { return count > 0 ? sum / count : std::nan(""); }

// "<metric>@<k><suffix>" ("auc<suffix>" with k 0). Appended piece by piece: GCC 12 at -O3
// warns (-Wrestrict) on the operator+ chains.
std::string MetricName(const char* metric, int k, const char* suffix) {
  std::string name(metric);
  if (k > 0) {
    name.append("@");
    name.append(std::to_string(k));
  }
  name.append(suffix);
  return name;
}

void AddFull(const FullRankingSums& s, int k, const char* suffix,
             std::vector<std::pair<std::string, double>>* out) {
  out->emplace_back(MetricName("precision", k, suffix), Mean(s.precision, s.users));
  out->emplace_back(MetricName("recall", k, suffix), Mean(s.recall, s.users));
  out->emplace_back(MetricName("ndcg", k, suffix), Mean(s.ndcg, s.users));
  out->emplace_back(MetricName("map", k, suffix), Mean(s.map, s.users));
  out->emplace_back(MetricName("auc", 0, suffix), Mean(s.auc, s.auc_users));
}

}  // namespace

std::vector<double> RankingSums::ToVector() const {
  std::vector<double> v = {leave_one_out.hits, leave_one_out.ndcg, leave_one_out.count};
  Append(excluded, &v);
  Append(all, &v);
  return v;
}

RankingSums RankingSums::FromVector(const std::vector<double>& v) {
  RankingSums s;
  s.leave_one_out.hits = v[0];
  s.leave_one_out.ndcg = v[1];
  s.leave_one_out.count = v[2];
  s.excluded = ReadFull(v, 3);
  s.all = ReadFull(v, 10);
  return s;
}

std::vector<std::pair<std::string, double>> RankingFigures(const RankingTask& task,
                                                           const RankingSums& sums) {
  std::vector<std::pair<std::string, double>> out;
  if (task.protocol == config::EvaluationConfig::LEAVE_ONE_OUT) {
    const LeaveOneOutSums& s = sums.leave_one_out;
    out.emplace_back(MetricName("hr", task.k, ""), Mean(s.hits, s.count));
    out.emplace_back(MetricName("ndcg", task.k, ""), Mean(s.ndcg, s.count));
    out.emplace_back("test_cases", s.count);
    return out;
  }
  AddFull(sums.excluded, task.k, "", &out);
  if (task.exclude_train) AddFull(sums.all, task.k, "_no_exclusion", &out);
  out.emplace_back("test_users", sums.excluded.users);
  return out;
}

Status RankingEvaluator::PullRows(TableAccess* access, std::span<const uint64_t> keys,
                                  int clock, std::vector<float>* rows) {
  const size_t stride = static_cast<size_t>(access->dim());
  rows->resize(keys.size() * stride);
  std::vector<uint8_t> missing;
  for (size_t begin = 0; begin < keys.size(); begin += kPullChunk) {
    const size_t n = std::min(kPullChunk, keys.size() - begin);
    missing.assign(n, 0);
    float* out = rows->data() + begin * stride;
    ASSIGN_OR_RETURN(auto ticket,
                     access->BeginPullReadOnly(keys.subspan(begin, n), out, missing.data(), clock));
    RETURN_IF_ERROR(access->EndPull(ticket));
    for (size_t i = 0; i < n; ++i) {
      if (missing[i] != 0) model_->ColdStartRow(static_cast<int>(access->spec().id), out + i * stride);
    }
  }
  return Status::OK();
}

Result<RankingSums> RankingEvaluator::Evaluate(TableAccess* users, TableAccess* items,
                                               int clock) {
  user_stride_ = static_cast<size_t>(users->dim());
  item_stride_ = static_cast<size_t>(items->dim());
  RETURN_IF_ERROR(PullRows(items, task_->catalogue, clock, &item_rows_));
  RETURN_IF_ERROR(PullRows(users, task_->users, clock, &user_rows_));
  RankingSums sums;
  if (task_->protocol == config::EvaluationConfig::LEAVE_ONE_OUT) {
    EvaluateLeaveOneOut(&sums);
  } else {
    EvaluateFullRanking(&sums);
  }
  return sums;
}

void RankingEvaluator::EvaluateLeaveOneOut(RankingSums* sums) const {
  std::vector<float> negatives;
  for (size_t c = 0; c < task_->case_user.size(); ++c) {
    const float* user = user_rows_.data() + task_->case_user[c] * user_stride_;
    const uint32_t* first = task_->case_items.data() + task_->case_offsets[c];
    const uint32_t* last = task_->case_items.data() + task_->case_offsets[c + 1];
    auto score = [&](uint32_t item) {
      const float* rows[2] = {user, item_rows_.data() + item * item_stride_};
      return model_->Score(rows);
    };
    const float test_score = score(*first);
    negatives.clear();
    for (const uint32_t* it = first + 1; it != last; ++it) negatives.push_back(score(*it));
    sums->leave_one_out.Add(RankAmongNegatives(test_score, negatives), task_->k);
  }
}

void RankingEvaluator::EvaluateFullRanking(RankingSums* sums) const {
  FullRankingInput input;
  input.model = model_;
  input.user_rows = user_rows_.data();
  input.user_stride = user_stride_;
  input.n_users = task_->users.size();
  input.item_rows = item_rows_.data();
  input.item_stride = item_stride_;
  input.n_items = task_->catalogue.size();
  input.excluded_offsets = task_->excluded_offsets;
  input.excluded = task_->excluded;
  input.relevant_offsets = task_->relevant_offsets;
  input.relevant = task_->relevant;
  input.k = task_->k;
  input.exclude = task_->exclude_train;
  input.also_unexcluded = task_->exclude_train;
  // One thread: the workers of a job already evaluate their users in parallel.
  RankUsers(input, 1, &sums->excluded, &sums->all);
}

namespace {

// Users [first, last) of `input`; `packed`: the catalogue packed for the model's dot form
// (models/dot_scores.h), or null to score through Model::ScoreBlock.
void RankRange(const FullRankingInput& in, const models::PackedItems* packed, size_t first,
               size_t last, FullRankingSums* excluded, FullRankingSums* all) {
  std::vector<float> scores(kUserBlock * in.n_items);
  RankingScratch scratch;
  auto span_of = [](std::span<const uint32_t> v, std::span<const uint32_t> offsets, size_t u) {
    return v.subspan(offsets[u], offsets[u + 1] - offsets[u]);
  };
  for (size_t begin = first; begin < last; begin += kUserBlock) {
    const size_t n = std::min(kUserBlock, last - begin);
    if (packed != nullptr) {
      models::ScoreUsers(in.user_rows + begin * in.user_stride, in.user_stride, n, *packed,
                         scores.data());
    } else {
      in.model->ScoreBlock(in.user_rows + begin * in.user_stride, in.user_stride, n,
                           in.item_rows, in.item_stride, in.n_items, scores.data());
    }
    for (size_t b = 0; b < n; ++b) {
      const size_t u = begin + b;
      const std::span<const float> row(scores.data() + b * in.n_items, in.n_items);
      const auto train_items = span_of(in.excluded, in.excluded_offsets, u);
      const auto relevant = span_of(in.relevant, in.relevant_offsets, u);
      RankUser(row, train_items, relevant, in.k, in.exclude, &scratch, excluded);
      if (in.exclude && in.also_unexcluded) RankUser(row, train_items, relevant, in.k, false, &scratch, all);
    }
  }
}

}  // namespace

void RankUsers(const FullRankingInput& input, int threads, FullRankingSums* excluded,
               FullRankingSums* all) {
  const size_t parts = static_cast<size_t>(std::max(threads, 1));
  // The catalogue packed once for every thread (its size: the item rows' factors).
  std::optional<models::PackedItems> packed;
  if (const std::optional<models::DotForm> form = input.model->dot_form()) {
    packed.emplace(*form, input.item_rows, input.item_stride, input.n_items);
  }
  const models::PackedItems* packed_items = packed ? &*packed : nullptr;
  std::vector<FullRankingSums> part_excluded(parts), part_all(parts);
  std::vector<std::thread> pool;
  for (size_t t = 0; t < parts; ++t) {
    const size_t first = input.n_users * t / parts, last = input.n_users * (t + 1) / parts;
    if (t + 1 == parts) {
      RankRange(input, packed_items, first, last, &part_excluded[t], &part_all[t]);
    } else {
      pool.emplace_back(RankRange, std::cref(input), packed_items, first, last,
                        &part_excluded[t], &part_all[t]);
    }
  }
  for (auto& thread : pool) thread.join();
  for (size_t t = 0; t < parts; ++t) {
    excluded->Add(part_excluded[t]);
    all->Add(part_all[t]);
  }
}

}  // namespace psrec::train
