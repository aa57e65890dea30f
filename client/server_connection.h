// ServerConnection: the client's end of one connection to one parameter server.
//
// It runs over options.transport (wire/transport.h). Connect retries until a deadline (servers may
// still be starting), then handshakes over TCP: it answers the server's challenge with a
// proof of the job secret and accepts the server only with the server's proof
// (wire/handshake_auth.h). When the reply advertises a local (Unix-domain)
// socket and options.use_local_socket is set, it connects there too and handshakes again with the
// same checks; if that connection cannot be made (another host, another network namespace) it stays
// on TCP, and otherwise it closes the TCP connection and all traffic takes the local socket.
// Afterwards any thread may Enqueue frames; the io thread writes everything queued while a
// write was in flight as one gathered write (the outbox and the buffer being written swap,
// so buffers are reused and steady state allocates nothing). A small frame enqueued while
// nothing is being written is sent by the enqueuing thread itself (no io-thread wake-up).
// With NetworkFaults, each message is held back until its SendPacer release time. Received
// frames go to the on_frame callback, except large frames that a FramePlacer directs into
// the owner's memory (see Placement); a refused frame, a read/write error or the peer
// closing goes to on_failure once, and the connection then stays closed.
//
// Thread safety: Enqueue and the byte counters may be used from any thread; every other
// method runs on the io thread. Callbacks run on the io thread.
// Ownership: the client owns its connections; they must be destroyed after the io thread
// stopped (handlers hold raw pointers to them).
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <memory>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "common/byte_buffer.h"
#include "wire/frame.h"
#include "wire/proto/wire.pb.h"
#include "common/status.h"
#include "client/ps_client.h"
#include "client/send_pacer.h"
#include "wire/transport.h"

namespace psrec::client {

class ServerConnection {
 public:
  using Clock = std::chrono::steady_clock;
  // Handles one frame after the handshake; body is valid during the call only. A non-OK
  // status fails the connection.
  using FrameHandler = std::function<Status(wire::MessageType, std::span<const uint8_t>)>;
  // The connection failed (message without the server's name: the caller adds name()).
  using FailureHandler = std::function<void(const Status&)>;

  // Receiving the tail of a large frame's body straight into the owner's memory (a pull
  // reply's values into the caller's rows), so those bytes are copied once, by the kernel.
  struct Placement {
    size_t tail_at = 0;      // body bytes [tail_at, body_bytes) go to dst
    uint8_t* dst = nullptr;  // must stay valid until the PlacedHandler ran or the connection
                             // closed
  };
  // Asked once for a frame of at least kPlaceMinBytes when its first body bytes (`head`, at
  // least kPlaceHeadBytes of them) are in; nullopt: receive it whole as usual.
  using FramePlacer = std::function<std::optional<Placement>(
      wire::MessageType, std::span<const uint8_t> head, size_t body_bytes)>;
  // The placed frame is complete: head is its body's first tail_at bytes. A non-OK status
  // fails the connection.
  using PlacedHandler = std::function<Status(wire::MessageType, std::span<const uint8_t> head,
                                             size_t body_bytes)>;
  static constexpr size_t kPlaceMinBytes = 64 * 1024;
  static constexpr size_t kPlaceHeadBytes = 64;

  // place and on_placed may be null (every frame then arrives whole through on_frame).
  // session: Handshake.client_session (the same on every connection of one client).
  ServerConnection(boost::asio::io_context& io, int server_id, const PsClientOptions& options,
                   uint64_t session, FrameHandler on_frame, FailureHandler on_failure,
                   FramePlacer place = nullptr, PlacedHandler on_placed = nullptr);
  ServerConnection(const ServerConnection&) = delete;
  ServerConnection& operator=(const ServerConnection&) = delete;

  // "server 1 (127.0.0.1:4567)": how errors name this server.
  const std::string& name() const { return name_; }

  // io thread: resolves, connects (retrying until `deadline`) and handshakes, then starts
  // reading; calls done exactly once (with the error naming nothing: the caller adds name()).
  void StartConnect(Clock::time_point deadline, std::function<void(const Status&)> done);

  // Any thread: appends one frame with encode(&buffer) and schedules its write. Returns the
  // frame's size in bytes. encode runs under the connection's send lock: keep it a copy.
  template <typename Encode>
  size_t Enqueue(Encode&& encode) {
    std::lock_guard<std::mutex> lock(out_mu_);
    const size_t before = outbox_.size();
    encode(&outbox_);
    const size_t bytes = outbox_.size() - before;
    bytes_sent_.fetch_add(bytes, std::memory_order_relaxed);
    if (pacer_.active()) releases_.push_back({outbox_.size(), pacer_.Release(Clock::now(), bytes)});
    if (!write_scheduled_ && !TrySendNow()) {
      write_scheduled_ = true;
      ScheduleWrite();
    }
    return bytes;
  }

  // io thread: closes the socket (idempotent); pending operations end silently.
  void Close();
  bool closed() const { return closed_; }
  // Whether traffic goes over the server's Unix-domain socket (valid once connected).
  bool local() const { return local_; }

  uint64_t bytes_sent() const { return bytes_sent_.load(std::memory_order_relaxed); }
  uint64_t bytes_received() const { return bytes_received_.load(std::memory_order_relaxed); }
  uint64_t bytes_in_place() const { return bytes_in_place_.load(std::memory_order_relaxed); }

 private:
  struct Release {
    size_t end;  // outbox offset where the message ends
    Clock::time_point at;
  };
  static constexpr size_t kReadChunk = 256 * 1024;
  static constexpr size_t kDirectSendMaxBytes = 1 << 20;

  // Dials the server's TCP endpoint; retried until connect_deadline_.
  void TryConnect();
  // Starts reading the server's challenge on the stream just connected.
  void OnConnected();
  // Answers the server's challenge (on the current stream) with this worker's Handshake.
  Status AnswerChallenge(std::span<const uint8_t> body);
  // Checks the server's HandshakeReply, its proof included.
  Status CheckReply(const wire::HandshakeReply& reply) const;
  // Checks a frame that arrives before the handshake is done. Sets *switched when it
  // started the move to the local socket (then no read must be started on the old one).
  Status OnHandshakeFrame(wire::MessageType type, std::span<const uint8_t> body,
                          bool* switched);
  // Connects to the advertised local socket; the TCP socket is kept until that handshake
  // is done, and taken back if the local one cannot be reached.
  void StartLocalConnect(const std::string& name);
  // The local socket cannot be reached: the handshaken TCP stream carries the traffic.
  void UseTcp();
  void FinishConnect(const Status& status);
  // Sends a small outbox from the calling thread while the io thread is not writing, so a
  // request leaves without waking the io thread (wake-ups are most of a small request's
  // round trip). Returns true when all of it went out; anything else (a large outbox, a
  // full socket, an error) is left to the io thread's write, which reports errors.
  // REQUIRES: out_mu_ held, write_scheduled_ false.
  bool TrySendNow();
  void ScheduleWrite();  // posts StartWrite to the io thread
  void StartWrite();
  void StartRead();
  void OnRead(size_t bytes);
  // Offers the incomplete frame at the start of inbox_ to place_; true when it was placed
  // (the tail is then read by ReadPlacedTail).
  bool TryPlace(const wire::FrameHeader& header);
  void ReadPlacedTail();
  void Fail(const Status& status);

  boost::asio::io_context& io_;
  const PsClientOptions& options_;
  const int server_id_;
  const uint64_t session_;
  const std::string address_;
  const std::string name_;
  FrameHandler on_frame_;
  FailureHandler on_failure_;
  FramePlacer place_;
  PlacedHandler on_placed_;

  // The frame whose tail is being read into placement memory (io thread).
  struct PlacedFrame {
    wire::MessageType type;
    size_t body_bytes = 0;
    size_t tail_at = 0;
    uint8_t* dst = nullptr;
    size_t tail_bytes = 0, tail_done = 0;
  };
  std::optional<PlacedFrame> placed_;

  // TCP, then the local socket when the move succeeds. Replaced only on the io thread while
  // no operation of the old stream is in flight; out_mu_ guards it for TrySendNow (direct_).
  std::unique_ptr<wire::ByteStream> stream_;
  // The handshaken TCP connection while the local one is being tried.
  std::unique_ptr<wire::ByteStream> tcp_stream_;
  boost::asio::steady_timer timer_;  // connect retries, handshake deadline, paced sends
  wire::Endpoint endpoint_;          // the server's TCP endpoint
  Clock::time_point connect_deadline_;
  std::function<void(const Status&)> connect_done_;
  Clock::duration retry_delay_{};
  // The current stream's handshake: the server's nonce and what this worker sent (empty
  // nonce: no challenge answered yet). Reset for the local socket's handshake.
  std::string server_nonce_;
  wire::Handshake hello_;
  bool handshaken_ = false;
  bool local_ = false;  // socket_ is the local socket (its handshake may still be going on)
  bool closed_ = false;

  std::mutex out_mu_;
  ByteBuffer outbox_;             // GUARDED_BY(out_mu_)
  std::deque<Release> releases_;  // GUARDED_BY(out_mu_), only with active faults
  SendPacer pacer_;               // GUARDED_BY(out_mu_)
  bool write_scheduled_ = false;  // GUARDED_BY(out_mu_): the io thread will look at outbox_
  // GUARDED_BY(out_mu_): stream_ once handshaken, until Close.
  wire::ByteStream* direct_ = nullptr;
  ByteBuffer writing_;            // io thread: the bytes of the write in flight

  ByteBuffer inbox_;  // io thread: received bytes not yet handled (starts at a frame)
  size_t frame_end_ = 0;  // io thread: size of the incomplete frame in inbox_, 0: unknown
  std::atomic<uint64_t> bytes_sent_{0};
  std::atomic<uint64_t> bytes_received_{0};
  std::atomic<uint64_t> bytes_in_place_{0};
};

}  // namespace psrec::client
