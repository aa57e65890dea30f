// The one encoder and the one decoder of psrec wire messages (wire/proto/wire.proto).
//
// Append* writes a complete frame (header and body) at the end of a ByteBuffer, usually a
// connection's send buffer, so encoding allocates nothing once the buffer has grown. Decode*
// parses a frame body and never trusts it: every failure is a Corruption status naming what
// is wrong, never a crash.
//
// Control messages (handshake, clock, finish, ack, error) use the generated Protobuf classes.
// Pull, PullReply and Push carry the bulk data and are written field by field: keys and
// floats are memcpy'd, and an alignment_padding field puts the packed keys at a multiple of
// 8 and the float payload at a multiple of 8 of the body (Pull, Push), or of the send
// buffer's storage (PullReply, so the server can write rows in place). The Views returned
// by the decoders point into the body when it is suitably aligned (zero copy) and into the
// caller's DecodeScratch otherwise (for instance bodies written by another encoder).
//
// Thread safety: pure functions; a DecodeScratch belongs to one caller at a time.
// Lifetimes: a View is valid while the body and the DecodeScratch it was decoded with are.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "common/byte_buffer.h"
#include "wire/frame.h"
#include "common/keys.h"
#include "wire/proto/wire.pb.h"
#include "common/status.h"

namespace psrec::wire {

// ---- Control messages -------------------------------------------------------------------

void AppendHandshake(const Handshake& msg, ByteBuffer* out);
void AppendHandshakeReply(const HandshakeReply& msg, ByteBuffer* out);
void AppendClock(uint64_t request_id, int32_t worker_id, int32_t clock, ByteBuffer* out);
void AppendFinish(uint64_t request_id, int32_t worker_id, ByteBuffer* out);
void AppendAck(uint64_t request_id, ByteBuffer* out);
void AppendError(uint64_t request_id, const Status& status, ByteBuffer* out);
// Checkpoint messages (wire.proto): any control message framed with its type.
void AppendControl(MessageType type, const google::protobuf::MessageLite& msg, ByteBuffer* out);

// Parses the body of a control message into `msg` (one of Handshake, HandshakeReply,
// ClockRequest, FinishRequest, Ack, Error, or a checkpoint message).
Status DecodeControl(std::span<const uint8_t> body, google::protobuf::MessageLite* msg);

// The Status an Error message carries (codes outside Status::Code read as kInternal).
Status StatusFromError(const Error& error);

// ---- Bulk messages ----------------------------------------------------------------------

struct DecodeScratch {
  std::vector<uint64_t> keys;
  std::vector<float> floats;
};

struct PullRequestView {
  uint64_t request_id = 0;
  TableId table = 0;
  int32_t clock = 0;
  std::span<const uint64_t> keys;
  bool with_state = false;   // rows with their optimizer state
  int32_t state_floats = 0;  // with_state: the state floats per row the worker expects
  bool read_only = false;    // create no rows; the reply lists the keys without one
};

// The fields of a PushRequest other than its keys and values.
struct PushHeader {
  uint64_t request_id = 0;
  TableId table = 0;
  PushRequest::Kind kind = PushRequest::KIND_UNSPECIFIED;
  float learning_rate = 0;   // GRADIENTS: the step the server's optimizer takes
  int32_t state_floats = 0;  // DELTAS: the state floats per row the worker expects
  uint64_t sequence = 0;     // PushRequest.sequence: the idempotency key; 0: none

  static PushHeader Gradients(uint64_t request_id, TableId table, float learning_rate,
                              uint64_t sequence = 0) {
    return {request_id, table, PushRequest::GRADIENTS, learning_rate, 0, sequence};
  }
  static PushHeader Deltas(uint64_t request_id, TableId table, int32_t state_floats,
                           uint64_t sequence = 0) {
    return {request_id, table, PushRequest::DELTAS, 0.0f, state_floats, sequence};
  }
};

struct PushRequestView : PushHeader {
  std::span<const uint64_t> keys;
  // GRADIENTS: rows of dim gradients; DELTAS: rows of dim + state_floats floats to add.
  std::span<const float> values;
};

// Values stay raw bytes: the client scatters rows with memcpy, so it needs no alignment.
struct PullReplyView {
  uint64_t request_id = 0;
  int32_t slowest_clock = 0;
  int64_t blocked_us = 0;
  const uint8_t* values = nullptr;  // num_floats little-endian float32
  size_t num_floats = 0;
  // Read-only pulls: little-endian uint32 positions (into the request's keys) of the keys
  // the server has no row for. Unchecked against the request: the client checks them.
  std::span<const uint8_t> missing;

  size_t num_missing() const { return missing.size() / sizeof(uint32_t); }
  uint32_t missing_at(size_t j) const {
    uint32_t position;
    std::memcpy(&position, missing.data() + j * sizeof(uint32_t), sizeof(uint32_t));
    return position;
  }
};

// Pass kPlainPull as state_floats for a pull of payloads; a value >= 0 asks for rows with
// their optimizer state (PullRequest.with_state), that many state floats per row.
// read_only: the server creates no rows and names the keys it lacks (PullReply.missing).
inline constexpr int32_t kPlainPull = -1;
void AppendPullRequest(uint64_t request_id, TableId table, int32_t clock,
                       std::span<const uint64_t> keys, ByteBuffer* out,
                       int32_t state_floats = kPlainPull, bool read_only = false);

// Appends a push of `keys` with room for num_values floats (their meaning: header.kind) and
// returns where they go; the caller must fill all of them (with memcpy: the address is not
// float-aligned) before `out` changes again.
// REQUIRES: header.kind is GRADIENTS or DELTAS; DELTAS: header.state_floats >= 0.
uint8_t* AppendPushRequest(const PushHeader& header, std::span<const uint64_t> keys,
                           size_t num_values, ByteBuffer* out);

// Appends a pull reply with room for num_floats values and returns where they go (aligned
// for float); the caller must fill them before `out` changes again. `missing`: the
// positions of the keys without a row (read-only pulls; empty: the field is omitted).
float* AppendPullReply(uint64_t request_id, int32_t slowest_clock, int64_t blocked_us,
                       size_t num_floats, ByteBuffer* out,
                       std::span<const uint32_t> missing = {});

Status DecodePullRequest(std::span<const uint8_t> body, DecodeScratch* scratch,
                         PullRequestView* view);
Status DecodePushRequest(std::span<const uint8_t> body, DecodeScratch* scratch,
                         PushRequestView* view);
Status DecodePullReply(std::span<const uint8_t> body, PullReplyView* view);

// Decodes the fields of a PullReply body of body_bytes that precede its values, from the
// first bytes of the body (`head`), so that a reader can receive the values straight into
// their destination. Sets view (values stays nullptr) and *values_at, the values' offset in
// the body. Fails (Corruption) when `head` does not reach the values, or when the values
// are not the body's last field (another encoder): such a reply is decoded whole instead.
Status DecodePullReplyHead(std::span<const uint8_t> head, size_t body_bytes,
                           PullReplyView* view, size_t* values_at);

}  // namespace psrec::wire
