// Train/test splits of a ratings set, deterministic for a seed and independent of the order
// in which workers see the data, so every worker of a job agrees on which rating is test.
//
//  RANDOM: a rating goes to test when
//    Mix64(Mix64(Mix64(seed) ^ user key) ^ item key) < test_fraction * 2^64 (common/keys.h).
//    A repeated (user, item) pair lands on one side, so a pair never leaks across the split;
//    the test share is test_fraction in expectation.
//  LEAVE_LAST_OUT: each user's last leave_last_k ratings by timestamp (ties broken by item
//    key, then by position) go to test; users with at most leave_last_k ratings stay
//    entirely in train, so every tested user has exactly leave_last_k test ratings and at least
//    one training rating. Needs timestamps.
//  GIVEN: not a split of one set; an InvalidArgument here (the caller reads test_path).
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <vector>

#include "common/proto/config.pb.h"
#include "data/ratings.h"
#include "common/status.h"

namespace psrec::data {

struct SplitResult {
  RatingColumns train, test;
};

// Splits `all` by split.kind. Both results keep the input order of ratings and hold only the
// users and items that occur in them.
Result<SplitResult> SplitRatings(RatingColumns all, const config::SplitConfig& split);

// The ratings r of `all` with keep[r] set, in order, re-encoded so that the dictionaries hold
// only the users and items that occur (in order of their index in `all`).
// REQUIRES: keep.size() == all.size().
RatingColumns SelectRatings(const RatingColumns& all, const std::vector<bool>& keep);

}  // namespace psrec::data
