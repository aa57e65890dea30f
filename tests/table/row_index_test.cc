#include "table/row_index.h"

#include <cstdint>
#include <random>
#include <unordered_map>
#include <vector>

#include <gtest/gtest.h>

namespace psrec::table {
namespace {

TEST(RowIndexTest, FindsWhatWasInsertedAndNothingElse) {
  RowIndex index;
  EXPECT_EQ(index.size(), 0u);
  EXPECT_EQ(index.Find(0), RowIndex::kNoRow);
  // Extreme keys and a run of consecutive ones (the layout of a table created in key order).
  std::vector<uint64_t> keys = {0, UINT64_MAX, 1ULL << 63, 42};
  for (uint64_t k = 1000; k < 1000 + 5000; ++k) keys.push_back(k);
  for (size_t i = 0; i < keys.size(); ++i) {
    const auto [row, inserted] = index.FindOrInsert(keys[i], static_cast<uint32_t>(i));
    EXPECT_TRUE(inserted) << keys[i];
    EXPECT_EQ(row, i);
  }
  EXPECT_EQ(index.size(), keys.size());
  EXPECT_LE(2 * index.size(), index.capacity()) << "at most half full";
  for (size_t i = 0; i < keys.size(); ++i) {
    EXPECT_EQ(index.Find(keys[i]), i) << keys[i];
    const auto [row, inserted] = index.FindOrInsert(keys[i], 7);  // present: not replaced
    EXPECT_FALSE(inserted);
    EXPECT_EQ(row, i);
  }
  EXPECT_EQ(index.size(), keys.size());
  for (uint64_t k = 10'000; k < 20'000; ++k) EXPECT_EQ(index.Find(k), RowIndex::kNoRow) << k;
}

TEST(RowIndexTest, MatchesAStdMapThroughGrowthAndReserve) {
  std::mt19937_64 rng(5);
  RowIndex index;
  std::unordered_map<uint64_t, uint32_t> reference;
  for (int round = 0; round < 4; ++round) {
    if (round == 2) index.Reserve(400'000);
    const size_t capacity = index.capacity();
    for (int i = 0; i < 50'000; ++i) {
      // Keys from a small range repeat; keys that are multiples of 2^20 probe the hash.
      const uint64_t key = (rng() % 2 == 0) ? rng() % 100'000 : (rng() % 4096) << 20;
      const auto next = static_cast<uint32_t>(reference.size());
      const auto [row, inserted] = index.FindOrInsert(key, next);
      const auto [it, ref_inserted] = reference.try_emplace(key, next);
      ASSERT_EQ(inserted, ref_inserted) << key;
      ASSERT_EQ(row, it->second) << key;
    }
    if (round >= 2) {
      EXPECT_EQ(index.capacity(), capacity) << "Reserve made room up front";
    }
  }
  ASSERT_EQ(index.size(), reference.size());
  for (const auto& [key, row] : reference) ASSERT_EQ(index.Find(key), row) << key;
  EXPECT_GE(index.MemoryBytes(), index.capacity() * 16);
}

}  // namespace
}  // namespace psrec::table
