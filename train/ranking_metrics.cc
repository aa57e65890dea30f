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

// The two passes over a user's scores, compiled for AVX-512, AVX2 and the baseline ISA and
// picked at run time (GCC target_clones): the default build stays portable.

// The first index in [from, n) whose score is not below `worst` (!(s < worst), as the heap
// pass tests it), or n: blocks of 16 scores with nothing to offer cost one vector compare.
__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
size_t NextCandidate(const float* scores, size_t from, size_t n, float worst) {
  constexpr size_t kBlock = 16;
  size_t i = from;
  for (; i + kBlock <= n; i += kBlock) {
    int any = 0;
    for (size_t j = 0; j < kBlock; ++j) any |= !(scores[i + j] < worst) ? 1 : 0;
    if (any != 0) break;
  }
  for (; i < n; ++i) {
    if (!(scores[i] < worst)) return i;
  }
  return n;
}

// below[r] += #{scores < xs[r]}, tied[r] += #{scores == xs[r]}, over L1-sized blocks of the
// scores so that each relevant item's count reads them from cache, not memory.
__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
void CountBelowTied(const float* scores, size_t n, const float* xs, size_t nx, uint32_t* below,
                    uint32_t* tied) {
  constexpr size_t kBlock = 4096;
  for (size_t begin = 0; begin < n; begin += kBlock) {
    const size_t end = std::min(n, begin + kBlock);
    for (size_t r = 0; r < nx; ++r) {
      const float x = xs[r];
      uint32_t b = 0, t = 0;
      for (size_t i = begin; i < end; ++i) {
        b += scores[i] < x ? 1u : 0u;
        t += scores[i] == x ? 1u : 0u;
      }
      below[r] += b;
      tied[r] += t;
    }
  }
}

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
  const size_t n = scores.size();
  for (size_t i = 0; i < n; ++i) {
    if (top.full()) {
      i = NextCandidate(scores.data(), i, n, top.worst());
      if (i == n) break;
    }
    const uint32_t item = static_cast<uint32_t>(i);
    if (std::binary_search(excluded.begin(), excluded.end(), item)) continue;
    top.Offer(scores[i], item);
  }

  // AUC: for each rankable relevant score x, the items scoring below it (ties one half),
  // counted over the whole catalogue in one branch-free (vectorisable) pass, less the
  // excluded items and the relevant ones, which are not "other candidates".
  double pairs = 0;
  std::vector<uint32_t>& counts = scratch->counts;
  counts.assign(2 * rel.size(), 0);
  CountBelowTied(scores.data(), n, rel.data(), rel.size(), counts.data(),
                 counts.data() + rel.size());
  for (size_t r = 0; r < rel.size(); ++r) {
    const float x = rel[r];
    double wins = static_cast<double>(counts[r]) + 0.5 * static_cast<double>(counts[rel.size() + r]);
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
