#include "train/ranking_metrics.h"

#include <algorithm>
#include <cmath>

namespace psrec::train {
namespace {

// Heap order: a is "less" than b when a ranks better, so the heap's top is the worst kept.
bool RanksBetter(const std::pair<float, uint32_t>& a, const std::pair<float, uint32_t>& b) {
  return a.first > b.first || (a.first == b.first && a.second < b.second);
}

double Discount(size_t position) { return 1.0 / std::log2(static_cast<double>(position) + 2.0); }

}  // namespace

int64_t RankAmongNegatives(float test_score, std::span<const float> negative_scores) {
  int64_t rank = 0;
  for (float s : negative_scores) rank += s >= test_score ? 1 : 0;
  return rank;
}

void LeaveOneOutSums::Add(int64_t rank, int k) {
  count += 1;
  if (rank < k) {
    hits += 1;
    ndcg += Discount(static_cast<size_t>(rank));
  }
}

void FullRankingSums::Add(const FullRankingSums& o) {
  precision += o.precision;
  recall += o.recall;
  ndcg += o.ndcg;
  map += o.map;
  users += o.users;
  auc += o.auc;
  auc_users += o.auc_users;
}

void TopK::Offer(float score, uint32_t index) {
  const std::pair<float, uint32_t> entry(score, index);
  if (heap_.size() < k_) {
    heap_.push_back(entry);
    std::push_heap(heap_.begin(), heap_.end(), RanksBetter);
  } else if (RanksBetter(entry, heap_.front())) {
    std::pop_heap(heap_.begin(), heap_.end(), RanksBetter);
    heap_.back() = entry;
    std::push_heap(heap_.begin(), heap_.end(), RanksBetter);
  }
}

void TopK::SortedInto(std::vector<std::pair<float, uint32_t>>* out) {
  std::sort_heap(heap_.begin(), heap_.end(), RanksBetter);
  out->assign(heap_.begin(), heap_.end());
  heap_.clear();
}

std::vector<std::pair<float, uint32_t>> TopK::Sorted() {
  std::vector<std::pair<float, uint32_t>> out;
  SortedInto(&out);
  return out;
}

void RankUser(std::span<const float> scores, std::span<const uint32_t> excluded,
              std::span<const uint32_t> relevant, int k, bool exclude, RankingScratch* scratch,
              FullRankingSums* sums) {
  if (!exclude) excluded = {};
  // The relevant items that can be ranked, and their scores.
  std::vector<float>& rel = scratch->relevant_scores;
  rel.clear();
  size_t rankable = 0;
  for (uint32_t r : relevant) {
    if (std::binary_search(excluded.begin(), excluded.end(), r)) continue;
    rel.push_back(scores[r]);
    ++rankable;
  }
  if (rankable == 0) return;
  const double r_count = static_cast<double>(rankable);

  // The top K: a candidate below the heap's worst cannot enter, so only the few that can
  // pay for the exclusion lookup.
  TopK top(k);
  for (uint32_t i = 0; i < scores.size(); ++i) {
    const float s = scores[i];
    if (top.full() && s < top.worst()) continue;
    if (std::binary_search(excluded.begin(), excluded.end(), i)) continue;
    top.Offer(s, i);
  }

  // AUC: for each rankable relevant score x, the items scoring below it (ties one half),
  // counted over the whole catalogue in one branch-free (vectorisable) pass, less the
  // excluded items and the relevant ones, which are not "other candidates".
  double pairs = 0;
  for (const float x : rel) {
    size_t below = 0, tied = 0;
    for (const float s : scores) {
      below += s < x ? 1 : 0;
      tied += s == x ? 1 : 0;
    }
    double wins = static_cast<double>(below) + 0.5 * static_cast<double>(tied);
    for (uint32_t e : excluded) {
      const float s = scores[e];
      wins -= s < x ? 1.0 : (s == x ? 0.5 : 0.0);
    }
    for (const float y : rel) wins -= y < x ? 1.0 : (y == x ? 0.5 : 0.0);
    pairs += wins;
  }
  const double others = static_cast<double>(scores.size() - excluded.size() - rankable);

  top.SortedInto(&scratch->top);
  double hits = 0, dcg = 0, ap = 0;
  for (size_t p = 0; p < scratch->top.size(); ++p) {
    const uint32_t item = scratch->top[p].second;
    if (!std::binary_search(relevant.begin(), relevant.end(), item)) continue;
    hits += 1;
    dcg += Discount(p);
    ap += hits / static_cast<double>(p + 1);
  }
  const size_t ideal_hits = std::min(rankable, static_cast<size_t>(k));
  double idcg = 0;
  for (size_t p = 0; p < ideal_hits; ++p) idcg += Discount(p);
  sums->precision += hits / k;
  sums->recall += hits / r_count;
  sums->ndcg += dcg / idcg;
  sums->map += ap / static_cast<double>(ideal_hits);
  sums->users += 1;
  if (others > 0) {
    sums->auc += pairs / (r_count * others);
    sums->auc_users += 1;
  }
}

}  // namespace psrec::train
