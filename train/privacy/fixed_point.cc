#include "train/privacy/fixed_point.h"

#include <cmath>

#include <glog/logging.h>

namespace psrec::train::privacy {

Status FixedPointCodec::Encode(std::span<const float> in, std::span<uint64_t> out) const {
  CHECK(fraction_bits >= 1 && fraction_bits <= 52) << "fraction bits " << fraction_bits;
  CHECK_EQ(in.size(), out.size());
  const double scale = std::ldexp(1.0, fraction_bits);
  const double limit = 0x1.0p62;
  for (size_t k = 0; k < in.size(); ++k) {
    double scaled = std::nearbyint(static_cast<double>(in[k]) * scale);
    if (!(std::fabs(scaled) < limit)) {
      return Status::InvalidArgument("fixed point: value " + std::to_string(in[k]) +
                                     " at index " + std::to_string(k) +
                                     " is not finite or too large for 2^-" +
                                     std::to_string(fraction_bits) + " resolution");
    }
    out[k] = static_cast<uint64_t>(static_cast<int64_t>(scaled));
  }
  return Status::OK();
}

void FixedPointCodec::Decode(std::span<const uint64_t> in, std::span<double> out) const {
  CHECK_EQ(in.size(), out.size());
  const double inverse = std::ldexp(1.0, -fraction_bits);
  for (size_t k = 0; k < in.size(); ++k) {
    out[k] = static_cast<double>(static_cast<int64_t>(in[k])) * inverse;
  }
}

void AddWords(std::span<const uint64_t> in, std::span<uint64_t> out) {
  CHECK_EQ(in.size(), out.size());
  for (size_t k = 0; k < in.size(); ++k) out[k] += in[k];  // unsigned: wraps modulo 2^64
}

}  // namespace psrec::train::privacy
