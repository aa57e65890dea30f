// The NCF leave-one-out triple (He et al., "Neural Collaborative Filtering", WWW 2017) from
// one ratings set, so that a paper's protocol can be reproduced (docs/data.md):
//   train     every rating but each user's latest (data/split.h LEAVE_LAST_OUT with k = 1:
//             latest by timestamp, ties to the larger item key; a user with one rating stays
//             in train and is not tested);
//   test      each tested user's latest rating;
//   negatives per test rating, `count` distinct items of the set that the user never rated
//             (train or test), uniform without replacement, seeded by (seed, user key), so
//             the draw for a user never depends on the other users.
//
// Thread safety: pure function.
#pragma once

#include <cstdint>
#include <vector>

#include "common/status.h"
#include "data/ratings.h"

namespace psrec::data {

struct NcfTriple {
  RatingColumns train, test;
  // negatives[r]: indices into `all`'s item dictionary (items below) for test rating r.
  std::vector<std::vector<uint32_t>> negatives;
  std::vector<uint64_t> item_ids;       // `all`'s item dictionary
  std::vector<std::string> item_names;  // empty, or raw ids
};

// InvalidArgument when the ratings have no timestamps or a tested user has fewer than
// `count` items it never rated.
Result<NcfTriple> SplitNcf(RatingColumns all, int count, uint64_t seed);

}  // namespace psrec::data
