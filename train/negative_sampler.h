// NegativeSampler: draws negative items for implicit-feedback training (data.implicit).
//
// Items are dense indices into the job's item catalogue (every item of train and test, over
// all workers: train/implicit_setup.h). Two distributions:
//   uniform     every catalogue item alike;
//   popularity  item i with probability ~ count_i^alpha (count_i: its training positives
//               over all workers; alpha 0.75 as word2vec), drawn in O(1) from a Vose alias
//               table.
// Exclusion of the user's own training positives is by rejection: a draw that is one of
// them is repeated, at most max_draws times per negative, and the last draw is kept anyway.
// The membership test is a branch-free scan of the user's sorted positives when they are few
// (<= 64, the common case), a binary search otherwise: the same answer, so the same draws.
// So a user who holds a fraction f of the sampling mass gets one of its positives as a
// "negative" with probability f^max_draws (f = 0.5, 8 draws: 0.4%); never an endless loop
// for a user who holds (almost) every item. docs/models.md states the approximation.
//
// Determinism: draws come from a SampleRng seeded by the caller (train/implicit_batches.h
// seeds it by (training.seed, worker, epoch, batch)), so runs repeat exactly.
//
// Thread safety: a NegativeSampler and a UserPositives are immutable once built and may be
// read from any number of threads; a SampleRng belongs to one thread.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "common/status.h"

namespace psrec::train {

// SplitMix64: a small, fast generator; every 64-bit seed gives a good stream.
class SampleRng {
 public:
  explicit SampleRng(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n) by a multiply-shift of 32 random bits (bias < n / 2^32).
  uint32_t Below(uint32_t n) {
    return static_cast<uint32_t>(((Next() >> 32) * static_cast<uint64_t>(n)) >> 32);
  }
  // Uniform in [0, 1).
  float Unit() { return static_cast<float>(Next() >> 40) * (1.0f / 16777216.0f); }

 private:
  uint64_t state_;
};

// Each user's training positives (dense item indices, sorted), by dense user index.
class UserPositives {
 public:
  UserPositives() = default;
  // From (user, item) pairs; users are dense indices < num_users.
  UserPositives(size_t num_users, std::span<const uint32_t> users,
                std::span<const uint32_t> items);
  std::span<const uint32_t> of(uint32_t user) const {
    return {items_.data() + offsets_[user], items_.data() + offsets_[user + 1]};
  }
  bool Contains(uint32_t user, uint32_t item) const;
  // Cache hints for a user's positives a few positives ahead (each first touch of a user is
  // a miss in a 1M-user set): its offsets, then (once those are in) its items.
  void PrefetchOffsets(uint32_t user) const { __builtin_prefetch(offsets_.data() + user); }
  void PrefetchItems(uint32_t user) const { __builtin_prefetch(items_.data() + offsets_[user]); }

 private:
  std::vector<uint64_t> offsets_;  // num_users + 1
  std::vector<uint32_t> items_;
};

class NegativeSampler {
 public:
  // Uniform over items [0, num_items). REQUIRES: num_items >= 1.
  static NegativeSampler Uniform(uint32_t num_items);
  // Item i with probability ~ counts[i]^alpha; an error when no item has a positive weight.
  static Result<NegativeSampler> Popularity(std::span<const double> counts, double alpha);

  uint32_t num_items() const { return num_items_; }

  // One item from the distribution.
  uint32_t Draw(SampleRng* rng) const {
    if (prob_.empty()) return rng->Below(num_items_);
    const uint32_t column = rng->Below(num_items_);
    return rng->Unit() < prob_[column] ? column : alias_[column];
  }
  // One item that is not in `positives` (sorted), up to max_draws tries (see the header).
  uint32_t DrawExcluding(SampleRng* rng, std::span<const uint32_t> positives,
                         int max_draws) const;

  // Item i's probability (tests).
  double Probability(uint32_t item) const;

 private:
  uint32_t num_items_ = 0;
  std::vector<float> prob_;      // alias table; empty: uniform
  std::vector<uint32_t> alias_;
};

}  // namespace psrec::train
