// Checksum64: a fast 64-bit checksum of a byte stream, for detecting corrupted files (not
// an adversary). Defined, so that other tools can recompute it:
//   the stream is cut into little-endian 64-bit words (the last one zero-padded); word j
//   goes to lane j % 4, and each lane runs h = (h ^ w) * 0x100000001b3 from the seeds
//   Mix64(1..4); the result is Mix64(... Mix64(Mix64(lane0) ^ lane1) ... ^ lane3 ^ length).
// Every step is a bijection of the lane state, so a change of one word always changes the
// result. Four independent lanes keep it at memory speed.
//
// Thread safety: a value; one Checksum64 per stream.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "common/keys.h"

namespace psrec {

static_assert(std::endian::native == std::endian::little,
              "psrec file formats are little-endian and written by memcpy");

class Checksum64 {
 public:
  // Appends `size` bytes. Any split of a stream into Update calls gives the same result.
  void Update(const void* data, size_t size) {
    const auto* p = static_cast<const unsigned char*>(data);
    length_ += size;
    while (size > 0 && pending_size_ > 0) {  // finish a block started by an earlier call
      pending_[pending_size_++] = *p++;
      --size;
      if (pending_size_ == kBlock) {
        Block(pending_);
        pending_size_ = 0;
      }
    }
    for (; size >= kBlock; p += kBlock, size -= kBlock) Block(p);
    std::memcpy(pending_, p, size);
    pending_size_ += size;
  }

  uint64_t Finish() const {
    uint64_t lanes[4] = {lane_[0], lane_[1], lane_[2], lane_[3]};
    for (size_t off = 0, j = 0; off < pending_size_; off += 8, ++j) {
      uint64_t w = 0;
      std::memcpy(&w, pending_ + off, pending_size_ - off < 8 ? pending_size_ - off : 8);
      lanes[j] = (lanes[j] ^ w) * kPrime;
    }
    uint64_t h = Mix64(lanes[0]);
    h = Mix64(h ^ lanes[1]);
    h = Mix64(h ^ lanes[2]);
    return Mix64(h ^ lanes[3] ^ length_);
  }

  static uint64_t Of(const void* data, size_t size) {
    Checksum64 c;
    c.Update(data, size);
    return c.Finish();
  }

 private:
  static constexpr size_t kBlock = 32;
  static constexpr uint64_t kPrime = 0x100000001b3ULL;

  void Block(const unsigned char* p) {
    uint64_t w[4];
    std::memcpy(w, p, kBlock);
    for (int j = 0; j < 4; ++j) lane_[j] = (lane_[j] ^ w[j]) * kPrime;
  }

  uint64_t lane_[4] = {Mix64(1), Mix64(2), Mix64(3), Mix64(4)};
  unsigned char pending_[kBlock] = {};
  size_t pending_size_ = 0;
  uint64_t length_ = 0;
};

}  // namespace psrec
