// Keys and sharding. A parameter row is named by (table id, 64-bit id). Raw ids from the
// data map to ids as follows (stable across runs, machines and languages):
//   - an id in canonical decimal form (ASCII digits, no sign, no leading zero unless it is
//     "0") that fits in 63 bits is that integer;
//   - any other string s maps to HashString(s) | (1 << 63), so the two never collide:
//     "0155061224" (an ISBN), "+5" and "1e3" are strings, distinct from 155061224, 5, 1000.
// The server that owns a key is Mix64(id ^ TableSeed(table)) % num_servers.
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <string_view>

namespace psrec {

// A table's id is its position in the model's table list (models/model.h).
using TableId = uint32_t;

// The splitmix64 finalizer (Steele, Lea, Flood 2014): a bijection on 64 bits whose output
// bits each depend on every input bit.
constexpr uint64_t Mix64(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

// Per-table salt so that user u and item u do not land on the same server.
constexpr uint64_t TableSeed(TableId table) {
  return Mix64(0x7073726563ULL /* "psrec" */ + table);
}

// 64-bit FNV-1a of the bytes, then Mix64 to spread short strings.
constexpr uint64_t HashString(std::string_view s) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return Mix64(h);
}

// The key of a raw id from a data file, by the rule at the top of this file. Readers that
// must reject some ids (negative numbers, more than 63 bits of digits) check them first.
constexpr uint64_t KeyOfRawId(std::string_view raw) {
  if (raw.empty() || raw.size() > 19 || (raw[0] == '0' && raw.size() > 1)) {
    return HashString(raw) | (1ULL << 63);
  }
  uint64_t v = 0;
  for (char c : raw) {
    if (c < '0' || c > '9') return HashString(raw) | (1ULL << 63);
    v = v * 10 + static_cast<uint64_t>(c - '0');  // 19 digits cannot overflow 64 bits
  }
  return v < (1ULL << 63) ? v : (HashString(raw) | (1ULL << 63));
}

constexpr int ServerOf(TableId table, uint64_t id, int num_servers) {
  return static_cast<int>(Mix64(id ^ TableSeed(table)) % static_cast<uint64_t>(num_servers));
}

// Partition of a user among `parts` data partitions (prepared data, LOCAL user placement).
constexpr int PartitionOfUser(uint64_t user_id, int parts) {
  return static_cast<int>(Mix64(user_id ^ 0x75736572ULL /* "user" */) %
                          static_cast<uint64_t>(parts));
}

}  // namespace psrec
