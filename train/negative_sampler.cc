#include "train/negative_sampler.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include <glog/logging.h>

namespace psrec::train {

UserPositives::UserPositives(size_t num_users, std::span<const uint32_t> users,
                             std::span<const uint32_t> items) {
  CHECK_EQ(users.size(), items.size());
  offsets_.assign(num_users + 1, 0);
  for (const uint32_t u : users) ++offsets_[u + 1];
  std::partial_sum(offsets_.begin(), offsets_.end(), offsets_.begin());
  items_.resize(items.size());
  std::vector<uint64_t> next(offsets_.begin(), offsets_.end() - 1);
  for (size_t r = 0; r < users.size(); ++r) items_[next[users[r]]++] = items[r];
  for (size_t u = 0; u < num_users; ++u) {
    std::sort(items_.begin() + static_cast<ptrdiff_t>(offsets_[u]),
              items_.begin() + static_cast<ptrdiff_t>(offsets_[u + 1]));
  }
}

bool UserPositives::Contains(uint32_t user, uint32_t item) const {
  const std::span<const uint32_t> items = of(user);
  return std::binary_search(items.begin(), items.end(), item);
}

NegativeSampler NegativeSampler::Uniform(uint32_t num_items) {
  CHECK_GE(num_items, 1u);
  NegativeSampler sampler;
  sampler.num_items_ = num_items;
  return sampler;
}

Result<NegativeSampler> NegativeSampler::Popularity(std::span<const double> counts,
                                                    double alpha) {
  const size_t n = counts.size();
  std::vector<double> weight(n);
  double total = 0;
  for (size_t i = 0; i < n; ++i) {
    weight[i] = counts[i] > 0 ? std::pow(counts[i], alpha) : 0.0;
    total += weight[i];
  }
  if (n == 0 || !(total > 0)) {
    return Status::InvalidArgument(
        "data.implicit.sampler POPULARITY: no catalogue item has a training positive");
  }
  // Vose's alias method: columns of mass 1/n, each split between itself and one alias.
  NegativeSampler sampler;
  sampler.num_items_ = static_cast<uint32_t>(n);
  sampler.prob_.assign(n, 1.0f);
  sampler.alias_.resize(n);
  std::iota(sampler.alias_.begin(), sampler.alias_.end(), 0u);
  std::vector<double> scaled(n);
  std::vector<uint32_t> small, large;
  for (size_t i = 0; i < n; ++i) {
    scaled[i] = weight[i] * static_cast<double>(n) / total;
    (scaled[i] < 1.0 ? small : large).push_back(static_cast<uint32_t>(i));
  }
  while (!small.empty() && !large.empty()) {
    const uint32_t s = small.back();
    small.pop_back();
    const uint32_t l = large.back();
    sampler.prob_[s] = static_cast<float>(scaled[s]);
    sampler.alias_[s] = l;
    scaled[l] -= 1.0 - scaled[s];
    if (scaled[l] < 1.0) {
      large.pop_back();
      small.push_back(l);
    }
  }
  // What is left has mass 1 up to rounding: it keeps its own column.
  return sampler;
}

namespace {

// Whether sorted `items` holds `item`. A user's positives are usually a few dozen: a
// branch-free scan (vectorised, no mispredicted branch per probe) beats a binary search
// there; longer lists keep the binary search.
constexpr size_t kLinearScanMax = 64;
bool SortedContains(std::span<const uint32_t> items, uint32_t item) {
  if (items.size() > kLinearScanMax) return std::binary_search(items.begin(), items.end(), item);
  uint32_t hits = 0;
  for (const uint32_t x : items) hits |= x == item ? 1u : 0u;
  return hits != 0;
}

}  // namespace

uint32_t NegativeSampler::DrawExcluding(SampleRng* rng, std::span<const uint32_t> positives,
                                        int max_draws) const {
  uint32_t item = Draw(rng);
  for (int draw = 1; draw < max_draws; ++draw) {
    if (!SortedContains(positives, item)) return item;
    item = Draw(rng);
  }
  return item;
}

double NegativeSampler::Probability(uint32_t item) const {
  const double column = 1.0 / num_items_;
  if (prob_.empty()) return column;
  double p = column * prob_[item];
  for (uint32_t c = 0; c < num_items_; ++c) {
    if (alias_[c] == item && c != item) p += column * (1.0 - prob_[c]);
  }
  return p;
}

}  // namespace psrec::train
