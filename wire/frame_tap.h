// FrameTap: a Transport that wraps another (usually Transport::Default()) and sees every
// frame sent over the streams it makes, dialed or accepted: it records them, and it breaks
// the ones FrameFaults name. Tests give it to a client (PsClientOptions::transport) to prove
// what a worker sends and never sends, or to a server (ServerOptions::transport) to
// see its replies, and to make either end send a frame that is lost or malformed.
//
//   wire::FrameTap tap(wire::Transport::Default(),
//                      {.faults = {{wire::MessageType::kPush, 0,
//                                   wire::FrameFault::Action::kGarbleBody}}});
//   options.transport = &tap;   ... the first push arrives as noise ...
//   std::vector<wire::SentFrame> pushes = tap.frames(wire::MessageType::kPush);
//
// Writes are cut into frames (a frame split over several writes is held until complete);
// what reaches the wrapped stream is the frames with their faults applied, and the write
// completes for the bytes the owner wrote. Frames of one type are numbered in the order the
// tap sees them over all its streams, which is the order they are sent when one connection
// carries them (a test that counts on an order across connections uses one server).
// TryWriteNow never writes (it returns 0), so every frame goes through AsyncWrite and the
// tap; reads pass through untouched. Recording copies every body: a test transport, not
// one for a run.
//
// Thread safety: frames(), faults_applied() and the Transport methods may be called from
// any thread; the streams belong to their io thread like any ByteStream.
// Ownership: the tap does not own `inner`. REQUIRES: inner outlives the tap, and the tap
// every stream and listener it made.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <vector>

#include "wire/frame.h"
#include "wire/transport.h"

namespace psrec::wire {

struct FrameFault {
  enum class Action : uint8_t {
    kDrop,        // the frame is not sent (its request is never answered)
    kBadType,     // the header's type byte becomes 0, which no MessageType has
    kGarbleBody,  // every body byte is replaced by a seeded pseudo-random one
  };
  MessageType type = MessageType::kPush;
  int index = 0;  // the index-th frame of `type` the tap sees (0-based)
  Action action = Action::kGarbleBody;
};

struct FrameTapOptions {
  bool record = true;
  std::vector<FrameFault> faults;
  uint64_t seed = 1;  // kGarbleBody's bytes depend on it and on the frame's index only
};

// A frame as its sender wrote it (before any fault).
struct SentFrame {
  int stream = 0;  // the tap's streams, numbered from 0 in the order it made them
  MessageType type = MessageType::kError;
  int index = 0;  // among the frames of its type
  std::vector<uint8_t> body;
  std::optional<FrameFault::Action> fault;  // applied to it, if any
};

class TappedStream;
class TappedListener;

class FrameTap final : public Transport {
 public:
  FrameTap(Transport* inner, FrameTapOptions options);
  FrameTap(const FrameTap&) = delete;
  FrameTap& operator=(const FrameTap&) = delete;

  Result<std::unique_ptr<Listener>> Listen(boost::asio::io_context& io,
                                           const Endpoint& at) override;
  Result<std::unique_ptr<ByteStream>> Dial(boost::asio::io_context& io, const Endpoint& to,
                                           IoHandler connected) override;

  // Every frame sent so far (with options.record), in the order the tap saw them.
  std::vector<SentFrame> frames() const;
  std::vector<SentFrame> frames(MessageType type) const;
  int faults_applied() const;

 private:
  friend class TappedStream;
  friend class TappedListener;

  // Numbers a frame of `type` sent on `stream`, records it, and returns the fault to apply
  // to it, if any; *index is its number among the frames of its type.
  std::optional<FrameFault::Action> See(int stream, MessageType type,
                                        std::span<const uint8_t> body, int* index);
  // Overwrites body with kGarbleBody's bytes for the index-th frame of its type.
  void Garble(int index, std::span<uint8_t> body) const;
  std::unique_ptr<ByteStream> Wrap(boost::asio::io_context& io,
                                   std::unique_ptr<ByteStream> stream);

  Transport* const inner_;
  const FrameTapOptions options_;
  mutable std::mutex mu_;
  int next_stream_ = 0;                  // GUARDED_BY(mu_)
  std::map<MessageType, int> seen_;      // GUARDED_BY(mu_): frames per type so far
  std::vector<SentFrame> frames_;        // GUARDED_BY(mu_)
  int faults_applied_ = 0;               // GUARDED_BY(mu_)
};

}  // namespace psrec::wire
