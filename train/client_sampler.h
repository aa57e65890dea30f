// Client sampling and dropout for federated rounds: pure functions of (seed, round, client
// id), so every worker (and a rerun) agrees on which clients take part in a round without
// any message. Poisson sampling: each client independently with probability q.
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>

namespace psrec::train {

// SplitMix64's finaliser: a bijective mix of 64 bits.
inline uint64_t MixBits(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// A uniform draw in [0, 1) for (seed, round, client, stream): streams keep the sampling,
// dropout and shuffling draws of one client and round independent.
inline double ClientUniform(uint64_t seed, int64_t round, uint64_t client, uint64_t stream) {
  uint64_t h = MixBits(seed ^ MixBits(static_cast<uint64_t>(round) * 0x100000001b3ULL + stream));
  h = MixBits(h ^ client);
  return static_cast<double>(h >> 11) * 0x1.0p-53;
}

enum ClientStream : uint64_t {
  kSampleStream = 1,
  kDropoutStream = 2,
  kShuffleStream = 3,
  // train/client_compute.h and the buffered schedule (train/federated_buffered.cc).
  kSpeedStream = 4,
  kSpeedAngleStream = 5,
  kStragglerStream = 6,
  kPickStream = 7,
  // Implicit models (train/federated_implicit.cc): a client's negatives for its local
  // epochs, and for the refit of its user row.
  kNegativeStream = 8,
  kRefitNegativeStream = 9,
};

// Whether `client` is sampled in `round` (probability q).
inline bool ClientSampled(uint64_t seed, int64_t round, uint64_t client, double q) {
  return q >= 1 || ClientUniform(seed, round, client, kSampleStream) < q;
}

// Whether a sampled client drops out of `round` (never reports; probability `fraction`).
inline bool ClientDropsOut(uint64_t seed, int64_t round, uint64_t client, double fraction) {
  return fraction > 0 && ClientUniform(seed, round, client, kDropoutStream) < fraction;
}

}  // namespace psrec::train
