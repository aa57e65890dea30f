// The fixed-point encoding that secure aggregation masks: a real x becomes the integer
// round(x * 2^f) held in a uint64 word, two's complement, so that sums of words modulo 2^64
// are sums of the encoded values exactly, in any order. f = 20 (the default) resolves 1e-6;
// a sum decodes correctly while its true value stays within +-2^(63 - f) (8.8e12 at f = 20).
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <span>

#include "common/status.h"

namespace psrec::train::privacy {

struct FixedPointCodec {
  int fraction_bits = 20;  // 1 .. 52

  // InvalidArgument for a value that is not finite or whose encoding exceeds +-2^62 (room for
  // a sum of two before overflow), naming its index. REQUIRES out.size() == in.size().
  Status Encode(std::span<const float> in, std::span<uint64_t> out) const;
  // Reads words (a sum of encodings) as signed integers scaled by 2^-f.
  void Decode(std::span<const uint64_t> in, std::span<double> out) const;
};

// out[k] += in[k] modulo 2^64 (the server's sum of masked updates).
void AddWords(std::span<const uint64_t> in, std::span<uint64_t> out);

}  // namespace psrec::train::privacy
