#include "train/batch_source.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include "common/keys.h"
#include "train/implicit_batches.h"

namespace psrec::train {
namespace {

// Fisher-Yates with a generator seeded by `seed` alone, so runs repeat exactly.
void Shuffle(std::vector<uint32_t>* order, uint64_t seed) {
  std::mt19937_64 rng(seed);
  for (size_t i = order->size(); i > 1; --i) {
    std::uniform_int_distribution<size_t> pick(0, i - 1);
    std::swap((*order)[i - 1], (*order)[pick(rng)]);
  }
}

std::vector<data::PackedRating> Pack(const config::TrainingConfig& training, uint64_t rank_mix,
                                     const data::RatingsShard& train) {
  std::vector<uint32_t> order(train.size());
  std::iota(order.begin(), order.end(), 0u);
  Shuffle(&order, Mix64(training.seed() ^ 0x7061636bULL ^ rank_mix));
  std::vector<data::PackedRating> packed(order.size());
  auto packed_of = [&train](uint32_t r) -> data::PackedRating {
    return {train.user_index[r], train.item_index[r], train.rating[r]};
  };
  if (training.rating_order() == config::BY_USER) {
    // A counting sort of the shuffled ratings by a random rank of their user: users in a
    // random order, each user's ratings together in the order the shuffle gave them,
    // written straight into `packed` (no second rating-sized array).
    std::vector<uint32_t> rank(train.user_ids.size());
    std::iota(rank.begin(), rank.end(), 0u);
    Shuffle(&rank, Mix64(training.seed() ^ 0x75736572ULL ^ rank_mix));
    std::vector<uint32_t> next(rank.size() + 1, 0);
    for (uint32_t user : train.user_index) ++next[rank[user] + 1];
    std::partial_sum(next.begin(), next.end(), next.begin());
    for (const uint32_t r : order) packed[next[rank[train.user_index[r]]]++] = packed_of(r);
  } else {
    for (size_t i = 0; i < order.size(); ++i) packed[i] = packed_of(order[i]);
  }
  return packed;
}

}  // namespace

Result<int64_t> BatchSource::AgreeBatchesPerEpoch(size_t ratings, int64_t batch_size,
                                                  Collective* collective) {
  double largest[1] = {static_cast<double>(ratings)};
  RETURN_IF_ERROR(collective->AllReduceMax(std::span<double>(largest, 1)));
  return std::max<int64_t>(
      1, static_cast<int64_t>(std::ceil(largest[0] / static_cast<double>(batch_size))));
}

BatchSource::BatchSource(const config::TrainingConfig& training, int rank,
                         data::RatingsShard* train, int64_t batches_per_epoch)
    : seed_(training.seed() ^ Mix64(static_cast<uint64_t>(rank) + 1)),
      batches_per_epoch_(batches_per_epoch),
      packed_(Pack(training, Mix64(static_cast<uint64_t>(rank) + 1), *train)),
      planner_({}, {}) {
  *train = data::DictionariesOnly(*train);
  planner_ = BatchPlanner(train->user_ids, train->item_ids);
}

void BatchSource::StartEpoch(int epoch) {
  const uint64_t epoch_seed = Mix64(seed_ ^ Mix64(static_cast<uint64_t>(epoch) << 32));
  batch_order_.resize(static_cast<size_t>(batches_per_epoch_));
  std::iota(batch_order_.begin(), batch_order_.end(), 0u);
  Shuffle(&batch_order_, epoch_seed);
  batch_offset_ = packed_.empty() ? 0 : Mix64(epoch_seed) % packed_.size();
  epoch_seed_ = epoch_seed;
}

void BatchSource::Plan(size_t batch, BatchPlan* plan, bool items_only) {
  const size_t n = packed_.size();
  const size_t slice = batch_order_[batch];
  const size_t batches = static_cast<size_t>(batches_per_epoch_);
  const size_t begin = batch_offset_ + n * slice / batches;
  const size_t end = batch_offset_ + n * (slice + 1) / batches;
  const std::span<const data::PackedRating> all(packed_);
  if (implicit_ != nullptr) {
    SampleRng rng(Mix64(epoch_seed_ ^ Mix64(0x6e6567ULL + batch)));
    plan->expanded.clear();
    negatives_.clear();
    const size_t wrap = std::min(end, n);
    ExpandPositives(*implicit_, all.subspan(begin >= n ? begin - n : begin,
                                            begin >= n ? end - begin : wrap - begin),
                    &rng, &plan->expanded, &negatives_);
    if (begin < n && end > n) {
      ExpandPositives(*implicit_, all.subspan(0, end - n), &rng, &plan->expanded, &negatives_);
    }
    planner_.BuildPacked(plan->expanded, {}, plan, items_only);
    if (implicit_->examples == models::Examples::kPairwise) {
      planner_.SlotNegatives(negatives_, plan);
    }
    return;
  }
  if (end <= n) {
    planner_.BuildPacked(all.subspan(begin, end - begin), {}, plan, items_only);
  } else if (begin >= n) {
    planner_.BuildPacked(all.subspan(begin - n, end - begin), {}, plan, items_only);
  } else {
    planner_.BuildPacked(all.subspan(begin), all.subspan(0, end - n), plan, items_only);
  }
}

}  // namespace psrec::train
