// A fuzz input placed in memory at a chosen misalignment, for the wire decoders: they view
// keys and floats in place when the body is 8-byte aligned and copy them otherwise, so the
// targets feed both (the first input byte picks the offset, the rest is the body).
//
// Thread safety: a FuzzBody is a plain value owned by one fuzz iteration.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <span>

namespace psrec::fuzz {

class FuzzBody {
 public:
  // Takes data[1..size) as the body, at offset data[0] % 8 from an aligned address.
  FuzzBody(const uint8_t* data, size_t size) {
    if (size == 0) return;
    const size_t shift = data[0] % 8;
    size_ = size - 1;
    storage_.reset(new (std::align_val_t{16}) uint8_t[size_ + shift + 1]);
    body_ = storage_.get() + shift;
    if (size_ > 0) std::memcpy(body_, data + 1, size_);
  }

  std::span<const uint8_t> span() const { return {body_, size_}; }

 private:
  struct AlignedDelete {
    void operator()(uint8_t* p) const { ::operator delete[](p, std::align_val_t{16}); }
  };
  std::unique_ptr<uint8_t[], AlignedDelete> storage_;
  uint8_t* body_ = nullptr;
  size_t size_ = 0;
};

}  // namespace psrec::fuzz
