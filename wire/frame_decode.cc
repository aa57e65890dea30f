// Decoders of the bulk messages (PullRequest, PushRequest, PullReply): keys and values are
// viewed in place in the received body; every field is checked against the body bounds.
#include <cstring>
#include <limits>
#include <string>

#include "wire/frame_codec.h"
#include "wire/protobuf_reader.h"

namespace psrec::wire {

using namespace internal;  // NOLINT: the field reader and wire-type constants

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
      case 6:
        RETURN_IF_ERROR(ExpectWireType(kMsg, "with_state", wire_type, kVarint));
        RETURN_IF_ERROR(reader.ReadVarint(&v));
        view->with_state = v != 0;
        break;
      case 7:
        RETURN_IF_ERROR(ExpectWireType(kMsg, "state_floats", wire_type, kVarint));
        RETURN_IF_ERROR(reader.ReadVarint(&v));
        view->state_floats = static_cast<int32_t>(v);
        break;
      case 8:
        RETURN_IF_ERROR(ExpectWireType(kMsg, "read_only", wire_type, kVarint));
        RETURN_IF_ERROR(reader.ReadVarint(&v));
        view->read_only = v != 0;
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
  std::span<const uint8_t> values;
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
        RETURN_IF_ERROR(ExpectWireType(kMsg, "values", wire_type, kLengthDelimited));
        RETURN_IF_ERROR(reader.ReadLengthDelimited(&values));
        RETURN_IF_ERROR(FloatBytes(kMsg, "values", values));
        break;
      case 9:
        RETURN_IF_ERROR(ExpectWireType(kMsg, "state_floats", wire_type, kVarint));
        RETURN_IF_ERROR(reader.ReadVarint(&v));
        view->state_floats = static_cast<int32_t>(v);
        break;
      case 10:
        RETURN_IF_ERROR(ExpectWireType(kMsg, "kind", wire_type, kVarint));
        RETURN_IF_ERROR(reader.ReadVarint(&v));
        if (v != PushRequest::GRADIENTS && v != PushRequest::DELTAS) {
          return Status::Corruption(std::string(kMsg) + ": unknown kind " + std::to_string(v));
        }
        view->kind = static_cast<PushRequest::Kind>(v);
        break;
      case 181:
        RETURN_IF_ERROR(ExpectWireType(kMsg, "sequence", wire_type, kVarint));
        RETURN_IF_ERROR(reader.ReadVarint(&v));
        view->sequence = v;
        break;
      default:  // includes alignment_padding (4) and keys_padding (6)
        RETURN_IF_ERROR(reader.Skip(wire_type));
    }
  }
  if (view->kind == PushRequest::KIND_UNSPECIFIED) {
    return Status::Corruption(std::string(kMsg) +
                              " does not say whether it carries gradients or deltas (kind)");
  }
  view->keys = keys.keys();
  const size_t n = values.size() / sizeof(float);
  if (n == 0) {
    view->values = {};
  } else if (reinterpret_cast<uintptr_t>(values.data()) % alignof(float) == 0) {
    view->values = {reinterpret_cast<const float*>(values.data()), n};
  } else {
    scratch->floats.resize(n);
    std::memcpy(scratch->floats.data(), values.data(), values.size());
    view->values = {scratch->floats.data(), n};
  }
  return Status::OK();
}

namespace {

// The PullReply fields before its values, which both decoders below read. Sets *read when
// `field` was one of them. `missing` is read as one packed run, viewed in place (what the
// encoder writes); a second run or an unpacked position is refused.
Status ReadPullReplyScalar(uint32_t field, uint32_t wire_type, FieldReader* reader,
                           PullReplyView* view, bool* read) {
  constexpr const char* kMsg = "PullReply";
  uint64_t v = 0;
  *read = true;
  switch (field) {
    case 1:
      RETURN_IF_ERROR(ExpectWireType(kMsg, "request_id", wire_type, kVarint));
      RETURN_IF_ERROR(reader->ReadVarint(&v));
      view->request_id = v;
      return Status::OK();
    case 2:
      RETURN_IF_ERROR(ExpectWireType(kMsg, "slowest_clock", wire_type, kVarint));
      RETURN_IF_ERROR(reader->ReadVarint(&v));
      view->slowest_clock = static_cast<int32_t>(v);
      return Status::OK();
    case 3:
      RETURN_IF_ERROR(ExpectWireType(kMsg, "blocked_us", wire_type, kVarint));
      RETURN_IF_ERROR(reader->ReadVarint(&v));
      view->blocked_us = static_cast<int64_t>(v);
      return Status::OK();
    case 6:
      if (wire_type != kLengthDelimited || !view->missing.empty()) {
        return Status::Corruption("PullReply.missing is not one packed run of fixed32");
      }
      RETURN_IF_ERROR(reader->ReadLengthDelimited(&view->missing));
      if (view->missing.size() % sizeof(uint32_t) != 0) {
        return Status::Corruption("PullReply.missing has " +
                                  std::to_string(view->missing.size()) +
                                  " bytes, not a multiple of 4");
      }
      return Status::OK();
    default:
      *read = false;
      return Status::OK();
  }
}

}  // namespace

Status DecodePullReply(std::span<const uint8_t> body, PullReplyView* view) {
  constexpr const char* kMsg = "PullReply";
  *view = PullReplyView{};
  std::span<const uint8_t> values;
  FieldReader reader(body);
  while (!reader.done()) {
    uint32_t field = 0, wire_type = 0;
    RETURN_IF_ERROR(reader.ReadTag(&field, &wire_type));
    bool read = false;
    RETURN_IF_ERROR(ReadPullReplyScalar(field, wire_type, &reader, view, &read));
    if (read) continue;
    if (field == 5) {
      RETURN_IF_ERROR(ExpectWireType(kMsg, "values", wire_type, kLengthDelimited));
      RETURN_IF_ERROR(reader.ReadLengthDelimited(&values));
      RETURN_IF_ERROR(FloatBytes(kMsg, "values", values));
    } else {  // includes alignment_padding (4)
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
    RETURN_IF_ERROR(reader.ReadTag(&field, &wire_type));
    bool read = false;
    RETURN_IF_ERROR(ReadPullReplyScalar(field, wire_type, &reader, view, &read));
    if (read) continue;
    if (field == 5) {
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
    // alignment_padding (4) and unknown fields, which must fit in the head
    RETURN_IF_ERROR(reader.Skip(wire_type));
  }
  return Status::Corruption("PullReply head ends before its values");
}

}  // namespace psrec::wire
