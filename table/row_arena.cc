#include "table/row_arena.h"

#include <sys/mman.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include <glog/logging.h>

namespace psrec::table {

namespace {
constexpr size_t kPage = 4096;
constexpr size_t kHugePage = size_t{2} << 20;

size_t RoundUp(size_t n, size_t multiple) { return (n + multiple - 1) / multiple * multiple; }
}  // namespace

RowArena::~RowArena() {
  if (data_ != nullptr) munmap(data_, bytes_);
}

RowArena::RowArena(RowArena&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), bytes_(std::exchange(other.bytes_, 0)) {}

RowArena& RowArena::operator=(RowArena&& other) noexcept {
  if (this != &other) {
    if (data_ != nullptr) munmap(data_, bytes_);
    data_ = std::exchange(other.data_, nullptr);
    bytes_ = std::exchange(other.bytes_, 0);
  }
  return *this;
}

void RowArena::Grow(size_t bytes) {
  if (bytes <= bytes_) return;
  bytes = RoundUp(bytes, bytes >= kHugePage ? kHugePage : kPage);
  void* p;
  if (data_ == nullptr) {
    p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  } else {
    p = mremap(data_, bytes_, bytes, MREMAP_MAYMOVE);
  }
  CHECK(p != MAP_FAILED) << "out of memory: cannot map " << bytes
                         << " bytes for a table arena: " << std::strerror(errno);
  // Advice only: without huge pages the arena still works.
  if (bytes >= kHugePage) madvise(p, bytes, MADV_HUGEPAGE);
  data_ = static_cast<float*>(p);
  bytes_ = bytes;
}

}  // namespace psrec::table
