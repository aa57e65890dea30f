// TileGrid: training.rating_order BY_TILE. A worker's packed ratings cut into a grid of
// (user block x item block) tiles, stored tile by tile, and the random order in which an
// epoch visits them.
//
// Item blocks hold at most training.tile_item_rows items, drawn at random (seeded), so a
// tile's item rows stay in L2 and popular items spread over the blocks. User blocks are
// runs of dense user indices holding about equal numbers of ratings: with LOCAL users
// stepped in place, a tile's user rows are one stretch of the table read forward (inside a
// tile ratings are ordered by user), the hardware prefetcher's case. Two epoch orders
// (training.tile_order):
//   - rounds (a square G x G grid): G rounds in a random order; a round is G tiles that
//     share no user block and no item block (a random diagonal of the grid, under random
//     permutations of both block orders). A user's tiles are spread over the epoch;
//   - user blocks: the user blocks in a random order, cut into groups of `width`; each
//     group's tiles in rounds of `width` tiles sharing no block (a random diagonal of the
//     group x item-block rectangle), the rounds in a random order. A user's tiles are
//     consecutive, so when a group holds about a batch of ratings a REMOTE user row is
//     pulled about once per epoch.
// training.compute_threads steps a round's tiles at once. Everything depends on the seed.
//
// Thread safety: built once; const calls from any thread.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "data/dataset.h"
#include "data/packed_rating.h"

namespace psrec::train {

class TileGrid {
 public:
  // One tile of an epoch's order, and its round (0-based, in visiting order).
  struct Visit {
    uint32_t tile;   // u * item_blocks() + i
    uint32_t round;
  };

  TileGrid() = default;

  // Writes the ratings `order[...]` of `train` into `*packed` tile by tile (inside a tile by
  // dense user, a user's ratings in their order in `order`; no second rating-sized array)
  // and records the tiles' extents. REQUIRES: user_blocks, item_blocks >= 1.
  static TileGrid Build(std::span<const uint32_t> order, const data::RatingsShard& train,
                        size_t user_blocks, size_t item_blocks, uint64_t seed,
                        std::vector<data::PackedRating>* packed);
  // Item blocks of at most tile_item_rows items each (at least one).
  static size_t ItemBlocks(size_t items, size_t tile_item_rows);

  size_t user_blocks() const { return user_blocks_; }
  size_t item_blocks() const { return item_blocks_; }
  size_t tiles() const { return user_blocks_ * item_blocks_; }
  // Tile t (u * item_blocks() + i) has ratings packed[begin(t), begin(t + 1)).
  size_t begin(uint32_t tile) const { return begin_[tile]; }
  size_t size(uint32_t tile) const { return begin_[tile + 1] - begin_[tile]; }

  // The rounds order: G rounds of G tiles, every tile once. Rewrites `order`.
  // REQUIRES: user_blocks() == item_blocks().
  void EpochOrder(uint64_t seed, std::vector<Visit>* order) const;
  // The user-blocks order: every tile once, a user block's tiles in consecutive rounds of
  // at most `width` tiles (one per user block of the group, all of other item blocks).
  // REQUIRES: 1 <= width <= item_blocks().
  void UserBlockOrder(uint64_t seed, size_t width, std::vector<Visit>* order) const;

 private:
  size_t user_blocks_ = 0;  // 0: no grid
  size_t item_blocks_ = 0;
  std::vector<size_t> begin_;  // tiles() + 1 offsets into the packed array
};

}  // namespace psrec::train
