// Frame encoders (every message) and control-message decoding; the bulk decoders are in
// wire/frame_decode.cc.
#include "wire/frame_codec.h"

#include <cstring>
#include <limits>
#include <string>

#include "wire/protobuf_reader.h"

namespace psrec::wire {
namespace {

using namespace internal;  // NOLINT: the wire-type constants and Tag

size_t VarintSize(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

void PutVarint(uint64_t v, ByteBuffer* out) {
  uint8_t tmp[10];
  size_t n = 0;
  while (v >= 0x80) {
    tmp[n++] = static_cast<uint8_t>(v | 0x80);
    v >>= 7;
  }
  tmp[n++] = static_cast<uint8_t>(v);
  out->Append(tmp, n);
}

void PutVarintField(uint32_t field, uint64_t v, ByteBuffer* out) {
  PutVarint(Tag(field, kVarint), out);
  PutVarint(v, out);
}

// Protobuf encodes a negative int32 as its 64-bit sign extension.
uint64_t Int32AsVarint(int32_t v) { return static_cast<uint64_t>(static_cast<int64_t>(v)); }

// Writes field `field` (bytes) with just enough zero bytes that the field that follows it,
// whose tag and length prefix take `next_prefix` bytes, starts its payload at an offset
// that is a multiple of `align` from `origin` (an offset into `out`). The padding stays
// under 128 bytes, so its own length prefix is one byte.
void PutPadding(uint32_t field, size_t origin, size_t next_prefix, size_t align,
                ByteBuffer* out) {
  const size_t fixed = 2;  // tag byte + one-byte length
  const size_t payload_at = out->size() - origin + fixed + next_prefix;
  const size_t pad = (align - payload_at % align) % align;
  PutVarint(Tag(field, kLengthDelimited), out);
  PutVarint(pad, out);
  if (pad > 0) std::memset(out->Grow(pad), 0, pad);
}

size_t LengthPrefixSize(uint32_t field, size_t length) {
  return VarintSize(Tag(field, kLengthDelimited)) + VarintSize(length);
}

// Starts a frame whose body length is patched by FinishFrame; returns the header's offset.
size_t StartFrame(MessageType type, ByteBuffer* out) {
  const size_t at = out->size();
  AppendFrameHeader(type, 0, out);
  return at;
}

void FinishFrame(size_t header_at, ByteBuffer* out) {
  const size_t body = out->size() - header_at - kFrameHeaderBytes;
  // Callers keep messages under max_frame_bytes (a u32); a larger one is a bug in them.
  CHECK_LE(body, std::numeric_limits<uint32_t>::max()) << "frame body too large";
  const auto body32 = static_cast<uint32_t>(body);
  std::memcpy(out->data() + header_at, &body32, 4);
}

void AppendMessage(MessageType type, const google::protobuf::MessageLite& msg,
                   ByteBuffer* out) {
  const size_t size = msg.ByteSizeLong();
  CHECK_LE(size, std::numeric_limits<uint32_t>::max()) << "control message too large";
  AppendFrameHeader(type, static_cast<uint32_t>(size), out);
  msg.SerializeWithCachedSizesToArray(out->Grow(size));
}

}  // namespace

// ---- Control messages -------------------------------------------------------------------

void AppendHandshake(const Handshake& msg, ByteBuffer* out) {
  AppendMessage(MessageType::kHandshake, msg, out);
}

void AppendHandshakeReply(const HandshakeReply& msg, ByteBuffer* out) {
  AppendMessage(MessageType::kHandshakeReply, msg, out);
}

void AppendClock(uint64_t request_id, int32_t worker_id, int32_t clock, ByteBuffer* out) {
  ClockRequest msg;
  msg.set_request_id(request_id);
  msg.set_worker_id(worker_id);
  msg.set_clock(clock);
  AppendMessage(MessageType::kClock, msg, out);
}

void AppendFinish(uint64_t request_id, int32_t worker_id, ByteBuffer* out) {
  FinishRequest msg;
  msg.set_request_id(request_id);
  msg.set_worker_id(worker_id);
  AppendMessage(MessageType::kFinish, msg, out);
}

void AppendAck(uint64_t request_id, ByteBuffer* out) {
  Ack msg;
  msg.set_request_id(request_id);
  AppendMessage(MessageType::kAck, msg, out);
}

void AppendError(uint64_t request_id, const Status& status, ByteBuffer* out) {
  Error msg;
  msg.set_request_id(request_id);
  msg.set_code(static_cast<int32_t>(status.code()));
  msg.set_message(status.message());
  AppendMessage(MessageType::kError, msg, out);
}

void AppendControl(MessageType type, const google::protobuf::MessageLite& msg, ByteBuffer* out) {
  AppendMessage(type, msg, out);
}

Status DecodeControl(std::span<const uint8_t> body, google::protobuf::MessageLite* msg) {
  if (body.size() > static_cast<size_t>(std::numeric_limits<int>::max()) ||
      !msg->ParseFromArray(body.data(), static_cast<int>(body.size()))) {
    return Status::Corruption("undecodable " + msg->GetTypeName() + " body of " +
                              std::to_string(body.size()) + " bytes");
  }
  return Status::OK();
}

Status StatusFromError(const Error& error) {
  std::string msg = error.message();
  switch (static_cast<Status::Code>(error.code())) {
    case Status::Code::kInvalidArgument: return Status::InvalidArgument(std::move(msg));
    case Status::Code::kNotFound: return Status::NotFound(std::move(msg));
    case Status::Code::kIoError: return Status::IoError(std::move(msg));
    case Status::Code::kCorruption: return Status::Corruption(std::move(msg));
    case Status::Code::kUnavailable: return Status::Unavailable(std::move(msg));
    case Status::Code::kDeadlineExceeded: return Status::DeadlineExceeded(std::move(msg));
    case Status::Code::kAborted: return Status::Aborted(std::move(msg));
    case Status::Code::kInternal: return Status::Internal(std::move(msg));
    // An Error never means success: a peer sending code 0 (or an unknown code) is broken.
    case Status::Code::kOk: break;
  }
  return Status::Internal("error code " + std::to_string(error.code()) + ": " + msg);
}

// ---- Bulk messages ----------------------------------------------------------------------

void AppendPullRequest(uint64_t request_id, TableId table, int32_t clock,
                       std::span<const uint64_t> keys, ByteBuffer* out, int32_t state_floats,
                       bool read_only) {
  const size_t header_at = StartFrame(MessageType::kPull, out);
  const size_t body_at = header_at + kFrameHeaderBytes;
  const size_t key_bytes = keys.size() * sizeof(uint64_t);
  PutVarintField(1, request_id, out);
  PutVarintField(2, table, out);
  PutVarintField(3, Int32AsVarint(clock), out);
  // Fields 6 and 7 go before the keys (field order is free in Protobuf), so the keys stay
  // the body's last field; a plain pull omits them (proto3 defaults).
  if (state_floats != kPlainPull) {
    PutVarintField(6, 1, out);
    PutVarintField(7, Int32AsVarint(state_floats), out);
  }
  if (read_only) PutVarintField(8, 1, out);
  PutPadding(4, body_at, LengthPrefixSize(5, key_bytes), 8, out);
  PutVarint(Tag(5, kLengthDelimited), out);
  PutVarint(key_bytes, out);
  out->Append(keys.data(), key_bytes);
  FinishFrame(header_at, out);
}

uint8_t* AppendPushRequest(const PushHeader& header, std::span<const uint64_t> keys,
                           size_t num_values, ByteBuffer* out) {
  CHECK(header.kind == PushRequest::GRADIENTS || header.kind == PushRequest::DELTAS)
      << "a push needs a kind, not " << header.kind;
  const size_t header_at = StartFrame(MessageType::kPush, out);
  const size_t body_at = header_at + kFrameHeaderBytes;
  const size_t key_bytes = keys.size() * sizeof(uint64_t);
  const size_t value_bytes = num_values * sizeof(float);
  PutVarintField(1, header.request_id, out);
  PutVarintField(2, header.table, out);
  PutVarintField(10, static_cast<uint64_t>(header.kind), out);
  if (header.sequence != 0) PutVarintField(181, header.sequence, out);
  if (header.kind == PushRequest::DELTAS) {
    CHECK_GE(header.state_floats, 0) << "a push of deltas needs state_floats >= 0";
    PutVarintField(9, static_cast<uint64_t>(header.state_floats), out);
  } else {
    PutVarint(Tag(3, kFixed32), out);
    out->Append(&header.learning_rate, sizeof(float));
  }
  PutPadding(4, body_at, LengthPrefixSize(5, key_bytes), 8, out);
  PutVarint(Tag(5, kLengthDelimited), out);
  PutVarint(key_bytes, out);
  out->Append(keys.data(), key_bytes);
  PutPadding(6, body_at, LengthPrefixSize(7, value_bytes), 8, out);
  PutVarint(Tag(7, kLengthDelimited), out);
  PutVarint(value_bytes, out);
  const size_t values_at = out->size();
  out->Grow(value_bytes);
  FinishFrame(header_at, out);
  return out->data() + values_at;
}

float* AppendPullReply(uint64_t request_id, int32_t slowest_clock, int64_t blocked_us,
                       size_t num_floats, ByteBuffer* out, std::span<const uint32_t> missing) {
  const size_t header_at = StartFrame(MessageType::kPullReply, out);
  const size_t value_bytes = num_floats * sizeof(float);
  PutVarintField(1, request_id, out);
  PutVarintField(2, Int32AsVarint(slowest_clock), out);
  PutVarintField(3, static_cast<uint64_t>(blocked_us), out);
  // Before the values, which stay the body's last field (DecodePullReplyHead).
  if (!missing.empty()) {
    const size_t missing_bytes = missing.size() * sizeof(uint32_t);
    PutVarint(Tag(6, kLengthDelimited), out);
    PutVarint(missing_bytes, out);
    out->Append(missing.data(), missing_bytes);
  }
  // Aligned to the buffer's storage (64-byte aligned), not the body: the server writes
  // rows straight into the send buffer.
  PutPadding(4, 0, LengthPrefixSize(5, value_bytes), 8, out);
  PutVarint(Tag(5, kLengthDelimited), out);
  PutVarint(value_bytes, out);
  const size_t values_at = out->size();
  out->Grow(value_bytes);
  FinishFrame(header_at, out);
  return reinterpret_cast<float*>(out->data() + values_at);
}

}  // namespace psrec::wire
