// ServerConnection: the traffic after the handshake (sending, reading, placing frames).
// Connecting and the handshake are in server_connection_connect.cc.
#include "client/server_connection.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>
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

ServerConnection::ServerConnection(asio::io_context& io, int server_id,
                                   const PsClientOptions& options, uint64_t session,
                                   FrameHandler on_frame,
                                   FailureHandler on_failure, FramePlacer place,
                                   PlacedHandler on_placed)
    : io_(io),
      options_(options),
      server_id_(server_id),
      session_(session),
      address_(options.servers[static_cast<size_t>(server_id)]),
      name_("server " + std::to_string(server_id) + " (" + address_ + ")"),
      on_frame_(std::move(on_frame)),
      on_failure_(std::move(on_failure)),
      place_(std::move(place)),
      on_placed_(std::move(on_placed)),
      timer_(io),
      pacer_(options.faults) {}
bool ServerConnection::TrySendNow() {
  if (direct_ == nullptr || pacer_.active() || outbox_.empty() ||
      outbox_.size() > kDirectSendMaxBytes) {
    return false;
  }
  const size_t n = direct_->TryWriteNow({outbox_.data(), outbox_.size()});
  if (n == 0) return false;
  outbox_.Consume(n);
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
  stream_->AsyncWrite({writing_.data(), writing_.size()},
                    [this](const boost::system::error_code& ec, size_t) {
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
  stream_->AsyncReadSome(
      {inbox_.data() + inbox_.size(), room},
      [this](const boost::system::error_code& ec, size_t bytes) {
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
  stream_->AsyncReadSome(
      {frame.dst + frame.tail_done, frame.tail_bytes - frame.tail_done},
      [this](const boost::system::error_code& ec, size_t bytes) {
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
    // Before the stream is closed (and its descriptor's number possibly reused).
    std::lock_guard<std::mutex> lock(out_mu_);
    direct_ = nullptr;
  }
  timer_.cancel();
  if (stream_) stream_->Close();
  if (tcp_stream_) tcp_stream_->Close();
}

}  // namespace psrec::client
