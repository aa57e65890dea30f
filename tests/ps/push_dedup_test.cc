// PushDedup: each (worker, sequence) is accepted once, in any order within the window,
// across reconnects of one session; a new session starts afresh.
#include <string>

#include <gtest/gtest.h>

#include "ps/push_dedup.h"

namespace psrec::ps {
namespace {

TEST(PushDedupTest, AcceptsEachSequenceOnceInAnyOrder) {
  PushDedup dedup(2);
  dedup.StartSession(0, 77);
  EXPECT_TRUE(dedup.Accept(0, 1).value());
  EXPECT_TRUE(dedup.Accept(0, 3).value());
  EXPECT_TRUE(dedup.Accept(0, 2).value()) << "a reordered push is new";
  EXPECT_FALSE(dedup.Accept(0, 2).value());
  EXPECT_FALSE(dedup.Accept(0, 3).value());
  EXPECT_FALSE(dedup.Accept(0, 1).value());
  EXPECT_TRUE(dedup.Accept(1, 1).value()) << "workers are apart";
  EXPECT_EQ(dedup.duplicates(), 3u);
  EXPECT_TRUE(dedup.Accept(0, 0).value());
  EXPECT_TRUE(dedup.Accept(0, 0).value()) << "unnumbered pushes are never deduplicated";
}

TEST(PushDedupTest, AReconnectKeepsTheRecordANewSessionDropsIt) {
  PushDedup dedup(1);
  dedup.StartSession(0, 5);
  ASSERT_TRUE(dedup.Accept(0, 10).value());
  dedup.StartSession(0, 5);  // the same client, reconnected
  EXPECT_FALSE(dedup.Accept(0, 10).value());
  dedup.StartSession(0, 6);  // a restarted worker numbers from 1 again
  EXPECT_TRUE(dedup.Accept(0, 10).value());
  EXPECT_TRUE(dedup.Accept(0, 1).value());
}

TEST(PushDedupTest, TheWindowSlidesAndRefusesWhatFellOutOfIt) {
  PushDedup dedup(1);
  dedup.StartSession(0, 1);
  const uint64_t w = PushDedup::kWindow;
  for (uint64_t s = 1; s <= w + 10; s += 3) ASSERT_TRUE(dedup.Accept(0, s).value()) << s;
  // The highest so far is w + 9. Slots the slide reuses hold no stale flag: w + 13 maps
  // where 13 did, and w + 10 where 10 did (both accepted long ago).
  EXPECT_FALSE(dedup.Accept(0, w + 9).value());
  EXPECT_TRUE(dedup.Accept(0, w + 13).value());
  EXPECT_FALSE(dedup.Accept(0, w + 13).value());
  EXPECT_TRUE(dedup.Accept(0, w + 10).value()) << "inside the window, never seen";
  Result<bool> old = dedup.Accept(0, 5);
  ASSERT_FALSE(old.ok());
  EXPECT_NE(old.status().message().find("cannot tell"), std::string::npos);
  // A jump beyond the window forgets everything below it.
  EXPECT_TRUE(dedup.Accept(0, 10 * w).value());
  EXPECT_FALSE(dedup.Accept(0, 10 * w).value());
  EXPECT_TRUE(dedup.Accept(0, 10 * w - 1).value());
}

}  // namespace
}  // namespace psrec::ps
