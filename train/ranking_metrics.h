// Ranking metrics as pure functions (docs/evaluation.md), so that the job's evaluator, the
// benchmark and the tests compute them the same way.
//
// Leave-one-out with sampled negatives (the NCF protocol): the test item's rank is the
// number of negatives scoring >= it (ties count against the model); HR@K = rank < K,
// NDCG@K = 1 / log2(rank + 2) when rank < K, else 0.
//
// Full ranking of one user over a catalogue of n items (indices 0..n-1): the items that are
// not excluded are ordered by score, highest first, ties by the lower index; the top K come
// from a K-element heap (no full sort). With `relevant` the user's relevant items (those
// excluded are dropped: they cannot be ranked) and h(p) = 1 when position p holds one:
//   precision@K = sum h / K,  recall@K = sum h / |relevant|,
//   NDCG@K = sum h(p) / log2(p + 2) over the ideal DCG of min(|relevant|, K) hits,
//   MAP@K  = sum over hits of (hits up to p) / (p + 1), over min(|relevant|, K),
//   AUC    = over every (relevant, other candidate) pair, 1 when the relevant item scores
//            higher, 1/2 on a tie; undefined (not counted) without other candidates.
// A user without relevant items is not counted at all.
//
// Thread safety: pure functions; a TopK or RankingScratch per thread.
#pragma once

#include <cstdint>
#include <span>
#include <utility>
#include <vector>

namespace psrec::train {

// Negatives scoring >= the test item's score.
int64_t RankAmongNegatives(float test_score, std::span<const float> negative_scores);

// Sums over test interactions (HR and NDCG are means of the per-interaction figures).
struct LeaveOneOutSums {
  double hits = 0;
  double ndcg = 0;
  double count = 0;
  void Add(int64_t rank, int k);
};

// Sums over users of per-user full-ranking figures.
struct FullRankingSums {
  double precision = 0, recall = 0, ndcg = 0, map = 0;
  double users = 0;      // users with at least one rankable relevant item
  double auc = 0;
  double auc_users = 0;  // users whose AUC is defined
  void Add(const FullRankingSums& other);
};

// The K best (score, index) pairs seen, best first on Sorted().
class TopK {
 public:
  explicit TopK(int k) : k_(static_cast<size_t>(k)) { heap_.reserve(k_); }
  void Clear() { heap_.clear(); }
  bool full() const { return heap_.size() == k_; }
  // The worst kept score. REQUIRES: !empty.
  float worst() const { return heap_.front().first; }
  void Offer(float score, uint32_t index);
  // Best first; empties the heap.
  std::vector<std::pair<float, uint32_t>> Sorted();
  // Same, into `out` (reused).
  void SortedInto(std::vector<std::pair<float, uint32_t>>* out);

 private:
  size_t k_;
  std::vector<std::pair<float, uint32_t>> heap_;  // worst on top
};

struct RankingScratch {
  std::vector<std::pair<float, uint32_t>> top;
  std::vector<float> relevant_scores;
  std::vector<uint32_t> counts;  // per relevant item: scores below it, then scores tied
};

// Adds one user's figures to `sums`. scores: one per catalogue item; excluded and relevant:
// sorted, unique catalogue indices; nothing is excluded when `exclude` is false.
// REQUIRES: 1 <= k <= scores.size().
void RankUser(std::span<const float> scores, std::span<const uint32_t> excluded,
              std::span<const uint32_t> relevant, int k, bool exclude, RankingScratch* scratch,
              FullRankingSums* sums);

}  // namespace psrec::train
