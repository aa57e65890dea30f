// A seeded pseudorandom stream for everything random in privacy: DP noise, simulated client
// keys, Shamir coefficients. ChaCha20 (IETF variant, libsodium) under a 256-bit key that
// BLAKE2b derives from a secret (a job seed, a pair seed) and a labelled context, so streams
// for different purposes or rounds never share bits, and a stream is addressable by word:
// word p of a stream is the same whichever chunk of it is generated first (servers can
// produce the noise or masks of their own shard of coordinates only).
//
// ChaCha20 makes the stream cryptographically strong: a pairwise mask is as unpredictable as
// its key. For a real deployment the seed must be secret and fresh (RandomStreamKey); a
// seeded key is for simulation, where a run must repeat bit for bit.
//
// Thread safety: a KeyedStream is a value; one instance must not be drawn from by two
// threads at once. The free functions are thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string_view>

namespace psrec::train::privacy {

using StreamKey = std::array<uint8_t, 32>;

// BLAKE2b-256 of (label, secret, context words): a key for one purpose.
StreamKey DeriveStreamKey(std::string_view label, std::span<const uint8_t> secret,
                          std::initializer_list<uint64_t> context);
// The same for a 64-bit job seed as the secret.
StreamKey DeriveStreamKey(std::string_view label, uint64_t seed,
                          std::initializer_list<uint64_t> context);
// A key from the operating system's CSPRNG (libsodium randombytes).
StreamKey RandomStreamKey();

class KeyedStream {
 public:
  // `nonce` selects one of 2^64 independent streams under the key.
  explicit KeyedStream(const StreamKey& key, uint64_t nonce = 0);

  // Words [first_word, first_word + out.size()) of the stream (random access; does not move
  // the sequential position). The stream holds 2^35 words per nonce.
  void WordsAt(uint64_t first_word, std::span<uint64_t> out) const;

  // Sequential draws.
  uint64_t NextWord();
  void NextBytes(std::span<uint8_t> out);
  double NextUniform();   // in (0, 1), 53 random bits
  double NextGaussian();  // N(0, 1) by Box-Muller

 private:
  void Refill();
  StreamKey key_;
  std::array<uint8_t, 12> nonce_{};
  std::array<uint64_t, 8> block_{};  // one ChaCha20 block
  uint64_t next_block_ = 0;
  int used_ = 8;  // words of block_ already drawn
  bool has_spare_gaussian_ = false;
  double spare_gaussian_ = 0;
};

}  // namespace psrec::train::privacy
