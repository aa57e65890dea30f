#include "train/tile_grid.h"

#include <algorithm>
#include <numeric>
#include <random>

namespace psrec::train {
namespace {

std::vector<uint32_t> RandomPermutation(size_t n, std::mt19937_64* rng) {
  std::vector<uint32_t> p(n);
  std::iota(p.begin(), p.end(), 0u);
  for (size_t i = n; i > 1; --i) {
    std::uniform_int_distribution<size_t> pick(0, i - 1);
    std::swap(p[i - 1], p[pick(*rng)]);
  }
  return p;
}

}  // namespace

size_t TileGrid::ItemBlocks(size_t items, size_t tile_item_rows) {
  return std::max<size_t>((items + tile_item_rows - 1) / std::max<size_t>(tile_item_rows, 1), 1);
}

TileGrid TileGrid::Build(std::span<const uint32_t> order, const data::RatingsShard& train,
                         size_t user_blocks, size_t item_blocks, uint64_t seed,
                         std::vector<data::PackedRating>* packed) {
  const size_t users = train.user_ids.size();
  const size_t items = train.item_ids.size();
  const size_t n = order.size();
  TileGrid grid;
  const size_t gu = std::max<size_t>(user_blocks, 1);
  const size_t gi = std::max<size_t>(item_blocks, 1);
  grid.user_blocks_ = gu;
  grid.item_blocks_ = gi;
  std::mt19937_64 rng(seed);
  // Item blocks: a random rank per item, cut into gi runs of at most tile_item_rows.
  std::vector<uint32_t> item_block = RandomPermutation(items, &rng);
  for (uint32_t& rank : item_block) rank = static_cast<uint32_t>(uint64_t{rank} * gi / items);
  // User blocks: runs of dense indices, a block starting where the ratings of the users
  // before it pass a multiple of n / gu.
  std::vector<uint32_t> user_block(users);
  std::vector<uint32_t> block_first_user(gu + 1, static_cast<uint32_t>(users));
  {
    std::vector<size_t> before(users + 1, 0);
    for (const uint32_t r : order) ++before[train.user_index[r] + 1];
    std::partial_sum(before.begin(), before.end(), before.begin());
    for (size_t u = users; u-- > 0;) {
      user_block[u] = n == 0 ? 0 : static_cast<uint32_t>(before[u] * gu / n);
      block_first_user[user_block[u]] = static_cast<uint32_t>(u);
    }
  }
  for (size_t b = gu; b-- > 0;) {
    block_first_user[b] = std::min(block_first_user[b], block_first_user[b + 1]);
  }
  // A stable counting sort by tile straight into `packed`, then inside each tile a stable
  // counting sort by user through a tile-sized scratch.
  auto tile_of = [&](uint32_t r) {
    return size_t{user_block[train.user_index[r]]} * gi + item_block[train.item_index[r]];
  };
  const size_t tiles = gu * gi;
  grid.begin_.assign(tiles + 1, 0);
  for (const uint32_t r : order) ++grid.begin_[tile_of(r) + 1];
  std::partial_sum(grid.begin_.begin(), grid.begin_.end(), grid.begin_.begin());
  packed->resize(n);
  {
    std::vector<size_t> next(grid.begin_.begin(), grid.begin_.end() - 1);
    for (const uint32_t r : order) {
      (*packed)[next[tile_of(r)]++] = {train.user_index[r], train.item_index[r], train.rating[r]};
    }
  }
  size_t largest = 0;
  for (size_t t = 0; t < tiles; ++t) largest = std::max(largest, grid.size(static_cast<uint32_t>(t)));
  std::vector<data::PackedRating> scratch(largest);
  std::vector<size_t> count;
  for (size_t t = 0; t < tiles; ++t) {
    const uint32_t first_user = block_first_user[t / gi];
    const uint32_t end_user = block_first_user[t / gi + 1];
    const std::span<data::PackedRating> tile(packed->data() + grid.begin_[t],
                                             grid.size(static_cast<uint32_t>(t)));
    count.assign(end_user - first_user + 1, 0);
    for (const data::PackedRating& r : tile) ++count[r.user - first_user + 1];
    std::partial_sum(count.begin(), count.end(), count.begin());
    for (const data::PackedRating& r : tile) scratch[count[r.user - first_user]++] = r;
    std::copy(scratch.begin(), scratch.begin() + static_cast<std::ptrdiff_t>(tile.size()),
              tile.begin());
  }
  return grid;
}

void TileGrid::EpochOrder(uint64_t seed, std::vector<Visit>* order) const {
  std::mt19937_64 rng(seed);
  const size_t g = user_blocks_;
  const std::vector<uint32_t> user_perm = RandomPermutation(g, &rng);
  const std::vector<uint32_t> item_perm = RandomPermutation(g, &rng);
  const std::vector<uint32_t> shift = RandomPermutation(g, &rng);
  order->clear();
  order->reserve(g * g);
  for (uint32_t round = 0; round < g; ++round) {
    // Tiles (user_perm[j], item_perm[j + shift]): one per user block and per item block.
    for (size_t j = 0; j < g; ++j) {
      const size_t u = user_perm[j];
      const size_t i = item_perm[(j + shift[round]) % g];
      order->push_back({static_cast<uint32_t>(u * g + i), round});
    }
  }
}

void TileGrid::UserBlockOrder(uint64_t seed, size_t width, std::vector<Visit>* order) const {
  std::mt19937_64 rng(seed);
  const size_t gi = item_blocks_;
  width = std::clamp<size_t>(width, 1, gi);
  const std::vector<uint32_t> user_perm = RandomPermutation(user_blocks_, &rng);
  order->clear();
  order->reserve(tiles());
  uint32_t round = 0;
  for (size_t first = 0; first < user_blocks_; first += width) {
    const size_t members = std::min(width, user_blocks_ - first);
    // The group's rounds: tiles (member j, item_perm[j + shift]), one per member and per
    // item block (members <= gi); over the gi shifts each member meets every item block.
    const std::vector<uint32_t> item_perm = RandomPermutation(gi, &rng);
    const std::vector<uint32_t> shift = RandomPermutation(gi, &rng);
    for (size_t r = 0; r < gi; ++r, ++round) {
      for (size_t j = 0; j < members; ++j) {
        const size_t u = user_perm[first + j];
        const size_t i = item_perm[(j + shift[r]) % gi];
        order->push_back({static_cast<uint32_t>(u * gi + i), round});
      }
    }
  }
}

}  // namespace psrec::train
