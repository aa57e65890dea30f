// RowArena: the growable, page-aligned float buffer behind an EmbeddingTable.
//
// Memory comes straight from mmap and grows with mremap, so growing a 1 GB arena moves page
// mappings instead of copying bytes, and no page is touched twice (a copying doubling touches
// twice the final size, and on a VM first touch is where the time goes). Arenas of 2 MiB and
// more are advised for transparent huge pages (one fault per 2 MiB instead of per 4 KiB).
// Fresh memory reads as zeros.
//
// Thread safety: not thread-safe; data() is invalidated by Grow.
#pragma once

#include <cstddef>

namespace psrec::table {

class RowArena {
 public:
  RowArena() = default;
  ~RowArena();
  RowArena(RowArena&& other) noexcept;
  RowArena& operator=(RowArena&& other) noexcept;
  RowArena(const RowArena&) = delete;
  RowArena& operator=(const RowArena&) = delete;

  float* data() { return data_; }
  const float* data() const { return data_; }
  size_t capacity_bytes() const { return bytes_; }

  // Makes room for at least `bytes`, keeping the contents. Dies when the OS refuses memory
  // (as std::vector would by throwing bad_alloc).
  void Grow(size_t bytes);

 private:
  float* data_ = nullptr;
  size_t bytes_ = 0;
};

}  // namespace psrec::table
