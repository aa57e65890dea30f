// TileGrid: training.rating_order BY_TILE. A worker's packed ratings cut into a G x G grid
// of (user block x item block) tiles, stored tile by tile, and the random order in which
// an epoch visits them.
//
// Item blocks hold at most training.tile_item_rows items, drawn at random (seeded), so a
// tile's item rows stay in L2 and popular items spread over the blocks. User blocks are
// runs of dense user indices holding about equal numbers of ratings: with LOCAL users
// stepped in place, a tile's user rows are one stretch of the table read forward (inside a
// tile ratings are ordered by user), the hardware prefetcher's case. An epoch visits G
// rounds in a random order; a round is G tiles that share no user block and no item block
// (a random diagonal of the grid, under random permutations of both block orders), which
// training.compute_threads steps at once. Everything depends on the seed only.
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
    uint32_t tile;   // u * blocks + i
    uint32_t round;
  };

  TileGrid() = default;

  // Writes the ratings `order[...]` of `train` into `*packed` tile by tile (inside a tile by
  // dense user, a user's ratings in their order in `order`; no second rating-sized array)
  // and records the tiles' extents. G = max(ceil(items / tile_item_rows), min_blocks, 1).
  static TileGrid Build(std::span<const uint32_t> order, const data::RatingsShard& train,
                        size_t tile_item_rows, size_t min_blocks, uint64_t seed,
                        std::vector<data::PackedRating>* packed);

  size_t blocks() const { return blocks_; }
  // Tile t's ratings are packed[begin(t), begin(t + 1)).
  size_t begin(uint32_t tile) const { return begin_[tile]; }
  size_t size(uint32_t tile) const { return begin_[tile + 1] - begin_[tile]; }

  // The epoch's order: G rounds of G tiles, every tile once. Rewrites `order`.
  void EpochOrder(uint64_t seed, std::vector<Visit>* order) const;

 private:
  size_t blocks_ = 0;
  std::vector<size_t> begin_;  // blocks^2 + 1 offsets into the packed array
};

}  // namespace psrec::train
