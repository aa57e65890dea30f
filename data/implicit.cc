#include "data/implicit.h"

#include <algorithm>
#include <utility>
#include <vector>

#include <glog/logging.h>

namespace psrec::data {

RatingsShard ImplicitPositives(const RatingsShard& shard, const config::ImplicitConfig& implicit,
                               std::span<const uint64_t> catalogue) {
  // Each dense item of the shard as its catalogue index.
  std::vector<uint32_t> catalogue_index(shard.item_ids.size());
  for (size_t i = 0; i < shard.item_ids.size(); ++i) {
    auto it = std::lower_bound(catalogue.begin(), catalogue.end(), shard.item_ids[i]);
    CHECK(it != catalogue.end() && *it == shard.item_ids[i]) << "item missing from catalogue";
    catalogue_index[i] = static_cast<uint32_t>(it - catalogue.begin());
  }
  const bool thresholded = implicit.has_positive_threshold();
  const float threshold = implicit.positive_threshold();
  std::vector<std::pair<uint32_t, uint32_t>> pairs;
  pairs.reserve(shard.size());
  for (size_t r = 0; r < shard.size(); ++r) {
    if (thresholded && !(shard.rating[r] >= threshold)) continue;
    pairs.emplace_back(shard.user_index[r], catalogue_index[shard.item_index[r]]);
  }
  std::sort(pairs.begin(), pairs.end());
  pairs.erase(std::unique(pairs.begin(), pairs.end()), pairs.end());

  RatingColumns columns;
  columns.user_ids.assign(shard.user_ids.begin(), shard.user_ids.end());
  for (size_t u = 0; u < shard.user_names.size(); ++u) {
    columns.user_names.emplace_back(shard.user_names[u]);
  }
  columns.item_ids.assign(catalogue.begin(), catalogue.end());
  columns.user_index.reserve(pairs.size());
  columns.item_index.reserve(pairs.size());
  for (const auto& [user, item] : pairs) {
    columns.user_index.push_back(user);
    columns.item_index.push_back(item);
  }
  columns.rating.assign(pairs.size(), 1.0f);
  return ShardFromColumns(std::move(columns));
}

}  // namespace psrec::data
