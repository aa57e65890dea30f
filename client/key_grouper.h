// KeyGrouper: splits a batch's keys by the server that owns them (ServerOf in common/keys.h)
// so that the client sends one request per server, and remembers each key's position in
// the batch so that replies can be scattered back.
//
// With one server the grouping is the identity: keys_of(0) is the caller's span itself and
// positions_of(0) is empty (position j is j), so nothing is copied.
//
// Thread safety: none; one grouper per caller thread. Lifetimes: the spans returned are
// valid until the next Group, and keys_of may point into the keys passed to Group.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "common/keys.h"

namespace psrec::client {

class KeyGrouper {
 public:
  // REQUIRES: num_servers >= 1, keys.size() < 2^32.
  void Group(TableId table, std::span<const uint64_t> keys, int num_servers);

  bool identity() const { return identity_; }
  std::span<const uint64_t> keys_of(int server) const;
  // Index in the grouped batch of keys_of(server)[j]; empty when identity().
  std::span<const uint32_t> positions_of(int server) const;

 private:
  bool identity_ = true;
  std::span<const uint64_t> all_keys_;
  std::vector<uint32_t> server_of_;  // server of each key, then reused as a cursor
  std::vector<size_t> begin_;        // begin_[s]..begin_[s+1] is server s's range
  std::vector<uint64_t> keys_;
  std::vector<uint32_t> positions_;
};

}  // namespace psrec::client
