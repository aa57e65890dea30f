// ServerConnection: the client's end of one TCP connection to one parameter server.
//
// Connect retries until a deadline (servers may still be starting), then handshakes.
// Afterwards any thread may Enqueue frames; the io thread writes everything queued while a
// write was in flight as one gathered write (the outbox and the buffer being written swap,
// so buffers are reused and steady state allocates nothing). With NetworkFaults, each
// message is held back until its SendPacer release time. Received frames go to the
// on_frame callback; a refused frame, a read/write error or the peer closing goes to
// on_failure once, and the connection then stays closed.
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
#include <span>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "common/byte_buffer.h"
#include "common/frame.h"
#include "common/status.h"
#include "worker/ps_client.h"
#include "worker/send_pacer.h"

namespace psrec::worker {

class ServerConnection {
 public:
  using Clock = std::chrono::steady_clock;
  // Handles one frame after the handshake; body is valid during the call only. A non-OK
  // status fails the connection.
  using FrameHandler = std::function<Status(wire::MessageType, std::span<const uint8_t>)>;
  // The connection failed (message without the server's name: the caller adds name()).
  using FailureHandler = std::function<void(const Status&)>;

  ServerConnection(boost::asio::io_context& io, int server_id, const PsClientOptions& options,
                   FrameHandler on_frame, FailureHandler on_failure);
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
    if (pacer_.active()) releases_.push_back({outbox_.size(), pacer_.Release(Clock::now(), bytes)});
    if (!write_scheduled_) {
      write_scheduled_ = true;
      ScheduleWrite();
    }
    bytes_sent_.fetch_add(bytes, std::memory_order_relaxed);
    return bytes;
  }

  // io thread: closes the socket (idempotent); pending operations end silently.
  void Close();
  bool closed() const { return closed_; }

  uint64_t bytes_sent() const { return bytes_sent_.load(std::memory_order_relaxed); }
  uint64_t bytes_received() const { return bytes_received_.load(std::memory_order_relaxed); }

 private:
  struct Release {
    size_t end;  // outbox offset where the message ends
    Clock::time_point at;
  };
  static constexpr size_t kReadChunk = 256 * 1024;

  void TryConnect();
  void OnConnected();
  void FinishConnect(const Status& status);
  void ScheduleWrite();  // posts StartWrite to the io thread
  void StartWrite();
  void StartRead();
  void OnRead(size_t bytes);
  void Fail(const Status& status);

  boost::asio::io_context& io_;
  const PsClientOptions& options_;
  const int server_id_;
  const std::string address_;
  const std::string name_;
  FrameHandler on_frame_;
  FailureHandler on_failure_;

  boost::asio::ip::tcp::socket socket_;
  boost::asio::steady_timer timer_;  // connect retries, handshake deadline, paced sends
  boost::asio::ip::tcp::resolver::results_type endpoints_;
  Clock::time_point connect_deadline_;
  std::function<void(const Status&)> connect_done_;
  Clock::duration retry_delay_{};
  bool handshaken_ = false;
  bool closed_ = false;

  std::mutex out_mu_;
  ByteBuffer outbox_;             // GUARDED_BY(out_mu_)
  std::deque<Release> releases_;  // GUARDED_BY(out_mu_), only with active faults
  SendPacer pacer_;               // GUARDED_BY(out_mu_)
  bool write_scheduled_ = false;  // GUARDED_BY(out_mu_): the io thread will look at outbox_
  ByteBuffer writing_;            // io thread: the bytes of the write in flight

  ByteBuffer inbox_;  // io thread: received bytes not yet handled (starts at a frame)
  std::atomic<uint64_t> bytes_sent_{0};
  std::atomic<uint64_t> bytes_received_{0};
};

}  // namespace psrec::worker
