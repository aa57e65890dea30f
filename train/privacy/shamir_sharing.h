// t-of-n Shamir secret sharing of a 32-byte secret (a client's X25519 secret key), so that
// the servers can rebuild the key of a client that dropped out from any t survivors' shares
// and remove its pairwise masks (pairwise_masking.h), while fewer than t shares reveal
// nothing about it. Arithmetic is over the prime field of p = 2^61 - 1; the secret is eight
// 32-bit limbs, each shared with its own random polynomial of degree t - 1; share x-values
// are 1..n (a client's position in the round, plus one).
//
// Trust model: the servers must collect shares only for clients that did not report (if they
// also got t shares of a reporting client's key they could unmask its update); Bonawitz et
// al.'s self-mask closes that gap against malicious servers, which psrec does not model.
//
// Thread safety: pure functions (the stream argument is the caller's).
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "common/status.h"
#include "train/privacy/keyed_stream.h"

namespace psrec::train::privacy {

struct ShamirShare {
  uint64_t x = 0;                  // 1..n
  std::array<uint64_t, 8> y{};     // one field element per 32-bit limb of the secret
};

// n shares of `secret`, any `threshold` of which rebuild it. Coefficients come from
// `randomness` (seeded for simulation; a RandomStreamKey stream otherwise).
// InvalidArgument: threshold < 1 or > num_shares.
Result<std::vector<ShamirShare>> SplitSecret(const std::array<uint8_t, 32>& secret,
                                             int threshold, int num_shares,
                                             KeyedStream& randomness);

// The secret from at least `threshold` shares with distinct x (Lagrange interpolation at 0).
// InvalidArgument for too few shares, a repeated or zero x, or a y outside the field.
// With threshold shares of a different secret, it returns garbage: shares are not
// authenticated (honest-but-curious participants).
Result<std::array<uint8_t, 32>> CombineShares(std::span<const ShamirShare> shares,
                                              int threshold);

}  // namespace psrec::train::privacy
