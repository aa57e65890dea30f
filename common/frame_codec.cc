#include "common/frame_codec.h"

#include <cstring>
#include <limits>
#include <string>

namespace psrec::wire {
namespace {

// Protobuf wire types (https://protobuf.dev/programming-guides/encoding/).
constexpr uint32_t kVarint = 0;
constexpr uint32_t kFixed64 = 1;
constexpr uint32_t kLengthDelimited = 2;
constexpr uint32_t kFixed32 = 5;

constexpr uint32_t Tag(uint32_t field, uint32_t wire_type) { return (field << 3) | wire_type; }

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

Status WrongWireType(const char* message, const char* field, uint32_t wire_type) {
  return Status::Corruption(std::string(message) + "." + field + " has wire type " +
                            std::to_string(wire_type));
}

Status ExpectWireType(const char* message, const char* field, uint32_t wire_type,
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

Status FloatBytes(const char* message, const char* field, std::span<const uint8_t> bytes) {
  if (bytes.size() % sizeof(float) == 0) return Status::OK();
  return Status::Corruption(std::string(message) + "." + field + " has " +
                            std::to_string(bytes.size()) + " bytes, not a multiple of 4");
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
                       std::span<const uint64_t> keys, ByteBuffer* out) {
  const size_t header_at = StartFrame(MessageType::kPull, out);
  const size_t body_at = header_at + kFrameHeaderBytes;
  const size_t key_bytes = keys.size() * sizeof(uint64_t);
  PutVarintField(1, request_id, out);
  PutVarintField(2, table, out);
  PutVarintField(3, Int32AsVarint(clock), out);
  PutPadding(4, body_at, LengthPrefixSize(5, key_bytes), 8, out);
  PutVarint(Tag(5, kLengthDelimited), out);
  PutVarint(key_bytes, out);
  out->Append(keys.data(), key_bytes);
  FinishFrame(header_at, out);
}

uint8_t* AppendPushRequest(uint64_t request_id, TableId table, float learning_rate,
                           std::span<const uint64_t> keys, size_t num_grad_floats,
                           ByteBuffer* out) {
  const size_t header_at = StartFrame(MessageType::kPush, out);
  const size_t body_at = header_at + kFrameHeaderBytes;
  const size_t key_bytes = keys.size() * sizeof(uint64_t);
  const size_t grad_bytes = num_grad_floats * sizeof(float);
  PutVarintField(1, request_id, out);
  PutVarintField(2, table, out);
  PutVarint(Tag(3, kFixed32), out);
  out->Append(&learning_rate, sizeof(float));
  PutPadding(4, body_at, LengthPrefixSize(5, key_bytes), 8, out);
  PutVarint(Tag(5, kLengthDelimited), out);
  PutVarint(key_bytes, out);
  out->Append(keys.data(), key_bytes);
  PutPadding(6, body_at, LengthPrefixSize(7, grad_bytes), 8, out);
  PutVarint(Tag(7, kLengthDelimited), out);
  PutVarint(grad_bytes, out);
  const size_t grads_at = out->size();
  out->Grow(grad_bytes);
  FinishFrame(header_at, out);
  return out->data() + grads_at;
}

float* AppendPullReply(uint64_t request_id, int32_t slowest_clock, int64_t blocked_us,
                       size_t num_floats, ByteBuffer* out) {
  const size_t header_at = StartFrame(MessageType::kPullReply, out);
  const size_t value_bytes = num_floats * sizeof(float);
  PutVarintField(1, request_id, out);
  PutVarintField(2, Int32AsVarint(slowest_clock), out);
  PutVarintField(3, static_cast<uint64_t>(blocked_us), out);
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

Status DecodePullRequest(std::span<const uint8_t> body, DecodeScratch* scratch,
                         PullRequestView* view) {
  constexpr const char* kMsg = "PullRequest";
  *view = PullRequestView{};
  scratch->keys.clear();
  KeysCollector keys(&scratch->keys);
  FieldReader reader(body);
  while (!reader.done()) {
    uint32_t field = 0, wire_type = 0;
    uint64_t v = 0;
    RETURN_IF_ERROR(reader.ReadTag(&field, &wire_type));
    switch (field) {
      case 1:
        RETURN_IF_ERROR(ExpectWireType(kMsg, "request_id", wire_type, kVarint));
        RETURN_IF_ERROR(reader.ReadVarint(&v));
        view->request_id = v;
        break;
      case 2:
        RETURN_IF_ERROR(ExpectWireType(kMsg, "table", wire_type, kVarint));
        RETURN_IF_ERROR(reader.ReadVarint(&v));
        view->table = static_cast<TableId>(v);
        break;
      case 3:
        RETURN_IF_ERROR(ExpectWireType(kMsg, "clock", wire_type, kVarint));
        RETURN_IF_ERROR(reader.ReadVarint(&v));
        view->clock = static_cast<int32_t>(v);
        break;
      case 5:
        RETURN_IF_ERROR(keys.Add(kMsg, wire_type, &reader));
        break;
      default:  // includes alignment_padding (4)
        RETURN_IF_ERROR(reader.Skip(wire_type));
    }
  }
  view->keys = keys.keys();
  return Status::OK();
}

Status DecodePushRequest(std::span<const uint8_t> body, DecodeScratch* scratch,
                         PushRequestView* view) {
  constexpr const char* kMsg = "PushRequest";
  *view = PushRequestView{};
  scratch->keys.clear();
  scratch->floats.clear();
  KeysCollector keys(&scratch->keys);
  std::span<const uint8_t> grads;
  FieldReader reader(body);
  while (!reader.done()) {
    uint32_t field = 0, wire_type = 0;
    uint64_t v = 0;
    const uint8_t* at = nullptr;
    RETURN_IF_ERROR(reader.ReadTag(&field, &wire_type));
    switch (field) {
      case 1:
        RETURN_IF_ERROR(ExpectWireType(kMsg, "request_id", wire_type, kVarint));
        RETURN_IF_ERROR(reader.ReadVarint(&v));
        view->request_id = v;
        break;
      case 2:
        RETURN_IF_ERROR(ExpectWireType(kMsg, "table", wire_type, kVarint));
        RETURN_IF_ERROR(reader.ReadVarint(&v));
        view->table = static_cast<TableId>(v);
        break;
      case 3:
        RETURN_IF_ERROR(ExpectWireType(kMsg, "learning_rate", wire_type, kFixed32));
        RETURN_IF_ERROR(reader.ReadFixed(4, &at));
        std::memcpy(&view->learning_rate, at, 4);
        break;
      case 5:
        RETURN_IF_ERROR(keys.Add(kMsg, wire_type, &reader));
        break;
      case 7:
        RETURN_IF_ERROR(ExpectWireType(kMsg, "grads", wire_type, kLengthDelimited));
        RETURN_IF_ERROR(reader.ReadLengthDelimited(&grads));
        RETURN_IF_ERROR(FloatBytes(kMsg, "grads", grads));
        break;
      default:  // includes alignment_padding (4) and keys_padding (6)
        RETURN_IF_ERROR(reader.Skip(wire_type));
    }
  }
  view->keys = keys.keys();
  const size_t n = grads.size() / sizeof(float);
  if (n == 0) {
    view->grads = {};
  } else if (reinterpret_cast<uintptr_t>(grads.data()) % alignof(float) == 0) {
    view->grads = {reinterpret_cast<const float*>(grads.data()), n};
  } else {
    scratch->floats.resize(n);
    std::memcpy(scratch->floats.data(), grads.data(), grads.size());
    view->grads = {scratch->floats.data(), n};
  }
  return Status::OK();
}

Status DecodePullReply(std::span<const uint8_t> body, PullReplyView* view) {
  constexpr const char* kMsg = "PullReply";
  *view = PullReplyView{};
  std::span<const uint8_t> values;
  FieldReader reader(body);
  while (!reader.done()) {
    uint32_t field = 0, wire_type = 0;
    uint64_t v = 0;
    RETURN_IF_ERROR(reader.ReadTag(&field, &wire_type));
    switch (field) {
      case 1:
        RETURN_IF_ERROR(ExpectWireType(kMsg, "request_id", wire_type, kVarint));
        RETURN_IF_ERROR(reader.ReadVarint(&v));
        view->request_id = v;
        break;
      case 2:
        RETURN_IF_ERROR(ExpectWireType(kMsg, "slowest_clock", wire_type, kVarint));
        RETURN_IF_ERROR(reader.ReadVarint(&v));
        view->slowest_clock = static_cast<int32_t>(v);
        break;
      case 3:
        RETURN_IF_ERROR(ExpectWireType(kMsg, "blocked_us", wire_type, kVarint));
        RETURN_IF_ERROR(reader.ReadVarint(&v));
        view->blocked_us = static_cast<int64_t>(v);
        break;
      case 5:
        RETURN_IF_ERROR(ExpectWireType(kMsg, "values", wire_type, kLengthDelimited));
        RETURN_IF_ERROR(reader.ReadLengthDelimited(&values));
        RETURN_IF_ERROR(FloatBytes(kMsg, "values", values));
        break;
      default:  // includes alignment_padding (4)
        RETURN_IF_ERROR(reader.Skip(wire_type));
    }
  }
  view->values = values.data();
  view->num_floats = values.size() / sizeof(float);
  return Status::OK();
}

Status DecodePullReplyHead(std::span<const uint8_t> head, size_t body_bytes,
                           PullReplyView* view, size_t* values_at) {
  constexpr const char* kMsg = "PullReply";
  *view = PullReplyView{};
  FieldReader reader(head);
  while (!reader.done()) {
    uint32_t field = 0, wire_type = 0;
    uint64_t v = 0;
    RETURN_IF_ERROR(reader.ReadTag(&field, &wire_type));
    switch (field) {
      case 1:
        RETURN_IF_ERROR(ExpectWireType(kMsg, "request_id", wire_type, kVarint));
        RETURN_IF_ERROR(reader.ReadVarint(&v));
        view->request_id = v;
        break;
      case 2:
        RETURN_IF_ERROR(ExpectWireType(kMsg, "slowest_clock", wire_type, kVarint));
        RETURN_IF_ERROR(reader.ReadVarint(&v));
        view->slowest_clock = static_cast<int32_t>(v);
        break;
      case 3:
        RETURN_IF_ERROR(ExpectWireType(kMsg, "blocked_us", wire_type, kVarint));
        RETURN_IF_ERROR(reader.ReadVarint(&v));
        view->blocked_us = static_cast<int64_t>(v);
        break;
      case 5: {
        RETURN_IF_ERROR(ExpectWireType(kMsg, "values", wire_type, kLengthDelimited));
        uint64_t len = 0;
        RETURN_IF_ERROR(reader.ReadVarint(&len));
        const size_t at = head.size() - reader.remaining();
        if (len % sizeof(float) != 0 || at > body_bytes || len != body_bytes - at) {
          return Status::Corruption("PullReply.values is not the body's last field");
        }
        view->num_floats = static_cast<size_t>(len) / sizeof(float);
        *values_at = at;
        return Status::OK();
      }
      default:  // alignment_padding (4) and unknown fields, which must fit in the head
        RETURN_IF_ERROR(reader.Skip(wire_type));
    }
  }
  return Status::Corruption("PullReply head ends before its values");
}

}  // namespace psrec::wire
