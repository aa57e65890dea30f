#include "train/implicit_batches.h"

namespace psrec::train {

void ExpandPositives(const ImplicitTraining& implicit, std::span<const data::PackedRating> positives,
                     SampleRng* rng, std::vector<data::PackedRating>* examples,
                     std::vector<uint32_t>* negatives) {
  const int n = implicit.config.negatives_per_positive();
  const int max_draws = implicit.config.max_draws_per_negative();
  const bool pairwise = implicit.examples == models::Examples::kPairwise;
  const size_t per_positive = static_cast<size_t>(pairwise ? n : n + 1);
  examples->reserve(examples->size() + positives.size() * per_positive);
  if (pairwise) negatives->reserve(negatives->size() + positives.size() * static_cast<size_t>(n));
  constexpr size_t kOffsetsAhead = 16, kItemsAhead = 8;
  for (size_t at = 0; at < positives.size(); ++at) {
    const data::PackedRating& p = positives[at];
    // A recency-weighted positive (rating < 1) takes part in this epoch with probability its
    // weight; a draw only then, so that unweighted jobs draw exactly the negatives they did.
    if (p.rating < 1.0f && !(rng->Unit() < p.rating)) continue;
    if (at + kOffsetsAhead < positives.size()) {
      implicit.positives.PrefetchOffsets(positives[at + kOffsetsAhead].user);
    }
    if (at + kItemsAhead < positives.size()) {
      implicit.positives.PrefetchItems(positives[at + kItemsAhead].user);
    }
    const std::span<const uint32_t> own = implicit.positives.of(p.user);
    if (!pairwise) examples->push_back({p.user, p.item, 1.0f});
    for (int j = 0; j < n; ++j) {
      const uint32_t negative = implicit.sampler.DrawExcluding(rng, own, max_draws);
      if (pairwise) {
        examples->push_back({p.user, p.item, 1.0f});
        negatives->push_back(negative);
      } else {
        examples->push_back({p.user, negative, 0.0f});
      }
    }
  }
}

}  // namespace psrec::train
