// Unit tests of the PS client's building blocks: key grouping, send pacing, the id ring.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <random>
#include <set>
#include <vector>

#include <gtest/gtest.h>

#include "common/keys.h"
#include "models/mf/biased_mf.h"
#include "models/model_tables.h"
#include "client/id_ring.h"
#include "client/key_grouper.h"
#include "client/send_pacer.h"

namespace psrec::client {
namespace {

std::vector<uint64_t> RandomKeys(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::set<uint64_t> keys;
  while (keys.size() < n) keys.insert(rng() >> 8);
  return {keys.begin(), keys.end()};
}

TEST(KeyGrouperTest, OneServerIsTheIdentityWithoutCopies) {
  const std::vector<uint64_t> keys = RandomKeys(100, 1);
  KeyGrouper grouper;
  grouper.Group(models::kItemTable, keys, 1);
  EXPECT_TRUE(grouper.identity());
  EXPECT_EQ(grouper.keys_of(0).data(), keys.data());
  EXPECT_EQ(grouper.keys_of(0).size(), keys.size());
  EXPECT_TRUE(grouper.positions_of(0).empty());
}

TEST(KeyGrouperTest, GroupsByOwnerKeepingBatchOrder) {
  const std::vector<uint64_t> keys = RandomKeys(5000, 2);
  KeyGrouper grouper;
  for (int servers : {2, 3, 7}) {
    grouper.Group(models::kUserTable, keys, servers);
    ASSERT_FALSE(grouper.identity());
    std::vector<bool> seen(keys.size(), false);
    size_t total = 0;
    for (int s = 0; s < servers; ++s) {
      auto group = grouper.keys_of(s);
      auto positions = grouper.positions_of(s);
      ASSERT_EQ(group.size(), positions.size());
      EXPECT_GT(group.size(), keys.size() / static_cast<size_t>(servers) / 2) << "server " << s;
      for (size_t j = 0; j < group.size(); ++j) {
        EXPECT_EQ(ServerOf(models::kUserTable, group[j], servers), s);
        ASSERT_LT(positions[j], keys.size());
        EXPECT_EQ(keys[positions[j]], group[j]);
        EXPECT_FALSE(seen[positions[j]]);
        seen[positions[j]] = true;
        if (j > 0) {
          EXPECT_LT(positions[j - 1], positions[j]) << "stable order";
        }
      }
      total += group.size();
    }
    EXPECT_EQ(total, keys.size());
  }
}

TEST(KeyGrouperTest, EmptyBatchGivesEmptyGroups) {
  KeyGrouper grouper;
  grouper.Group(models::kItemTable, {}, 3);
  for (int s = 0; s < 3; ++s) EXPECT_TRUE(grouper.keys_of(s).empty());
}

TEST(SendPacerTest, NoFaultsReleaseAtOnce) {
  SendPacer pacer(NetworkFaults{});
  EXPECT_FALSE(pacer.active());
  const auto now = SendPacer::Clock::now();
  EXPECT_EQ(pacer.Release(now, 1 << 20), now);
}

TEST(SendPacerTest, LatencyDelaysEveryMessage) {
  SendPacer pacer(NetworkFaults{.latency_us = 1500, .bandwidth_mbps = 0});
  EXPECT_TRUE(pacer.active());
  const auto now = SendPacer::Clock::now();
  EXPECT_EQ(pacer.Release(now, 10), now + std::chrono::microseconds(1500));
  EXPECT_EQ(pacer.Release(now, 10'000'000), now + std::chrono::microseconds(1500));
}

TEST(SendPacerTest, BandwidthSpacesMessagesByTheirSize) {
  // 8 Mbit/s = 1 MB/s: 100 kB take 100 ms on the link.
  SendPacer pacer(NetworkFaults{.latency_us = 0, .bandwidth_mbps = 8});
  const auto now = SendPacer::Clock::now();
  const auto first = pacer.Release(now, 100'000);
  const auto second = pacer.Release(now, 100'000);
  using std::chrono::microseconds;
  // The first message uses the 1 ms of banked credit of an idle link.
  EXPECT_NEAR(std::chrono::duration_cast<microseconds>(first - now).count(), 99'000, 10);
  EXPECT_NEAR(std::chrono::duration_cast<microseconds>(second - first).count(), 100'000, 10);
  // After a long idle time, only kBurst of credit is banked.
  const auto later = second + std::chrono::seconds(10);
  const auto third = pacer.Release(later, 1'000);  // 1 ms of link time
  EXPECT_LE(std::chrono::duration_cast<microseconds>(third - later).count(), 1);
}

struct Entry {
  bool retired = false;
  int value = 0;
  std::vector<int> payload;
};

TEST(IdRingTest, RetiresOutOfOrderAndGrowsKeepingEntries) {
  IdRing<Entry> ring;
  std::vector<uint64_t> ids;
  for (int i = 0; i < 100; ++i) {
    const uint64_t id = ring.next_id();
    Entry* e = ring.Add();
    e->value = i;
    ids.push_back(id);
  }
  EXPECT_EQ(ids.front(), 1u) << "id 0 means no request on the wire";
  EXPECT_EQ(ring.size(), 100u);
  // Retire every odd one: the front stays at the oldest live entry.
  for (size_t i = 1; i < ids.size(); i += 2) ring.Retire(ids[i]);
  EXPECT_EQ(ring.Front()->value, 0);
  EXPECT_EQ(ring.Find(ids[1]), nullptr);
  ASSERT_NE(ring.Find(ids[50]), nullptr);
  EXPECT_EQ(ring.Find(ids[50])->value, 50);
  ring.Retire(ids[0]);
  EXPECT_EQ(ring.Front()->value, 2);
  EXPECT_EQ(ring.front_id(), ids[2]);
  for (size_t i = 2; i < ids.size(); i += 2) ring.Retire(ids[i]);
  EXPECT_EQ(ring.size(), 0u);
  EXPECT_EQ(ring.Front(), nullptr);
  EXPECT_EQ(ring.Find(ring.next_id()), nullptr) << "not issued yet";
  ring.Retire(12345);  // unknown ids are ignored
}

TEST(IdRingTest, ReusedEntriesKeepTheirCapacity) {
  IdRing<Entry> ring;
  const uint64_t id = ring.next_id();
  ring.Add()->payload.assign(1000, 7);
  ring.Retire(id);
  // After a full turn of the ring the same slot is handed out again.
  Entry* reused = nullptr;
  for (int i = 0; i < 16; ++i) {
    const uint64_t next = ring.next_id();
    Entry* e = ring.Add();
    if (e->payload.capacity() >= 1000) reused = e;
    ring.Retire(next);
  }
  EXPECT_NE(reused, nullptr);
}

}  // namespace
}  // namespace psrec::client
