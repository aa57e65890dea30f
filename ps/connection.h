// Connection: one accepted connection of a parameter server, over any wire::ByteStream (TCP or the
// server's Unix-domain socket by default: the protocol code is the same for every transport). It
// reads whole frames and hands each to a FrameSink, and writes the frames the sink appends to out()
// in gathered writes: everything appended while a write is in flight goes out in the next single
// write.
//
// Buffers are per connection and reused (ByteBuffer keeps its capacity), so steady-state
// traffic allocates nothing. The read buffer keeps the next frame's header at offset
// kHeaderAt, which puts its body on an 8-byte boundary: the codec's views of keys and
// gradients then point into the buffer (no copy) for a frame that starts a read; a frame
// that follows another in the same read may be misaligned and is decoded through scratch.
//
// A frame the sink refuses (non-OK Status) closes the connection: the status is logged with
// the peer's address, sent to the peer as an Error (request_id 0), and the socket closed
// once that is written. Nothing else is affected. Before the handshake is done the peer is
// a stranger: it gets "handshake refused" and nothing more (the log has the reason), and a
// connection that has not completed the handshake within the timeout given to Start is
// closed. Either is logged once, with the peer's address, and counted.
//
// Thread safety: none. Every method runs on the server's io thread; handlers keep the
// Connection alive through shared_from_this.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/system/error_code.hpp>

#include "common/byte_buffer.h"
#include "common/status.h"
#include "ps/server_stats.h"
#include "wire/frame.h"
#include "wire/transport.h"

namespace psrec::ps {

class Connection;

// What a connection delivers frames to (the shard service).
class FrameSink {
 public:
  virtual ~FrameSink() = default;
  // Handles one frame; `body` is valid only during the call. Replies go to conn.out() (the
  // connection flushes after the frames of one read). A non-OK status closes conn.
  virtual Status OnFrame(Connection& conn, wire::MessageType type,
                         std::span<const uint8_t> body) = 0;
  // conn is closed (by either side); called once.
  virtual void OnClosed(Connection& conn) = 0;
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  // Per-connection protocol state, owned by the sink.
  struct Session {
    bool handshake_done = false;  // set through HandshakeDone()
    int worker_id = -1;
    std::string server_nonce;  // sent in this connection's HandshakeChallenge
  };

  // stream->peer() names the other end in logs ("127.0.0.1:5000", "local pid 123").
  // REQUIRES: sink and counters outlive the connection; io is the stream's io_context.
  Connection(boost::asio::io_context& io, std::unique_ptr<wire::ByteStream> stream,
             FrameSink* sink, size_t max_frame_bytes, ServerCounters* counters);
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Sends what out() holds (the sink's challenge), starts reading, and closes the
  // connection unless HandshakeDone() is called within handshake_timeout.
  void Start(std::chrono::milliseconds handshake_timeout);
  // The sink accepted the peer's handshake (worker_id): the timeout no longer applies and
  // failures are reported to the peer in full.
  void HandshakeDone(int worker_id);

  // Frames appended here are sent by the next Flush().
  ByteBuffer& out() { return out_; }
  void Flush();

  // Logs `why`, sends it as an Error, stops reading and closes once the Error is written.
  void Fail(const Status& why);
  // Fail for a peer that has not completed the handshake: logs `why` but sends only
  // "handshake refused", so that a stranger learns nothing about the job.
  void Refuse(const Status& why);
  // Closes now (idempotent). Pending reads and writes complete with operation_aborted.
  void Close();

  bool closed() const { return closed_; }
  const std::string& peer() const { return stream_->peer(); }
  Session& session() { return session_; }

 private:
  // Header of the next unread frame; 8 - kFrameHeaderBytes puts its body at offset 8.
  static constexpr size_t kHeaderAt = 8 - wire::kFrameHeaderBytes;
  static constexpr size_t kReadChunk = 64 * 1024;
  // Reading pauses while this much output waits (a peer that sends but does not read).
  static constexpr size_t kMaxPendingOut = 64 << 20;

  void ReadMore();
  void OnRead(const boost::system::error_code& ec, size_t requested, size_t n);
  // Handles the complete frames in in_; returns false when the connection is closing.
  bool HandleFrames();
  void OnWritten(const boost::system::error_code& ec, size_t n);
  void OnHandshakeTimeout(std::chrono::milliseconds timeout);
  // Refuse before the handshake, Fail after it.
  void Reject(const Status& why);

  std::unique_ptr<wire::ByteStream> stream_;
  FrameSink* sink_;
  size_t max_frame_bytes_;
  ServerCounters* counters_;
  Session session_;
  boost::asio::steady_timer handshake_timer_;

  ByteBuffer in_;       // [kHeaderAt, size): received, not yet handled
  ByteBuffer out_;      // replies waiting for the next write
  ByteBuffer sending_;  // the write in flight
  size_t frame_needs_ = 0;  // bytes the partial frame at kHeaderAt still needs
  bool reading_ = false;
  bool writing_ = false;
  bool closing_ = false;  // Fail() was called: no more reads
  bool closed_ = false;
};

}  // namespace psrec::ps
