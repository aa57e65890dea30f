#include "train/privacy/keyed_stream.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include <glog/logging.h>
#include <sodium.h>

#include "train/privacy/sodium_init.h"

namespace psrec::train::privacy {

namespace {
constexpr uint64_t kWordsPerBlock = 8;  // 64-byte ChaCha20 blocks
constexpr uint64_t kMaxBlocks = uint64_t{1} << 32;  // the IETF block counter is 32 bits
}  // namespace

StreamKey DeriveStreamKey(std::string_view label, std::span<const uint8_t> secret,
                          std::initializer_list<uint64_t> context) {
  EnsureSodium();
  crypto_generichash_state state;
  crypto_generichash_init(&state, nullptr, 0, crypto_generichash_BYTES);
  uint64_t label_size = label.size();  // length-prefixed: no two (label, secret) pairs collide
  crypto_generichash_update(&state, reinterpret_cast<const uint8_t*>(&label_size), 8);
  crypto_generichash_update(&state, reinterpret_cast<const uint8_t*>(label.data()), label.size());
  uint64_t secret_size = secret.size();
  crypto_generichash_update(&state, reinterpret_cast<const uint8_t*>(&secret_size), 8);
  crypto_generichash_update(&state, secret.data(), secret.size());
  for (uint64_t word : context) {
    crypto_generichash_update(&state, reinterpret_cast<const uint8_t*>(&word), 8);
  }
  StreamKey key;
  crypto_generichash_final(&state, key.data(), key.size());
  return key;
}

StreamKey DeriveStreamKey(std::string_view label, uint64_t seed,
                          std::initializer_list<uint64_t> context) {
  uint8_t bytes[8];
  std::memcpy(bytes, &seed, 8);
  return DeriveStreamKey(label, std::span<const uint8_t>(bytes, 8), context);
}

StreamKey RandomStreamKey() {
  EnsureSodium();
  StreamKey key;
  randombytes_buf(key.data(), key.size());
  return key;
}

KeyedStream::KeyedStream(const StreamKey& key, uint64_t nonce) : key_(key) {
  EnsureSodium();
  std::memcpy(nonce_.data(), &nonce, 8);
}

void KeyedStream::WordsAt(uint64_t first_word, std::span<uint64_t> out) const {
  if (out.empty()) return;
  uint64_t first_block = first_word / kWordsPerBlock;
  uint64_t skip = first_word % kWordsPerBlock;
  uint64_t blocks = (skip + out.size() + kWordsPerBlock - 1) / kWordsPerBlock;
  CHECK_LE(first_block + blocks, kMaxBlocks) << "KeyedStream: past the end of the stream";
  std::vector<uint64_t> buffer(blocks * kWordsPerBlock);
  crypto_stream_chacha20_ietf_xor_ic(reinterpret_cast<uint8_t*>(buffer.data()),
                                     reinterpret_cast<const uint8_t*>(buffer.data()),
                                     buffer.size() * 8, nonce_.data(),
                                     static_cast<uint32_t>(first_block), key_.data());
  std::memcpy(out.data(), buffer.data() + skip, out.size() * 8);
}

void KeyedStream::Refill() {
  CHECK_LT(next_block_, kMaxBlocks) << "KeyedStream: past the end of the stream";
  block_.fill(0);
  crypto_stream_chacha20_ietf_xor_ic(reinterpret_cast<uint8_t*>(block_.data()),
                                     reinterpret_cast<const uint8_t*>(block_.data()), 64,
                                     nonce_.data(), static_cast<uint32_t>(next_block_),
                                     key_.data());
  ++next_block_;
  used_ = 0;
}

uint64_t KeyedStream::NextWord() {
  if (used_ == static_cast<int>(kWordsPerBlock)) Refill();
  return block_[used_++];
}

void KeyedStream::NextBytes(std::span<uint8_t> out) {
  for (size_t k = 0; k < out.size(); k += 8) {
    uint64_t word = NextWord();
    std::memcpy(out.data() + k, &word, std::min<size_t>(8, out.size() - k));
  }
}

double KeyedStream::NextUniform() {
  // 53 bits, offset by half a step: never 0 (log in Box-Muller), never 1.
  return (static_cast<double>(NextWord() >> 11) + 0.5) * 0x1.0p-53;
}

double KeyedStream::NextGaussian() {
  if (has_spare_gaussian_) {
    has_spare_gaussian_ = false;
    return spare_gaussian_;
  }
  double radius = std::sqrt(-2.0 * std::log(NextUniform()));
  double angle = 2.0 * M_PI * NextUniform();
  spare_gaussian_ = radius * std::sin(angle);
  has_spare_gaussian_ = true;
  return radius * std::cos(angle);
}

}  // namespace psrec::train::privacy
