// Frames of the psrec wire protocol (wire/proto/wire.proto):
//
//   u32 length (little-endian) | u8 type | body (`length` bytes, a Protobuf message)
//
// `length` counts the body only. A frame whose length exceeds the connection's
// max_frame_bytes or whose type is not a MessageType is malformed: the connection that sent
// it is closed. This file knows the header; wire/frame_codec.h knows the bodies.
//
// Thread safety: pure functions.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "common/byte_buffer.h"
#include "common/status.h"

namespace psrec::wire {

static_assert(std::endian::native == std::endian::little,
              "the wire format copies integers and floats in host order (little-endian)");

inline constexpr size_t kFrameHeaderBytes = 5;
// 2: PushRequest.kind (GRADIENTS | DELTAS) replaced `bool deltas`.
// 3: challenge-response handshake (HandshakeChallenge, proofs) replaced the clear-text token.
inline constexpr uint32_t kProtocolVersion = 3;

enum class MessageType : uint8_t {
  kHandshake = 1,
  kHandshakeReply = 2,
  kPull = 3,
  kPullReply = 4,
  kPush = 5,
  kClock = 6,
  kFinish = 7,
  kAck = 8,
  kError = 9,
  kCheckpoint = 10,
  kCheckpointReply = 11,
  kCheckpointFile = 12,
  kCheckpointStatus = 13,
  kCheckpointStatusReply = 14,
  kHandshakeChallenge = 15,
};

const char* MessageTypeName(MessageType type);

struct FrameHeader {
  uint32_t body_bytes = 0;
  MessageType type = MessageType::kError;
};

// Parses the kFrameHeaderBytes at `p`. Fails with Corruption when the type is unknown or
// the body is larger than max_frame_bytes.
Result<FrameHeader> ParseFrameHeader(const uint8_t* p, size_t max_frame_bytes);

// Appends a header for a body of body_bytes. Used by the codec, which knows the body size
// before it writes the body.
inline void AppendFrameHeader(MessageType type, uint32_t body_bytes, ByteBuffer* out) {
  uint8_t* p = out->Grow(kFrameHeaderBytes);
  std::memcpy(p, &body_bytes, 4);
  p[4] = static_cast<uint8_t>(type);
}

}  // namespace psrec::wire
