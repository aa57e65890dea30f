#include "train/batch_source.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include "common/keys.h"
#include "train/implicit_batches.h"
#include "train/tile_grid.h"

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

// `train`'s ratings in a random order (seeded by the seed and the rank): the order every
// rating order starts from.
std::vector<uint32_t> ShuffledOrder(const config::TrainingConfig& training, uint64_t rank_mix,
                                    const data::RatingsShard& train) {
  std::vector<uint32_t> order(train.size());
  std::iota(order.begin(), order.end(), 0u);
  Shuffle(&order, Mix64(training.seed() ^ 0x7061636bULL ^ rank_mix));
  return order;
}

std::vector<data::PackedRating> Pack(const config::TrainingConfig& training, uint64_t rank_mix,
                                     const data::RatingsShard& train,
                                     std::span<const uint32_t> order) {
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

bool BatchSource::VisitsUserBlocks(const config::TrainingConfig& training, bool remote_users) {
  switch (training.tile_order()) {
    case config::TrainingConfig::TILE_ROUNDS: return false;
    case config::TrainingConfig::TILE_USER_BLOCKS: return true;
    default: return remote_users;
  }
}

BatchSource::BatchSource(const config::TrainingConfig& training, int rank,
                         data::RatingsShard* train, int64_t batches_per_epoch, bool remote_users)
    : seed_(training.seed() ^ Mix64(static_cast<uint64_t>(rank) + 1)),
      batches_per_epoch_(batches_per_epoch),
      planner_({}, {}) {
  const uint64_t rank_mix = Mix64(static_cast<uint64_t>(rank) + 1);
  const std::vector<uint32_t> order = ShuffledOrder(training, rank_mix, *train);
  if (training.rating_order() == config::BY_TILE) {
    size_t item_blocks = TileGrid::ItemBlocks(train->item_ids.size(),
                                              static_cast<size_t>(training.tile_item_rows()));
    size_t user_blocks = 0;
    if (VisitsUserBlocks(training, remote_users)) {
      // tile_user_blocks blocks per batch, so that batch b can be the epoch's group b of
      // blocks (StartEpoch). At most one block per 64 tiles' worth of ratings: tiny batches
      // would make millions of near-empty tiles; batches are then runs of n / batches
      // ratings of the order, and the users at their edges are pulled in two batches.
      tile_width_ = static_cast<size_t>(std::max(1, training.tile_user_blocks()));
      item_blocks = std::max(item_blocks, tile_width_);
      user_blocks = std::clamp<size_t>(
          static_cast<size_t>(batches_per_epoch) * tile_width_, 1,
          std::max<size_t>(1, order.size() / (64 * item_blocks)));
    } else {
      // Rounds of G tiles: a square grid, at least compute_threads blocks a side.
      item_blocks = std::max(item_blocks, static_cast<size_t>(training.compute_threads()));
      user_blocks = item_blocks;
    }
    tiles_ = TileGrid::Build(order, *train, user_blocks, item_blocks,
                             Mix64(training.seed() ^ 0x74696c65ULL ^ rank_mix), &packed_);
    // The train-RMSE sample: the first ratings of the shuffle (the tiled array's first
    // ratings are one tile's).
    const size_t sample = std::min(order.size(), static_cast<size_t>(std::max(
                                                     0, training.eval_train_sample())));
    sample_.reserve(sample);
    for (size_t i = 0; i < sample; ++i) {
      const uint32_t r = order[i];
      sample_.push_back({train->user_index[r], train->item_index[r], train->rating[r]});
    }
  } else {
    packed_ = Pack(training, rank_mix, *train, order);
  }
  *train = data::DictionariesOnly(*train);
  planner_ = BatchPlanner(train->user_ids, train->item_ids);
}

void BatchSource::StartEpoch(int epoch) {
  const uint64_t epoch_seed = Mix64(seed_ ^ Mix64(static_cast<uint64_t>(epoch) << 32));
  epoch_seed_ = epoch_seed;
  if (tiles_.tiles() > 0) {
    // Batches are consecutive runs of the epoch's tile order, itself random.
    if (tile_width_ > 0) {
      tiles_.UserBlockOrder(epoch_seed, tile_width_, &visits_);
    } else {
      tiles_.EpochOrder(epoch_seed, &visits_);
    }
    visit_end_.resize(visits_.size());
    size_t end = 0;
    for (size_t v = 0; v < visits_.size(); ++v) visit_end_[v] = end += tiles_.size(visits_[v].tile);
    // Batch b ends at n (b + 1) / batches, or, when every batch is one group of the
    // user-blocks order, where group b ends: each user then in exactly one batch.
    const size_t batches = static_cast<size_t>(batches_per_epoch_);
    const size_t group_visits = tile_width_ * tiles_.item_blocks();
    const bool by_group = tile_width_ > 0 && tiles_.user_blocks() == batches * tile_width_;
    batch_end_.resize(batches);
    for (size_t b = 0; b < batches; ++b) {
      batch_end_[b] = by_group ? visit_end_[(b + 1) * group_visits - 1]
                               : packed_.size() * (b + 1) / batches;
    }
    return;
  }
  batch_order_.resize(static_cast<size_t>(batches_per_epoch_));
  std::iota(batch_order_.begin(), batch_order_.end(), 0u);
  Shuffle(&batch_order_, epoch_seed);
  batch_offset_ = packed_.empty() ? 0 : Mix64(epoch_seed) % packed_.size();
}

void BatchSource::SliceParts(size_t batch) {
  const size_t n = packed_.size();
  const size_t batches = static_cast<size_t>(batches_per_epoch_);
  const std::span<const data::PackedRating> all(packed_);
  parts_.clear();
  rounds_.clear();
  if (tiles_.tiles() > 0) {
    // Ratings [begin, end) of the epoch's tile order: pieces of consecutive visits.
    const size_t begin = batch == 0 ? 0 : batch_end_[batch - 1];
    const size_t end = batch_end_[batch];
    size_t v = static_cast<size_t>(
        std::upper_bound(visit_end_.begin(), visit_end_.end(), begin) - visit_end_.begin());
    for (size_t at = begin; at < end; ++v) {
      const size_t visit_begin = visit_end_[v] - tiles_.size(visits_[v].tile);
      const size_t from = at - visit_begin;
      const size_t to = std::min(end, visit_end_[v]) - visit_begin;
      parts_.push_back(all.subspan(tiles_.begin(visits_[v].tile) + from, to - from));
      rounds_.push_back(visits_[v].round);
      at = visit_begin + to;
    }
    return;
  }
  const size_t slice = batch_order_[batch];
  const size_t begin = batch_offset_ + n * slice / batches;
  const size_t end = batch_offset_ + n * (slice + 1) / batches;
  // A batch may wrap around the end of the packed array: then it is two parts.
  if (end <= n) {
    parts_.push_back(all.subspan(begin, end - begin));
  } else if (begin >= n) {
    parts_.push_back(all.subspan(begin - n, end - begin));
  } else {
    parts_.push_back(all.subspan(begin));
    parts_.push_back(all.subspan(0, end - n));
  }
  for (size_t p = 0; p < parts_.size(); ++p) rounds_.push_back(static_cast<uint32_t>(p));
}

void BatchSource::Plan(size_t batch, BatchPlan* plan, bool items_only) {
  SliceParts(batch);
  if (implicit_ != nullptr) {
    SampleRng rng(Mix64(epoch_seed_ ^ Mix64(0x6e6567ULL + batch)));
    plan->expanded.clear();
    negatives_.clear();
    for (const auto& part : parts_) {
      ExpandPositives(*implicit_, part, &rng, &plan->expanded, &negatives_);
    }
    planner_.BuildPacked(plan->expanded, {}, plan, items_only);
    if (implicit_->examples == models::Examples::kPairwise) {
      planner_.SlotNegatives(negatives_, plan);
    }
    return;
  }
  planner_.BuildParts(parts_, rounds_, plan, items_only);
}

}  // namespace psrec::train
