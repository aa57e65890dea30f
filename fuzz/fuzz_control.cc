// Fuzzes DecodeControl (wire/frame_codec.h) for every control message: the handshake and its
// challenge and reply, clock, finish, ack, error and the checkpoint messages. The first byte
// picks the message, the rest is its body. A handshake that decodes is also run through the
// proof functions a server applies to it (wire/handshake_auth.h), an error through
// StatusFromError.
#include <cstdint>
#include <span>
#include <string>

#include "wire/frame_codec.h"
#include "wire/handshake_auth.h"

namespace {

using namespace psrec::wire;

template <typename Message>
bool Decode(std::span<const uint8_t> body, Message* msg) {
  return DecodeControl(body, msg).ok();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::span<const uint8_t> body(data + 1, size - 1);
  const std::string secret = "fuzz-secret";
  switch (data[0] % 12) {
    case 0: {
      HandshakeChallenge challenge;
      Decode(body, &challenge);
      break;
    }
    case 1: {
      Handshake hello;
      if (Decode(body, &hello)) {
        (void)ProofMatches(WorkerProof(secret, "nonce", hello), hello.proof());
      }
      break;
    }
    case 2: {
      HandshakeReply reply;
      if (Decode(body, &reply)) {
        (void)ProofMatches(ServerProof(secret, "nonce", Handshake(), reply), reply.proof());
      }
      break;
    }
    case 3: {
      ClockRequest msg;
      Decode(body, &msg);
      break;
    }
    case 4: {
      FinishRequest msg;
      Decode(body, &msg);
      break;
    }
    case 5: {
      Ack msg;
      Decode(body, &msg);
      break;
    }
    case 6: {
      Error msg;
      if (Decode(body, &msg)) (void)StatusFromError(msg).ToString();
      break;
    }
    case 7: {
      CheckpointRequest msg;
      Decode(body, &msg);
      break;
    }
    case 8: {
      CheckpointReply msg;
      Decode(body, &msg);
      break;
    }
    case 9: {
      CheckpointFileReport msg;
      Decode(body, &msg);
      break;
    }
    case 10: {
      CheckpointStatusRequest msg;
      Decode(body, &msg);
      break;
    }
    default: {
      CheckpointStatusReply msg;
      Decode(body, &msg);
      break;
    }
  }
  return 0;
}
