#include "data/implicit.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <utility>
#include <vector>

#include <glog/logging.h>

namespace psrec::data {

RatingsShard ImplicitPositives(const RatingsShard& shard, const config::ImplicitConfig& implicit,
                               std::span<const uint64_t> catalogue, RecencyWeights recency) {
  // Each dense item of the shard as its catalogue index.
  std::vector<uint32_t> catalogue_index(shard.item_ids.size());
  for (size_t i = 0; i < shard.item_ids.size(); ++i) {
    auto it = std::lower_bound(catalogue.begin(), catalogue.end(), shard.item_ids[i]);
    CHECK(it != catalogue.end() && *it == shard.item_ids[i]) << "item missing from catalogue";
    catalogue_index[i] = static_cast<uint32_t>(it - catalogue.begin());
  }
  const bool thresholded = implicit.has_positive_threshold();
  const float threshold = implicit.positive_threshold();
  const bool timed = shard.has_timestamps();
  struct Positive {
    uint32_t user, item;
    int64_t time;  // the pair's latest interaction; 0 without timestamps
  };
  std::vector<Positive> pairs;
  pairs.reserve(shard.size());
  for (size_t r = 0; r < shard.size(); ++r) {
    if (thresholded && !(shard.rating[r] >= threshold)) continue;
    pairs.push_back({shard.user_index[r], catalogue_index[shard.item_index[r]],
                     timed ? shard.timestamp[r] : 0});
  }
  // By (user, item), the latest interaction first, so that unique keeps it.
  std::sort(pairs.begin(), pairs.end(), [](const Positive& a, const Positive& b) {
    return a.user != b.user ? a.user < b.user : a.item != b.item ? a.item < b.item : a.time > b.time;
  });
  pairs.erase(std::unique(pairs.begin(), pairs.end(),
                          [](const Positive& a, const Positive& b) {
                            return a.user == b.user && a.item == b.item;
                          }),
              pairs.end());
  std::vector<float> weight(pairs.size(), 1.0f);
  if (recency.half_life > 0) {
    CHECK(timed) << "recency weights need timestamps (the caller checks)";
    std::vector<size_t> order;
    for (size_t begin = 0, end = 0; begin < pairs.size(); begin = end) {
      while (end < pairs.size() && pairs[end].user == pairs[begin].user) ++end;
      order.resize(end - begin);
      std::iota(order.begin(), order.end(), begin);
      // Most recent first; equal times by item index (the catalogue's key order).
      std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
        return pairs[a].time != pairs[b].time ? pairs[a].time > pairs[b].time
                                              : pairs[a].item < pairs[b].item;
      });
      for (size_t k = 0; k < order.size(); ++k) {
        weight[order[k]] = static_cast<float>(std::max(
            recency.min_weight, std::exp2(-static_cast<double>(k) / recency.half_life)));
      }
    }
  }

  RatingColumns columns;
  columns.user_ids.assign(shard.user_ids.begin(), shard.user_ids.end());
  for (size_t u = 0; u < shard.user_names.size(); ++u) {
    columns.user_names.emplace_back(shard.user_names[u]);
  }
  columns.item_ids.assign(catalogue.begin(), catalogue.end());
  columns.user_index.reserve(pairs.size());
  columns.item_index.reserve(pairs.size());
  for (const Positive& p : pairs) {
    columns.user_index.push_back(p.user);
    columns.item_index.push_back(p.item);
  }
  columns.rating = std::move(weight);
  return ShardFromColumns(std::move(columns));
}

}  // namespace psrec::data
