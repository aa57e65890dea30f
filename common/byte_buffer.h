// ByteBuffer: a growable byte array for frames on their way to or from a socket. Unlike
// std::vector<uint8_t> it does not zero what it grows into (frames are written right after),
// its storage is 64-byte aligned, and Clear() keeps the capacity, so a buffer reused for
// every message allocates only while it grows to the largest one.
//
// Large buffers (kLargeBytes and up: bulk frames of tens of MB) are mapped directly, on
// 2 MB boundaries with transparent huge pages requested, and grow by moving their pages
// (mremap) instead of copying them. Faulting in a fresh 4 KB page costs about as much as
// copying it, and a buffer of 100 MB has 25,600 of them: huge pages cut that 512-fold, and
// mremap makes growth cost nothing for the bytes already there.
//
// Thread safety: none; one owner at a time. Pointers into it are invalidated by any call
// that grows it (Append, Grow, Reserve).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>
#include <span>
#include <utility>

#include <sys/mman.h>

#include <cerrno>

#include <glog/logging.h>

namespace psrec {

class ByteBuffer {
 public:
  static constexpr size_t kAlignment = 64;
  static constexpr size_t kLargeBytes = size_t{2} << 20;  // a huge page

  ByteBuffer() = default;
  ByteBuffer(const ByteBuffer&) = delete;
  ByteBuffer& operator=(const ByteBuffer&) = delete;
  ByteBuffer(ByteBuffer&& other) noexcept { Swap(other); }
  ByteBuffer& operator=(ByteBuffer&& other) noexcept {
    Swap(other);
    return *this;
  }
  ~ByteBuffer() { Free(); }

  uint8_t* data() { return data_; }
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  size_t capacity() const { return capacity_; }
  bool empty() const { return size_ == 0; }
  std::span<const uint8_t> span() const { return {data_, size_}; }

  void Clear() { size_ = 0; }

  // Ensures capacity >= n, keeping the contents.
  void Reserve(size_t n) {
    if (n <= capacity_) return;
    size_t cap = capacity_ == 0 ? 4096 : capacity_;
    while (cap < n) cap *= 2;
    if (cap >= kLargeBytes) {
      GrowMapped((cap + kLargeBytes - 1) / kLargeBytes * kLargeBytes);
      return;
    }
    auto* p = static_cast<uint8_t*>(::operator new(cap, std::align_val_t{kAlignment}));
    const size_t size = size_;
    if (size > 0) std::memcpy(p, data_, size);
    Free();  // resets size_
    data_ = p;
    size_ = size;
    capacity_ = cap;
  }

  // Appends n uninitialized bytes and returns where they start.
  uint8_t* Grow(size_t n) {
    Reserve(size_ + n);
    uint8_t* p = data_ + size_;
    size_ += n;
    return p;
  }

  void Append(const void* p, size_t n) {
    if (n > 0) std::memcpy(Grow(n), p, n);
  }

  // Drops the last n bytes.
  void Shrink(size_t n) {
    CHECK_LE(n, size_);
    size_ -= n;
  }

  // Removes the first n bytes, moving the rest to offset `keep_at` (so that a partial frame
  // can be moved to a position that aligns its body).
  void Consume(size_t n, size_t keep_at = 0) {
    CHECK_LE(n, size_);
    const size_t rest = size_ - n;
    Reserve(keep_at + rest);
    if (rest > 0 && n != keep_at) std::memmove(data_ + keep_at, data_ + n, rest);
    size_ = keep_at + rest;
  }

  void Swap(ByteBuffer& other) noexcept {
    std::swap(data_, other.data_);
    std::swap(size_, other.size_);
    std::swap(capacity_, other.capacity_);
  }

 private:
  bool mapped() const { return capacity_ >= kLargeBytes; }

  // Moves the storage to a 2 MB-aligned mapping of cap bytes (a multiple of kLargeBytes).
  void GrowMapped(size_t cap) {
    // Over-map by one huge page and trim, so that the mapping starts on a 2 MB boundary
    // (only aligned 2 MB ranges can be huge pages).
    void* raw = mmap(nullptr, cap + kLargeBytes, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(raw != MAP_FAILED) << "out of memory: cannot map " << cap
                             << " bytes for a frame buffer: " << std::strerror(errno);
    const auto start = reinterpret_cast<uintptr_t>(raw);
    const uintptr_t aligned = (start + kLargeBytes - 1) / kLargeBytes * kLargeBytes;
    if (aligned > start) munmap(raw, aligned - start);
    const uintptr_t end = start + cap + kLargeBytes;
    if (end > aligned + cap) munmap(reinterpret_cast<void*>(aligned + cap), end - aligned - cap);
    auto* p = reinterpret_cast<uint8_t*>(aligned);
    if (mapped()) {
      // Move the old pages over the new range's start: no copy, no new faults for them.
      void* moved = mremap(data_, capacity_, capacity_, MREMAP_MAYMOVE | MREMAP_FIXED, p);
      CHECK(moved == p) << "mremap of a frame buffer failed: " << std::strerror(errno);
    } else if (size_ > 0) {
      std::memcpy(p, data_, size_);
    }
    // Advice only: without huge pages the buffer still works.
    madvise(p, cap, MADV_HUGEPAGE);
    const size_t size = size_;
    if (!mapped()) Free();  // a mapped source was moved away already
    data_ = p;
    size_ = size;
    capacity_ = cap;
  }

  void Free() {
    if (data_ != nullptr) {
      if (mapped()) {
        munmap(data_, capacity_);
      } else {
        ::operator delete(data_, std::align_val_t{kAlignment});
      }
    }
    data_ = nullptr;
    capacity_ = 0;
    size_ = 0;
  }

  uint8_t* data_ = nullptr;
  size_t size_ = 0;
  size_t capacity_ = 0;
};

}  // namespace psrec
