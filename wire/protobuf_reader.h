// Reading untrusted Protobuf bodies field by field (the bulk messages of the wire
// protocol, whose keys and values are decoded in place): wire-type constants, a bounds-
// checked cursor and a collector for repeated fixed64 fields. Shared by the frame encoder
// (wire/frame_codec.cc) and the bulk decoders (wire/frame_decode.cc).
//
// Thread safety: values; a FieldReader is used by one thread.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include "common/status.h"

namespace psrec::wire::internal {

// Protobuf wire types (https://protobuf.dev/programming-guides/encoding/).
constexpr uint32_t kVarint = 0;
constexpr uint32_t kFixed64 = 1;
constexpr uint32_t kLengthDelimited = 2;
constexpr uint32_t kFixed32 = 5;

constexpr uint32_t Tag(uint32_t field, uint32_t wire_type) { return (field << 3) | wire_type; }

// A cursor over an untrusted Protobuf body. Every read checks bounds.
class FieldReader {
 public:
  explicit FieldReader(std::span<const uint8_t> body)
      : p_(body.data()), end_(body.data() + body.size()) {}

  bool done() const { return p_ == end_; }
  size_t remaining() const { return static_cast<size_t>(end_ - p_); }

  Status ReadVarint(uint64_t* v) {
    uint64_t result = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (p_ == end_) return Status::Corruption("truncated varint");
      const uint8_t byte = *p_++;
      // The tenth byte may carry only the top bit of a 64-bit value.
      if (shift == 63 && byte > 1) return Status::Corruption("varint overflows 64 bits");
      result |= static_cast<uint64_t>(byte & 0x7f) << shift;
      if ((byte & 0x80) == 0) {
        *v = result;
        return Status::OK();
      }
    }
    return Status::Corruption("varint longer than 10 bytes");
  }

  Status ReadTag(uint32_t* field, uint32_t* wire_type) {
    uint64_t tag = 0;
    RETURN_IF_ERROR(ReadVarint(&tag));
    if (tag > std::numeric_limits<uint32_t>::max() || (tag >> 3) == 0) {
      return Status::Corruption("invalid field tag " + std::to_string(tag));
    }
    *field = static_cast<uint32_t>(tag >> 3);
    *wire_type = static_cast<uint32_t>(tag & 7);
    return Status::OK();
  }

  Status ReadLengthDelimited(std::span<const uint8_t>* bytes) {
    uint64_t len = 0;
    RETURN_IF_ERROR(ReadVarint(&len));
    if (len > static_cast<uint64_t>(end_ - p_)) {
      return Status::Corruption("length-delimited field of " + std::to_string(len) +
                                " bytes overruns the body");
    }
    *bytes = {p_, static_cast<size_t>(len)};
    p_ += len;
    return Status::OK();
  }

  Status ReadFixed(size_t n, const uint8_t** at) {
    if (static_cast<size_t>(end_ - p_) < n) return Status::Corruption("truncated fixed field");
    *at = p_;
    p_ += n;
    return Status::OK();
  }

  // Skips a field this decoder does not know (forward compatibility, as Protobuf does).
  Status Skip(uint32_t wire_type) {
    uint64_t ignored = 0;
    std::span<const uint8_t> bytes;
    const uint8_t* at = nullptr;
    switch (wire_type) {
      case kVarint: return ReadVarint(&ignored);
      case kFixed64: return ReadFixed(8, &at);
      case kLengthDelimited: return ReadLengthDelimited(&bytes);
      case kFixed32: return ReadFixed(4, &at);
      default: return Status::Corruption("unsupported wire type " + std::to_string(wire_type));
    }
  }

 private:
  const uint8_t* p_;
  const uint8_t* end_;
};

inline Status WrongWireType(const char* message, const char* field, uint32_t wire_type) {
  return Status::Corruption(std::string(message) + "." + field + " has wire type " +
                            std::to_string(wire_type));
}

inline Status ExpectWireType(const char* message, const char* field, uint32_t wire_type,
                      uint32_t expected) {
  return wire_type == expected ? Status::OK() : WrongWireType(message, field, wire_type);
}

// Collects a `repeated fixed64` field, which an encoder may write packed (once or in
// several runs) or unpacked. One packed run is kept in place; anything else is gathered in
// `scratch`.
class KeysCollector {
 public:
  explicit KeysCollector(std::vector<uint64_t>* scratch) : scratch_(scratch) {}

  Status Add(const char* message, uint32_t wire_type, FieldReader* reader) {
    if (wire_type == kFixed64) {
      const uint8_t* at = nullptr;
      RETURN_IF_ERROR(reader->ReadFixed(8, &at));
      MoveToScratch();
      scratch_->resize(scratch_->size() + 1);
      std::memcpy(&scratch_->back(), at, 8);
      return Status::OK();
    }
    if (wire_type != kLengthDelimited) return WrongWireType(message, "keys", wire_type);
    std::span<const uint8_t> bytes;
    RETURN_IF_ERROR(reader->ReadLengthDelimited(&bytes));
    if (bytes.size() % 8 != 0) {
      return Status::Corruption(std::string(message) + ".keys has " +
                                std::to_string(bytes.size()) + " bytes, not a multiple of 8");
    }
    if (!in_scratch_ && !has_run_) {
      has_run_ = true;
      run_ = bytes;
      return Status::OK();
    }
    MoveToScratch();
    const size_t old = scratch_->size();
    scratch_->resize(old + bytes.size() / 8);
    if (!bytes.empty()) std::memcpy(scratch_->data() + old, bytes.data(), bytes.size());
    return Status::OK();
  }

  std::span<const uint64_t> keys() {
    if (in_scratch_) return {scratch_->data(), scratch_->size()};
    if (!has_run_ || run_.empty()) return {};
    if (reinterpret_cast<uintptr_t>(run_.data()) % alignof(uint64_t) == 0) {
      return {reinterpret_cast<const uint64_t*>(run_.data()), run_.size() / 8};
    }
    MoveToScratch();
    return {scratch_->data(), scratch_->size()};
  }

 private:
  void MoveToScratch() {
    if (in_scratch_) return;
    in_scratch_ = true;
    scratch_->resize(run_.size() / 8);
    if (!run_.empty()) std::memcpy(scratch_->data(), run_.data(), run_.size());
  }

  std::vector<uint64_t>* scratch_;
  std::span<const uint8_t> run_;
  bool has_run_ = false;
  bool in_scratch_ = false;
};

inline Status FloatBytes(const char* message, const char* field, std::span<const uint8_t> bytes) {
  if (bytes.size() % sizeof(float) == 0) return Status::OK();
  return Status::Corruption(std::string(message) + "." + field + " has " +
                            std::to_string(bytes.size()) + " bytes, not a multiple of 4");
}

}  // namespace psrec::wire::internal
