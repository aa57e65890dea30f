// RowIndex: the map from key to row number of a table shard (table/embedding_table.h).
//
// Open addressing with linear probing over one array of 16-byte slots {key, row}, kept at
// most half full. A lookup reads the key's home slot and, rarely, the few after it: one
// cache line, whose address Prefetch can compute. That is the point of this class. With
// absl::flat_hash_map (control bytes, then a group of 16 slots over four cache lines) a
// prefetch reaches the control bytes and the group's first line only, and on a 1M-row
// shard the lookup then misses on the slot line: 27% of a server's push time in
// `psrec bench pushpull`, most of it stalled on that compare (perf annotate).
//
// Rows are never removed, so there are no tombstones. A slot stores row + 1, so that zeroed
// memory is an empty index: the slots are mapped with mmap (never initialized by a pass),
// and an array of 2 MiB or more is advised for transparent huge pages. On 4 KiB pages a
// 1M-row index (32 MB) spans 8,192 pages probed at random, and nearly every lookup also
// missed the TLB.
//
// Thread safety: not thread-safe; const methods may run concurrently with each other.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>

namespace psrec::table {

class RowIndex {
 public:
  static constexpr uint32_t kNoRow = UINT32_MAX;

  RowIndex() { Rehash(kMinCapacity); }
  ~RowIndex();
  RowIndex(RowIndex&& other) noexcept;
  RowIndex& operator=(RowIndex&& other) noexcept;
  RowIndex(const RowIndex&) = delete;
  RowIndex& operator=(const RowIndex&) = delete;

  size_t size() const { return size_; }
  size_t capacity() const { return capacity_; }
  size_t MemoryBytes() const { return capacity_ * sizeof(Slot); }

  // The row of key, or kNoRow.
  uint32_t Find(uint64_t key) const {
    for (size_t i = Home(key);; i = (i + 1) & mask_) {
      const Slot& slot = slots_[i];
      if (slot.row_plus_one == 0) return kNoRow;
      if (slot.key == key) return slot.row_plus_one - 1;
    }
  }

  // The row of key and false, or, when key is absent, stores `row` for it and returns
  // {row, true}. REQUIRES: row != kNoRow.
  std::pair<uint32_t, bool> FindOrInsert(uint64_t key, uint32_t row) {
    for (size_t i = Home(key);; i = (i + 1) & mask_) {
      Slot& slot = slots_[i];
      if (slot.row_plus_one == 0) {
        if (2 * (size_ + 1) > capacity_) {  // keep it at most half full
          Rehash(2 * capacity_);
          return FindOrInsert(key, row);
        }
        slot.key = key;
        slot.row_plus_one = row + 1;
        ++size_;
        return {row, true};
      }
      if (slot.key == key) return {slot.row_plus_one - 1, false};
    }
  }

  // Brings the cache line of key's home slot closer (a later Find or FindOrInsert).
  void Prefetch(uint64_t key) const { __builtin_prefetch(&slots_[Home(key)]); }

  // Makes room for `rows` keys without rehashing.
  void Reserve(size_t rows) {
    size_t capacity = capacity_;
    while (capacity < 2 * rows) capacity *= 2;
    if (capacity > capacity_) Rehash(capacity);
  }

 private:
  struct Slot {
    uint64_t key;
    uint32_t row_plus_one;  // 0: empty
    uint32_t unused;
  };
  static_assert(sizeof(Slot) == 16, "four slots per cache line");
  static constexpr size_t kMinCapacity = 16;

  // The top bits of a multiplicative mix. Deliberately not Mix64 (common/keys.h): the keys
  // of one server share Mix64(key ^ seed) % servers, and the index must not see that.
  size_t Home(uint64_t key) const {
    uint64_t h = (key ^ (key >> 32)) * 0x9e3779b97f4a7c15ULL;
    h ^= h >> 29;
    h *= 0xd6e8feb86659fd93ULL;
    return static_cast<size_t>(h >> shift_);
  }

  // Moves every key to a fresh, zeroed array of `capacity` slots (a power of two).
  void Rehash(size_t capacity);

  Slot* slots_ = nullptr;  // capacity_ of them, from mmap
  size_t capacity_ = 0;
  size_t mask_ = 0;
  int shift_ = 64;
  size_t size_ = 0;
};

}  // namespace psrec::table
