#include "common/keys.h"

#include <gtest/gtest.h>

#include <vector>

namespace psrec {
namespace {

// Two table ids, as a model with a user and an item table numbers them.
constexpr TableId kUserTable = 0;
constexpr TableId kItemTable = 1;

// These values are part of the documented, cross-language contract: changing them
// reshuffles every existing checkpoint and prepared data set.
TEST(KeysTest, Mix64IsTheSplitmixFinalizer) {
  EXPECT_EQ(Mix64(0), 0u);
  EXPECT_EQ(Mix64(1), 0x5692161d100b05e5ULL);
}

TEST(KeysTest, HashStringIsStable) {
  EXPECT_EQ(HashString(""), Mix64(0xcbf29ce484222325ULL));
  EXPECT_NE(HashString("a"), HashString("b"));
}

TEST(KeysTest, ShardingIsBalancedAndTableSalted) {
  const int servers = 4;
  std::vector<int> counts(servers, 0);
  int same = 0;
  for (uint64_t id = 0; id < 40000; ++id) {
    counts[ServerOf(kItemTable, id, servers)]++;
    same += ServerOf(kItemTable, id, servers) == ServerOf(kUserTable, id, servers);
  }
  for (int c : counts) EXPECT_NEAR(c, 10000, 400);
  EXPECT_NEAR(same, 10000, 400);  // independent across tables
}

}  // namespace
}  // namespace psrec
