// ServerConnection: the traffic after the handshake (sending, reading, placing frames).
// Connecting and the handshake are in server_connection_connect.cc.
#include "client/server_connection.h"

#include <sys/socket.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <glog/logging.h>

#include "wire/frame_codec.h"

namespace psrec::client {

namespace {

Status ReadFailure(const boost::system::error_code& ec) {
  return ec == boost::asio::error::eof
             ? Status::Unavailable("connection closed by the server")
             : Status::Unavailable("connection lost: " + ec.message());
}

}  // namespace

namespace asio = boost::asio;
using asio::ip::tcp;

ServerConnection::ServerConnection(asio::io_context& io, int server_id,
                                   const PsClientOptions& options, FrameHandler on_frame,
                                   FailureHandler on_failure, FramePlacer place,
                                   PlacedHandler on_placed)
    : io_(io),
      options_(options),
      server_id_(server_id),
      address_(options.servers[static_cast<size_t>(server_id)]),
      name_("server " + std::to_string(server_id) + " (" + address_ + ")"),
      on_frame_(std::move(on_frame)),
      on_failure_(std::move(on_failure)),
      place_(std::move(place)),
      on_placed_(std::move(on_placed)),
      socket_(io),
      tcp_socket_(io),
      timer_(io),
      pacer_(options.faults) {}
bool ServerConnection::TrySendNow() {
  if (direct_fd_ < 0 || pacer_.active() || outbox_.empty() ||
      outbox_.size() > kDirectSendMaxBytes) {
    return false;
  }
  const ssize_t n =
      ::send(direct_fd_, outbox_.data(), outbox_.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
  if (n <= 0) return false;
  outbox_.Consume(static_cast<size_t>(n));
  return outbox_.empty();
}

void ServerConnection::ScheduleWrite() {
  asio::post(io_, [this] { StartWrite(); });
}

void ServerConnection::StartWrite() {
  if (closed_) return;
  {
    std::lock_guard<std::mutex> lock(out_mu_);
    if (outbox_.empty()) {
      write_scheduled_ = false;
      return;
    }
    if (!pacer_.active()) {
      outbox_.Swap(writing_);
    } else {
      // Release the messages whose time has come; wait for the next one otherwise.
      const Clock::time_point now = Clock::now();
      size_t end = 0;
      while (!releases_.empty() && releases_.front().at <= now) {
        end = releases_.front().end;
        releases_.pop_front();
      }
      if (end == 0) {
        timer_.expires_at(releases_.front().at);
        timer_.async_wait([this](boost::system::error_code ec) {
          if (!ec) StartWrite();
        });
        return;  // write_scheduled_ stays true: the timer will look again
      }
      writing_.Append(outbox_.data(), end);
      outbox_.Consume(end);
      for (Release& r : releases_) r.end -= end;
    }
  }
  asio::async_write(socket_, asio::buffer(writing_.data(), writing_.size()),
                    [this](boost::system::error_code ec, size_t) {
                      if (ec) {
                        Fail(Status::Unavailable("cannot send: " + ec.message()));
                        return;
                      }
                      writing_.Clear();
                      StartWrite();
                    });
}

void ServerConnection::StartRead() {
  if (closed_) return;
  inbox_.Reserve(inbox_.size() + kReadChunk);
  // Up to the end of the frame being read when it is large (one read, in place), else a
  // chunk: reading far into an unknown frame would copy what a placement could receive
  // in place.
  const size_t rest = frame_end_ > inbox_.size() ? frame_end_ - inbox_.size() : 0;
  const size_t room = std::min(inbox_.capacity() - inbox_.size(), std::max(kReadChunk, rest));
  socket_.async_read_some(
      asio::buffer(inbox_.data() + inbox_.size(), room),
      [this](boost::system::error_code ec, size_t bytes) {
        if (closed_) return;
        if (ec) {
          Fail(ReadFailure(ec));
          return;
        }
        OnRead(bytes);
      });
}

void ServerConnection::OnRead(size_t bytes) {
  bytes_received_.fetch_add(bytes, std::memory_order_relaxed);
  inbox_.Grow(bytes);  // the bytes are already there: this only moves size()
  size_t at = 0;
  size_t want = 0;  // bytes of an incomplete frame at `at`, once its header is known
  while (inbox_.size() - at >= wire::kFrameHeaderBytes) {
    Result<wire::FrameHeader> header =
        wire::ParseFrameHeader(inbox_.data() + at, options_.max_frame_bytes);
    if (!header.ok()) {
      Fail(header.status());
      return;
    }
    const size_t frame = wire::kFrameHeaderBytes + header->body_bytes;
    if (inbox_.size() - at < frame) {
      inbox_.Consume(at);
      if (TryPlace(*header)) {
        ReadPlacedTail();
        return;
      }
      at = 0;
      want = frame;
      break;
    }
    std::span<const uint8_t> body(inbox_.data() + at + wire::kFrameHeaderBytes,
                                  header->body_bytes);
    Status status;
    bool switched = false;
    if (handshaken_) {
      status = on_frame_(header->type, body);
    } else {
      status = OnHandshakeFrame(header->type, body, &switched);
    }
    if (!status.ok()) {
      Fail(status);
      return;
    }
    if (closed_) return;  // a handler closed us
    if (switched) {
      // Nothing follows a handshake reply until the next request: the TCP socket has no
      // more to read, and the local one is read once connected.
      inbox_.Clear();
      return;
    }
    at += frame;
  }
  inbox_.Consume(at);
  frame_end_ = want;
  if (want > 0) inbox_.Reserve(want);  // read the rest of a large frame in place
  StartRead();
}
bool ServerConnection::TryPlace(const wire::FrameHeader& header) {
  const size_t have = inbox_.size() - wire::kFrameHeaderBytes;  // body bytes in, < body
  if (!place_ || !handshaken_ || header.body_bytes < kPlaceMinBytes || have < kPlaceHeadBytes) {
    return false;
  }
  const std::span<const uint8_t> head(inbox_.data() + wire::kFrameHeaderBytes, have);
  const std::optional<Placement> placement = place_(header.type, head, header.body_bytes);
  if (!placement || placement->tail_at > have || placement->tail_at >= header.body_bytes) {
    return false;
  }
  PlacedFrame frame;
  frame.type = header.type;
  frame.body_bytes = header.body_bytes;
  frame.tail_at = placement->tail_at;
  frame.dst = placement->dst;
  frame.tail_bytes = header.body_bytes - placement->tail_at;
  // Tail bytes that came with the head: copied once; the rest arrives in place.
  frame.tail_done = have - placement->tail_at;
  if (frame.tail_done > 0) std::memcpy(frame.dst, head.data() + frame.tail_at, frame.tail_done);
  inbox_.Shrink(frame.tail_done);  // the inbox keeps the header and the head
  placed_ = frame;
  return true;
}

void ServerConnection::ReadPlacedTail() {
  PlacedFrame& frame = *placed_;
  if (frame.tail_done == frame.tail_bytes) {
    const std::span<const uint8_t> head(inbox_.data() + wire::kFrameHeaderBytes, frame.tail_at);
    const Status status = on_placed_(frame.type, head, frame.body_bytes);
    placed_.reset();
    inbox_.Clear();
    frame_end_ = 0;
    if (!status.ok()) {
      Fail(status);
      return;
    }
    if (!closed_) StartRead();
    return;
  }
  // Exactly the tail: the next frame is read into the inbox again.
  socket_.async_read_some(
      asio::buffer(frame.dst + frame.tail_done, frame.tail_bytes - frame.tail_done),
      [this](boost::system::error_code ec, size_t bytes) {
        if (closed_) return;
        if (ec) {
          Fail(ReadFailure(ec));
          return;
        }
        bytes_received_.fetch_add(bytes, std::memory_order_relaxed);
        bytes_in_place_.fetch_add(bytes, std::memory_order_relaxed);
        placed_->tail_done += bytes;
        ReadPlacedTail();
      });
}

void ServerConnection::Fail(const Status& status) {
  if (closed_) return;
  Close();
  if (connect_done_) {
    FinishConnect(status);
  } else {
    on_failure_(status);
  }
}

void ServerConnection::Close() {
  if (closed_) return;
  closed_ = true;
  {
    // Before the descriptor is closed (and its number possibly reused).
    std::lock_guard<std::mutex> lock(out_mu_);
    direct_fd_ = -1;
  }
  boost::system::error_code ec;
  timer_.cancel();
  socket_.shutdown(Socket::shutdown_both, ec);
  socket_.close(ec);
  tcp_socket_.close(ec);
}

}  // namespace psrec::client
