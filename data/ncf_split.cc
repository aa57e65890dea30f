#include "data/ncf_split.h"

#include <algorithm>
#include <string>

#include "common/keys.h"
#include "data/split.h"

namespace psrec::data {

Result<NcfTriple> SplitNcf(RatingColumns all, int count, uint64_t seed) {
  if (count < 1) return Status::InvalidArgument("negatives per test item must be >= 1");
  NcfTriple out;
  out.item_ids = all.item_ids;
  out.item_names = all.item_names;
  // Each user's rated items, as indices of `all`'s item dictionary (sorted).
  std::vector<std::vector<uint32_t>> rated(all.user_ids.size());
  for (size_t r = 0; r < all.size(); ++r) rated[all.user_index[r]].push_back(all.item_index[r]);
  for (auto& items : rated) {
    std::sort(items.begin(), items.end());
    items.erase(std::unique(items.begin(), items.end()), items.end());
  }
  std::vector<uint64_t> user_keys = all.user_ids;
  config::SplitConfig split;
  split.set_kind(config::SplitConfig::LEAVE_LAST_OUT);
  split.set_leave_last_k(1);
  ASSIGN_OR_RETURN(SplitResult parts, SplitRatings(std::move(all), split));
  out.train = std::move(parts.train);
  out.test = std::move(parts.test);

  // Users of `all` by key, to find each test user's rated items.
  std::vector<std::pair<uint64_t, uint32_t>> by_key;
  for (uint32_t u = 0; u < user_keys.size(); ++u) by_key.emplace_back(user_keys[u], u);
  std::sort(by_key.begin(), by_key.end());
  const size_t n_items = out.item_ids.size();
  out.negatives.resize(out.test.size());
  for (size_t r = 0; r < out.test.size(); ++r) {
    const uint64_t user = out.test.user_ids[out.test.user_index[r]];
    const auto it = std::lower_bound(by_key.begin(), by_key.end(), std::make_pair(user, 0u));
    const std::vector<uint32_t>& touched = rated[it->second];
    if (n_items - touched.size() < static_cast<size_t>(count)) {
      const std::string name = out.test.user_names.empty()
                                   ? std::to_string(user)
                                   : out.test.user_names[out.test.user_index[r]];
      return Status::InvalidArgument("user " + name + " never rated only " +
                                     std::to_string(n_items - touched.size()) + " of the " +
                                     std::to_string(n_items) + " items; " +
                                     std::to_string(count) + " negatives asked for");
    }
    std::vector<uint32_t>& drawn = out.negatives[r];
    uint64_t state = Mix64(seed ^ Mix64(user));
    while (drawn.size() < static_cast<size_t>(count)) {
      state = Mix64(state + 0x9e3779b97f4a7c15ULL);
      const auto item = static_cast<uint32_t>(state % n_items);
      if (std::binary_search(touched.begin(), touched.end(), item)) continue;
      if (std::find(drawn.begin(), drawn.end(), item) != drawn.end()) continue;
      drawn.push_back(item);
    }
  }
  return out;
}

}  // namespace psrec::data
