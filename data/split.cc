#include "data/split.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "common/keys.h"

namespace psrec::data {
namespace {

constexpr uint32_t kUnset = std::numeric_limits<uint32_t>::max();

// Dense indices of the kept entries, in source order; kUnset for the others.
std::vector<uint32_t> Renumber(const std::vector<bool>& used) {
  std::vector<uint32_t> map(used.size(), kUnset);
  uint32_t next = 0;
  for (size_t i = 0; i < used.size(); ++i) {
    if (used[i]) map[i] = next++;
  }
  return map;
}

template <typename T>
std::vector<T> Gather(const std::vector<T>& source, const std::vector<uint32_t>& map) {
  std::vector<T> out;
  if (source.empty()) return out;
  for (size_t i = 0; i < map.size(); ++i) {
    if (map[i] != kUnset) out.push_back(source[i]);
  }
  return out;
}

std::vector<bool> RandomTestMask(const RatingColumns& all, const config::SplitConfig& split) {
  // Compared in 64-bit integers so that the decision is exact and portable.
  const double scaled = std::ldexp(split.test_fraction(), 64);
  const uint64_t threshold = scaled >= 18446744073709551615.0
                                 ? std::numeric_limits<uint64_t>::max()
                                 : static_cast<uint64_t>(scaled);
  const uint64_t seed = Mix64(split.seed());
  std::vector<bool> test(all.size());
  for (size_t r = 0; r < all.size(); ++r) {
    const uint64_t user = all.user_ids[all.user_index[r]];
    const uint64_t item = all.item_ids[all.item_index[r]];
    test[r] = Mix64(Mix64(seed ^ user) ^ item) < threshold;
  }
  return test;
}

std::vector<bool> LeaveLastOutMask(const RatingColumns& all, int k) {
  // Counting sort of rating positions by user, then each user's positions by time.
  std::vector<uint64_t> begin(all.user_ids.size() + 1, 0);
  for (uint32_t u : all.user_index) ++begin[u + 1];
  std::partial_sum(begin.begin(), begin.end(), begin.begin());
  std::vector<uint64_t> fill(begin.begin(), begin.end() - 1);
  std::vector<uint32_t> order(all.size());
  for (size_t r = 0; r < all.size(); ++r) order[fill[all.user_index[r]]++] = static_cast<uint32_t>(r);
  std::vector<bool> test(all.size(), false);
  for (size_t u = 0; u + 1 < begin.size(); ++u) {
    auto first = order.begin() + static_cast<ptrdiff_t>(begin[u]);
    auto last = order.begin() + static_cast<ptrdiff_t>(begin[u + 1]);
    const int64_t count = last - first;
    if (count <= k) continue;  // a user needs a training rating to be tested
    const int64_t held = k;
    std::sort(first, last, [&](uint32_t a, uint32_t b) {
      if (all.timestamp[a] != all.timestamp[b]) return all.timestamp[a] < all.timestamp[b];
      const uint64_t ia = all.item_ids[all.item_index[a]], ib = all.item_ids[all.item_index[b]];
      if (ia != ib) return ia < ib;
      return a < b;
    });
    for (auto it = last - held; it != last; ++it) test[*it] = true;
  }
  return test;
}

}  // namespace

RatingColumns SelectRatings(const RatingColumns& all, const std::vector<bool>& keep) {
  CHECK_EQ(keep.size(), all.size());
  std::vector<bool> user_used(all.user_ids.size(), false), item_used(all.item_ids.size(), false);
  size_t kept = 0;
  for (size_t r = 0; r < all.size(); ++r) {
    if (!keep[r]) continue;
    ++kept;
    user_used[all.user_index[r]] = true;
    item_used[all.item_index[r]] = true;
  }
  const std::vector<uint32_t> user_map = Renumber(user_used);
  const std::vector<uint32_t> item_map = Renumber(item_used);
  RatingColumns out;
  out.user_ids = Gather(all.user_ids, user_map);
  out.item_ids = Gather(all.item_ids, item_map);
  out.user_names = Gather(all.user_names, user_map);
  out.item_names = Gather(all.item_names, item_map);
  out.user_index.reserve(kept);
  out.item_index.reserve(kept);
  out.rating.reserve(kept);
  if (all.has_timestamps()) out.timestamp.reserve(kept);
  for (size_t r = 0; r < all.size(); ++r) {
    if (!keep[r]) continue;
    out.user_index.push_back(user_map[all.user_index[r]]);
    out.item_index.push_back(item_map[all.item_index[r]]);
    out.rating.push_back(all.rating[r]);
    if (all.has_timestamps()) out.timestamp.push_back(all.timestamp[r]);
  }
  return out;
}

Result<SplitResult> SplitRatings(RatingColumns all, const config::SplitConfig& split) {
  std::vector<bool> test;
  switch (split.kind()) {
    case config::SplitConfig::RANDOM:
      if (!(split.test_fraction() > 0 && split.test_fraction() < 1)) {
        return Status::InvalidArgument("split.test_fraction must be in (0, 1), got " +
                                       std::to_string(split.test_fraction()));
      }
      test = RandomTestMask(all, split);
      break;
    case config::SplitConfig::LEAVE_LAST_OUT:
      if (split.leave_last_k() < 1) {
        return Status::InvalidArgument("split.leave_last_k must be >= 1, got " +
                                       std::to_string(split.leave_last_k()));
      }
      if (!all.has_timestamps() && all.size() > 0) {
        return Status::InvalidArgument(
            "split LEAVE_LAST_OUT needs timestamps, and the ratings have none");
      }
      test = LeaveLastOutMask(all, split.leave_last_k());
      break;
    default:
      return Status::InvalidArgument(
          "split GIVEN takes its test set from data.test_path; there is nothing to split");
  }
  SplitResult result;
  result.test = SelectRatings(all, test);
  test.flip();
  result.train = SelectRatings(all, test);
  return result;
}

}  // namespace psrec::data
