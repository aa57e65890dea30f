// Implicit examples of one batch: each positive (user, item) of the batch expanded into the
// examples its model trains on (models::Examples), with negatives drawn by the job's
// NegativeSampler excluding the user's own training positives:
//   kPairwise   n examples (user, item, label 1), negatives[j] the j-th example's negative;
//   kPointwise  1 + n examples: (user, item, 1), then (user, negative, 0) n times;
// n = data.implicit.negatives_per_positive. Users and items are dense indices (items over
// the catalogue). A positive whose rating (its weight, data/implicit.h) is below 1 is
// expanded with probability its weight, drawn from the same rng (recency sampling,
// data.implicit.recency_half_life); weight-1 positives draw nothing for it.
//
// Thread safety: pure function of its arguments; the rng belongs to the caller.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "data/packed_rating.h"
#include "train/implicit_setup.h"

namespace psrec::train {

// Appends the examples of `positives` to *examples (and, kPairwise, their negatives to
// *negatives).
void ExpandPositives(const ImplicitTraining& implicit, std::span<const data::PackedRating> positives,
                     SampleRng* rng, std::vector<data::PackedRating>* examples,
                     std::vector<uint32_t>* negatives);

}  // namespace psrec::train
