// IdRing<T>: entries named by consecutive 64-bit ids, retired in any order, stored in a
// power-of-two ring that only grows. Entries are reused in place (a retired entry's
// vectors keep their capacity), so steady state allocates nothing. It is how the client
// keeps its outstanding requests and pull tickets: ids are issued in order, replies retire
// them out of order, and the oldest live entry (the front) has the earliest deadline.
//
// T needs a `bool retired` member; Add resets it to false and leaves the rest to the caller.
// Pointers returned by Add/Find/Front are invalidated by the next Add (the ring may grow).
//
// Thread safety: none; the owner locks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace psrec::client {

template <typename T>
class IdRing {
 public:
  IdRing() : slots_(16) {}

  // A fresh entry with id next_id(); fields other than `retired` keep stale values.
  T* Add() {
    if (count_ == slots_.size()) Grow();
    T* slot = &slots_[(head_ + count_) & (slots_.size() - 1)];
    slot->retired = false;
    ++count_;
    ++next_id_;
    return slot;
  }

  // The live entry `id`, or nullptr when it was never issued or is retired.
  T* Find(uint64_t id) {
    if (id < front_id_ || id >= next_id_) return nullptr;
    T* slot = &slots_[(head_ + (id - front_id_)) & (slots_.size() - 1)];
    return slot->retired ? nullptr : slot;
  }

  // Retires `id`; entries leave the ring once every older one is retired too.
  void Retire(uint64_t id) {
    T* slot = Find(id);
    if (slot == nullptr) return;
    slot->retired = true;
    while (count_ > 0 && slots_[head_].retired) {
      head_ = (head_ + 1) & (slots_.size() - 1);
      ++front_id_;
      --count_;
    }
  }

  // The oldest live entry, or nullptr.
  T* Front() { return count_ == 0 ? nullptr : &slots_[head_]; }
  uint64_t front_id() const { return front_id_; }
  uint64_t next_id() const { return next_id_; }
  // Entries not yet removed (live ones and retired ones behind a live one).
  size_t size() const { return count_; }

 private:
  void Grow() {
    std::vector<T> bigger(slots_.size() * 2);
    for (size_t i = 0; i < count_; ++i) {
      bigger[i] = std::move(slots_[(head_ + i) & (slots_.size() - 1)]);
    }
    slots_.swap(bigger);
    head_ = 0;
  }

  std::vector<T> slots_;  // size is a power of two
  size_t head_ = 0;       // slot of front_id_
  size_t count_ = 0;
  uint64_t front_id_ = 1;  // ids start at 1: request id 0 means "no request" on the wire
  uint64_t next_id_ = 1;
};

}  // namespace psrec::client
