#include "wire/frame.h"

#include <cstring>

namespace psrec::wire {

const char* MessageTypeName(MessageType type) {
  switch (type) {
    case MessageType::kHandshake: return "Handshake";
    case MessageType::kHandshakeReply: return "HandshakeReply";
    case MessageType::kPull: return "Pull";
    case MessageType::kPullReply: return "PullReply";
    case MessageType::kPush: return "Push";
    case MessageType::kClock: return "Clock";
    case MessageType::kFinish: return "Finish";
    case MessageType::kAck: return "Ack";
    case MessageType::kError: return "Error";
    case MessageType::kCheckpoint: return "Checkpoint";
    case MessageType::kCheckpointReply: return "CheckpointReply";
    case MessageType::kCheckpointFile: return "CheckpointFile";
    case MessageType::kCheckpointStatus: return "CheckpointStatus";
    case MessageType::kCheckpointStatusReply: return "CheckpointStatusReply";
    case MessageType::kHandshakeChallenge: return "HandshakeChallenge";
  }
  return "Unknown";
}

Result<FrameHeader> ParseFrameHeader(const uint8_t* p, size_t max_frame_bytes) {
  FrameHeader header;
  std::memcpy(&header.body_bytes, p, 4);
  const uint8_t type = p[4];
  if (type < static_cast<uint8_t>(MessageType::kHandshake) ||
      type > static_cast<uint8_t>(MessageType::kHandshakeChallenge)) {
    return Status::Corruption("unknown message type " + std::to_string(type));
  }
  header.type = static_cast<MessageType>(type);
  if (header.body_bytes > max_frame_bytes) {
    return Status::Corruption("frame of " + std::to_string(header.body_bytes) +
                              " bytes exceeds max_frame_bytes " +
                              std::to_string(max_frame_bytes));
  }
  return header;
}

}  // namespace psrec::wire
