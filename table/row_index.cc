#include "table/row_index.h"

#include <sys/mman.h>

#include <cerrno>
#include <cstring>

#include <glog/logging.h>

namespace psrec::table {

namespace {

constexpr size_t kHugePage = size_t{2} << 20;

void* MapZeroed(size_t bytes) {
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  CHECK(p != MAP_FAILED) << "out of memory: cannot map " << bytes
                         << " bytes for a table index: " << std::strerror(errno);
  // Advice only: without huge pages the index still works.
  if (bytes >= kHugePage) madvise(p, bytes, MADV_HUGEPAGE);
  return p;
}

}  // namespace

RowIndex::~RowIndex() {
  if (slots_ != nullptr) munmap(slots_, capacity_ * sizeof(Slot));
}

RowIndex::RowIndex(RowIndex&& other) noexcept
    : slots_(std::exchange(other.slots_, nullptr)),
      capacity_(std::exchange(other.capacity_, 0)),
      mask_(other.mask_),
      shift_(other.shift_),
      size_(std::exchange(other.size_, 0)) {}

RowIndex& RowIndex::operator=(RowIndex&& other) noexcept {
  if (this != &other) {
    if (slots_ != nullptr) munmap(slots_, capacity_ * sizeof(Slot));
    slots_ = std::exchange(other.slots_, nullptr);
    capacity_ = std::exchange(other.capacity_, 0);
    mask_ = other.mask_;
    shift_ = other.shift_;
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

void RowIndex::Rehash(size_t capacity) {
  Slot* old = slots_;
  const size_t old_capacity = capacity_;
  slots_ = static_cast<Slot*>(MapZeroed(capacity * sizeof(Slot)));
  capacity_ = capacity;
  mask_ = capacity - 1;
  shift_ = 64 - __builtin_ctzll(capacity);
  size_ = 0;
  for (size_t i = 0; i < old_capacity; ++i) {
    if (old[i].row_plus_one != 0) FindOrInsert(old[i].key, old[i].row_plus_one - 1);
  }
  if (old != nullptr) munmap(old, old_capacity * sizeof(Slot));
}

}  // namespace psrec::table
