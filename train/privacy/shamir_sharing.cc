#include "train/privacy/shamir_sharing.h"

#include <cstring>
#include <set>

namespace psrec::train::privacy {

namespace {

constexpr uint64_t kPrime = (uint64_t{1} << 61) - 1;

uint64_t Reduce(unsigned __int128 v) {
  // 2^61 = 1 (mod p): fold the high bits onto the low ones twice.
  uint64_t folded = static_cast<uint64_t>(v & kPrime) + static_cast<uint64_t>(v >> 61);
  folded = (folded & kPrime) + (folded >> 61);
  return folded >= kPrime ? folded - kPrime : folded;
}
uint64_t Add(uint64_t a, uint64_t b) { return Reduce(static_cast<unsigned __int128>(a) + b); }
uint64_t Sub(uint64_t a, uint64_t b) { return Add(a, kPrime - b); }
uint64_t Mul(uint64_t a, uint64_t b) { return Reduce(static_cast<unsigned __int128>(a) * b); }
uint64_t Pow(uint64_t base, uint64_t exp) {
  uint64_t result = 1;
  while (exp > 0) {
    if (exp & 1) result = Mul(result, base);
    base = Mul(base, base);
    exp >>= 1;
  }
  return result;
}
uint64_t Inverse(uint64_t a) { return Pow(a, kPrime - 2); }  // Fermat; a != 0

uint64_t UniformFieldElement(KeyedStream& randomness) {
  for (;;) {
    uint64_t v = randomness.NextWord() >> 3;  // 61 bits
    if (v < kPrime) return v;                  // rejects only v = p: uniform on [0, p)
  }
}

}  // namespace

Result<std::vector<ShamirShare>> SplitSecret(const std::array<uint8_t, 32>& secret,
                                             int threshold, int num_shares,
                                             KeyedStream& randomness) {
  if (threshold < 1 || threshold > num_shares) {
    return Status::InvalidArgument("Shamir sharing: threshold must lie in [1, shares = " +
                                   std::to_string(num_shares) + "], got " +
                                   std::to_string(threshold));
  }
  std::vector<ShamirShare> shares(num_shares);
  for (int s = 0; s < num_shares; ++s) shares[s].x = static_cast<uint64_t>(s) + 1;
  std::vector<uint64_t> coefficients(threshold);
  for (int limb = 0; limb < 8; ++limb) {
    uint32_t value;
    std::memcpy(&value, secret.data() + 4 * limb, 4);
    coefficients[0] = value;
    for (int c = 1; c < threshold; ++c) coefficients[c] = UniformFieldElement(randomness);
    for (ShamirShare& share : shares) {
      uint64_t y = 0;  // Horner
      for (int c = threshold - 1; c >= 0; --c) y = Add(Mul(y, share.x), coefficients[c]);
      share.y[limb] = y;
    }
  }
  return shares;
}

Result<std::array<uint8_t, 32>> CombineShares(std::span<const ShamirShare> shares,
                                              int threshold) {
  if (threshold < 1 || static_cast<int>(shares.size()) < threshold) {
    return Status::InvalidArgument("Shamir sharing: need " + std::to_string(threshold) +
                                   " shares, got " + std::to_string(shares.size()));
  }
  std::span<const ShamirShare> used = shares.first(threshold);
  std::set<uint64_t> xs;
  for (const ShamirShare& share : used) {
    if (share.x == 0 || share.x >= kPrime || !xs.insert(share.x).second) {
      return Status::InvalidArgument("Shamir sharing: share x-values must be distinct and in "
                                     "[1, p), got " + std::to_string(share.x) + " twice or out "
                                     "of range");
    }
    for (uint64_t y : share.y) {
      if (y >= kPrime) return Status::InvalidArgument("Shamir sharing: a share is not a field "
                                                      "element");
    }
  }
  // Lagrange basis at 0: l_i = prod_{j != i} x_j / (x_j - x_i).
  std::vector<uint64_t> basis(used.size());
  for (size_t i = 0; i < used.size(); ++i) {
    uint64_t numerator = 1, denominator = 1;
    for (size_t j = 0; j < used.size(); ++j) {
      if (j == i) continue;
      numerator = Mul(numerator, used[j].x);
      denominator = Mul(denominator, Sub(used[j].x, used[i].x));
    }
    basis[i] = Mul(numerator, Inverse(denominator));
  }
  std::array<uint8_t, 32> secret{};
  for (int limb = 0; limb < 8; ++limb) {
    uint64_t value = 0;
    for (size_t i = 0; i < used.size(); ++i) value = Add(value, Mul(used[i].y[limb], basis[i]));
    if (value > UINT32_MAX) {
      return Status::InvalidArgument("Shamir sharing: the shares do not belong to one secret");
    }
    uint32_t limb_value = static_cast<uint32_t>(value);
    std::memcpy(secret.data() + 4 * limb, &limb_value, 4);
  }
  return secret;
}

}  // namespace psrec::train::privacy
