// BatchSource: the batches one worker trains on, epoch after epoch.
//
// The worker's partition is packed once into an array of PackedRating, shuffled (seeded by
// training.seed and the worker's rank) or, with training.rating_order BY_USER, grouped by
// user (users in a random order, each user's ratings in the shuffled order), or with
// BY_TILE cut into a grid of (user block x item block) tiles (train/tile_grid.h; with
// training.tile_order user blocks, tile_user_blocks user blocks per batch). Every worker
// cuts its array into the same number of batches (so clocks advance in step and BSP/SSP
// never wait on a worker that has simply run out of data). Each epoch visits the batches
// in a new random order, with batch boundaries shifted by a random offset, so batch
// contents change between epochs while every batch is a sequential read (a batch may wrap
// around the end of the array). BY_TILE instead visits the tiles in a new random order
// each epoch, and batch b is the b-th run of n / batches ratings of that order (one part
// per tile it touches); under the user-blocks order with a group of blocks per batch,
// batch b is the b-th group's tiles (about n / batches ratings: blocks are cut by user),
// so each user is in one batch per epoch. Every rating is in exactly one batch of every
// epoch. The
// orders depend on (seed, rank, epoch) only, so runs repeat exactly.
//
// Thread safety: one thread (the trainer's).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "common/proto/config.pb.h"
#include "common/status.h"
#include "data/dataset.h"
#include "data/packed_rating.h"
#include "train/batch_plan.h"
#include "train/collective.h"
#include "train/implicit_setup.h"
#include "train/tile_grid.h"

namespace psrec::train {

class BatchSource {
 public:
  // The number of batches per epoch every worker runs: its largest partition cut into
  // training.batch_size batches (at least one). A collective call: every worker calls it.
  static Result<int64_t> AgreeBatchesPerEpoch(size_t ratings, int64_t batch_size,
                                              Collective* collective);

  // Packs the ratings of `*train` for worker `rank`, then replaces `*train` by its
  // dictionaries only (data::DictionariesOnly: the rating columns are a worker's largest
  // allocation and are not needed twice). Batches are planned against those dictionaries,
  // so `*train` must outlive the source and stay as left here.
  // `remote_users`: the user table is REMOTE (training.tile_order AUTO then visits tiles
  // user block by user block). REQUIRES: batches_per_epoch >= 1.
  BatchSource(const config::TrainingConfig& training, int rank, data::RatingsShard* train,
              int64_t batches_per_epoch, bool remote_users = false);
  BatchSource(const BatchSource&) = delete;
  BatchSource& operator=(const BatchSource&) = delete;

  // Implicit models: each batch's positives are expanded into examples with sampled
  // negatives (train/implicit_batches.h), drawn by a generator seeded by (training.seed,
  // rank, epoch, batch). batch_size then counts positives.
  void ExpandImplicit(std::shared_ptr<const ImplicitTraining> implicit) {
    implicit_ = std::move(implicit);
  }
  // The implicit setup (catalogue, positives, sampler), or null for rating models.
  const ImplicitTraining* implicit() const { return implicit_.get(); }

  // Chooses the epoch's batch order and boundaries.
  void StartEpoch(int epoch);

  // Plans batch `batch` (0-based, < batches_per_epoch()) of the current epoch. With
  // items_only only the item keys and slots are planned (BatchPlanner::BuildPacked).
  void Plan(size_t batch, BatchPlan* plan, bool items_only);

  int64_t batches_per_epoch() const { return batches_per_epoch_; }
  // rating_order BY_TILE: whether an epoch visits the tiles user block by user block
  // (training.tile_order, resolved for the user table's placement).
  static bool VisitsUserBlocks(const config::TrainingConfig& training, bool remote_users);
  // The grid (no tiles unless BY_TILE).
  const TileGrid& tiles() const { return tiles_; }
  // BY_TILE visited user block by user block: the user blocks per batch; 0 otherwise.
  size_t tile_user_blocks() const { return tile_width_; }
  // Every rating of the partition, in packed order: a random permutation (BY_USER: users'
  // ratings together; BY_TILE: tile by tile).
  std::span<const data::PackedRating> packed() const { return packed_; }
  // Ratings whose first n are a uniform sample of the partition (BY_USER: every rating of
  // a uniform sample of users), at least min(training.eval_train_sample, ratings) of them.
  std::span<const data::PackedRating> sample() const {
    return tiles_.tiles() > 0 ? std::span<const data::PackedRating>(sample_) : packed();
  }

 private:
  // The batch's ratings in packed_ (parts_) and each part's round (rounds_).
  void SliceParts(size_t batch);

  uint64_t seed_;  // training.seed mixed with the rank
  int64_t batches_per_epoch_;
  std::vector<data::PackedRating> packed_;
  BatchPlanner planner_;
  std::vector<uint32_t> batch_order_;  // this epoch: batch b is slice batch_order_[b]
  size_t batch_offset_ = 0;            // this epoch: where slice 0 starts in packed_
  uint64_t epoch_seed_ = 0;
  std::shared_ptr<const ImplicitTraining> implicit_;  // null: ratings are the examples
  std::vector<uint32_t> negatives_;                   // scratch of Plan
  // BY_TILE: the grid (tiles() == 0 otherwise), the user-blocks order's group width (0: the
  // rounds order), this epoch's visits and the end of each visit in the epoch's rating
  // order, the train-RMSE sample.
  TileGrid tiles_;
  size_t tile_width_ = 0;
  std::vector<TileGrid::Visit> visits_;
  std::vector<size_t> visit_end_;
  std::vector<size_t> batch_end_;  // end of each batch in the epoch's rating order
  std::vector<data::PackedRating> sample_;
  std::vector<std::span<const data::PackedRating>> parts_;  // scratch of Plan
  std::vector<uint32_t> rounds_;
};

}  // namespace psrec::train
