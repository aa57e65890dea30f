// Fuzzes a connection's inbound byte stream: frame headers (ParseFrameHeader, wire/frame.h)
// one after another, each body handed to the decoder of its type, as a server or client
// would. Stops at the first malformed frame, as a connection closes.
#include <cstdint>
#include <span>

#include "fuzz/fuzz_body.h"
#include "wire/frame.h"
#include "wire/frame_codec.h"

namespace {

using namespace psrec::wire;

void DecodeBody(MessageType type, std::span<const uint8_t> body) {
  DecodeScratch scratch;
  switch (type) {
    case MessageType::kPull: {
      PullRequestView view;
      (void)DecodePullRequest(body, &scratch, &view);
      break;
    }
    case MessageType::kPush: {
      PushRequestView view;
      (void)DecodePushRequest(body, &scratch, &view);
      break;
    }
    case MessageType::kPullReply: {
      PullReplyView view;
      (void)DecodePullReply(body, &view);
      break;
    }
    case MessageType::kHandshake: {
      Handshake msg;
      (void)DecodeControl(body, &msg);
      break;
    }
    case MessageType::kHandshakeReply: {
      HandshakeReply msg;
      (void)DecodeControl(body, &msg);
      break;
    }
    case MessageType::kHandshakeChallenge: {
      HandshakeChallenge msg;
      (void)DecodeControl(body, &msg);
      break;
    }
    case MessageType::kError: {
      Error msg;
      if (DecodeControl(body, &msg).ok()) (void)StatusFromError(msg);
      break;
    }
    default: {
      ClockRequest msg;  // the other control messages share its decoder
      (void)DecodeControl(body, &msg);
      break;
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  psrec::fuzz::FuzzBody stream(data, size);
  std::span<const uint8_t> rest = stream.span();
  constexpr size_t kMaxFrameBytes = 1 << 20;
  while (rest.size() >= kFrameHeaderBytes) {
    auto header = ParseFrameHeader(rest.data(), kMaxFrameBytes);
    if (!header.ok()) return 0;
    (void)MessageTypeName(header->type);
    rest = rest.subspan(kFrameHeaderBytes);
    if (header->body_bytes > rest.size()) return 0;  // the peer has not sent it (yet)
    DecodeBody(header->type, rest.first(header->body_bytes));
    rest = rest.subspan(header->body_bytes);
  }
  return 0;
}
