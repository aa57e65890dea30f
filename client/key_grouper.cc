#include "client/key_grouper.h"

#include <glog/logging.h>

namespace psrec::client {

void KeyGrouper::Group(TableId table, std::span<const uint64_t> keys, int num_servers) {
  CHECK_GE(num_servers, 1);
  CHECK_LT(keys.size(), size_t{1} << 32) << "batch too large to index with 32 bits";
  all_keys_ = keys;
  identity_ = num_servers == 1;
  begin_.assign(static_cast<size_t>(num_servers) + 1, 0);
  if (identity_) {
    begin_[1] = keys.size();
    return;
  }
  // Counting sort by server: stable, so each server's keys keep the batch order (sorted
  // batches give sorted requests, which the server's index walks faster).
  server_of_.resize(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    const auto s = static_cast<uint32_t>(ServerOf(table, keys[i], num_servers));
    server_of_[i] = s;
    ++begin_[s + 1];
  }
  for (int s = 0; s < num_servers; ++s) begin_[s + 1] += begin_[s];
  keys_.resize(keys.size());
  positions_.resize(keys.size());
  std::vector<size_t>& cursor = begin_;  // advanced to each range's end, then restored
  for (size_t i = 0; i < keys.size(); ++i) {
    const size_t at = cursor[server_of_[i]]++;
    keys_[at] = keys[i];
    positions_[at] = static_cast<uint32_t>(i);
  }
  for (int s = num_servers; s > 0; --s) begin_[s] = begin_[s - 1];
  begin_[0] = 0;
}

std::span<const uint64_t> KeyGrouper::keys_of(int server) const {
  const auto s = static_cast<size_t>(server);
  if (identity_) return all_keys_;
  return std::span<const uint64_t>(keys_).subspan(begin_[s], begin_[s + 1] - begin_[s]);
}

std::span<const uint32_t> KeyGrouper::positions_of(int server) const {
  const auto s = static_cast<size_t>(server);
  if (identity_) return {};
  return std::span<const uint32_t>(positions_).subspan(begin_[s], begin_[s + 1] - begin_[s]);
}

}  // namespace psrec::client
