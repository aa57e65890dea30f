#include "ps/connection.h"

#include <algorithm>
#include <utility>

#include <boost/asio/error.hpp>
#include <glog/logging.h>

#include "wire/frame_codec.h"

namespace psrec::ps {

namespace asio = boost::asio;

Connection::Connection(asio::io_context& io, std::unique_ptr<wire::ByteStream> stream,
                       FrameSink* sink, size_t max_frame_bytes, ServerCounters* counters)
    : stream_(std::move(stream)),
      sink_(sink),
      max_frame_bytes_(max_frame_bytes),
      counters_(counters),
      handshake_timer_(io) {
  in_.Grow(kHeaderAt);
}

void Connection::Start(std::chrono::milliseconds handshake_timeout) {
  handshake_timer_.expires_after(handshake_timeout);
  handshake_timer_.async_wait(
      [self = shared_from_this(), handshake_timeout](const boost::system::error_code& ec) {
        if (!ec) self->OnHandshakeTimeout(handshake_timeout);
      });
  Flush();
  ReadMore();
}

void Connection::HandshakeDone(int worker_id) {
  session_.handshake_done = true;
  session_.worker_id = worker_id;
  handshake_timer_.cancel();
}

void Connection::OnHandshakeTimeout(std::chrono::milliseconds timeout) {
  if (closed_ || session_.handshake_done) return;
  if (!closing_) {  // a refused peer that does not read its Error is simply closed
    LOG(WARNING) << "closing connection from " << peer() << ": no handshake within "
                 << timeout.count() << " ms";
    ServerCounters::Add(counters_->handshake_timeouts, 1);
    ServerCounters::Add(counters_->connections_dropped, 1);
  }
  Close();
}

void Connection::ReadMore() {
  if (closed_ || closing_ || reading_) return;
  if (out_.size() + sending_.size() > kMaxPendingOut) return;  // resumed by OnWritten
  reading_ = true;
  const size_t want = std::max(kReadChunk, frame_needs_);
  uint8_t* at = in_.Grow(want);
  stream_->AsyncReadSome(
      {at, want},
      [self = shared_from_this(), want](const boost::system::error_code& ec, size_t n) {
        self->OnRead(ec, want, n);
      });
}

void Connection::OnRead(const boost::system::error_code& ec, size_t requested, size_t n) {
  reading_ = false;
  in_.Shrink(requested - n);
  if (closed_) return;
  if (ec) {
    if (ec == asio::error::eof || ec == asio::error::connection_reset) {
      VLOG(1) << "connection from " << peer() << " closed by the peer";
    } else if (ec != asio::error::operation_aborted) {
      LOG(INFO) << "connection from " << peer() << ": read failed: " << ec.message();
    }
    Close();
    return;
  }
  ServerCounters::Add(counters_->bytes_in, n);
  if (!HandleFrames()) return;
  Flush();
  ReadMore();
}

bool Connection::HandleFrames() {
  size_t at = kHeaderAt;
  frame_needs_ = 0;
  while (in_.size() - at >= wire::kFrameHeaderBytes) {
    Result<wire::FrameHeader> header = wire::ParseFrameHeader(in_.data() + at, max_frame_bytes_);
    if (!header.ok()) {
      Reject(header.status());
      return false;
    }
    const size_t frame_bytes = wire::kFrameHeaderBytes + header->body_bytes;
    if (in_.size() - at < frame_bytes) {
      frame_needs_ = frame_bytes - (in_.size() - at);
      break;
    }
    const std::span<const uint8_t> body(in_.data() + at + wire::kFrameHeaderBytes,
                                        header->body_bytes);
    Status status = sink_->OnFrame(*this, header->type, body);
    if (!status.ok()) {
      Reject(status.WithContext(std::string(wire::MessageTypeName(header->type)) + " frame"));
      return false;
    }
    if (closed_ || closing_) return false;
    at += frame_bytes;
  }
  // Move the partial frame (if any) back so that its body lands on an 8-byte boundary.
  in_.Consume(at, kHeaderAt);
  return true;
}

void Connection::Flush() {
  if (closed_ || writing_ || out_.empty()) return;
  writing_ = true;
  sending_.Swap(out_);  // out_ takes the previous (cleared) send buffer: no allocation
  stream_->AsyncWrite({sending_.data(), sending_.size()},
                    [self = shared_from_this()](const boost::system::error_code& ec, size_t n) {
                      self->OnWritten(ec, n);
                    });
}

void Connection::OnWritten(const boost::system::error_code& ec, size_t n) {
  writing_ = false;
  sending_.Clear();
  if (closed_) return;
  if (ec) {
    if (ec != asio::error::operation_aborted) {
      LOG(INFO) << "connection from " << peer() << ": write failed: " << ec.message();
    }
    Close();
    return;
  }
  ServerCounters::Add(counters_->bytes_out, n);
  if (closing_ && out_.empty()) {
    Close();
    return;
  }
  Flush();
  ReadMore();
}

void Connection::Fail(const Status& why) {
  if (closed_ || closing_) return;
  LOG(WARNING) << "closing connection from " << peer() << ": " << why.ToString();
  ServerCounters::Add(counters_->connections_dropped, 1);
  closing_ = true;
  wire::AppendError(0, why, &out_);
  Flush();
}

void Connection::Reject(const Status& why) {
  if (session_.handshake_done) {
    Fail(why);
  } else {
    Refuse(why);
  }
}

void Connection::Refuse(const Status& why) {
  if (closed_ || closing_) return;
  LOG(WARNING) << "refused connection from " << peer() << ": " << why.ToString();
  ServerCounters::Add(counters_->handshakes_refused, 1);
  ServerCounters::Add(counters_->connections_dropped, 1);
  closing_ = true;
  wire::AppendError(0, Status::InvalidArgument("handshake refused"), &out_);
  Flush();
}

void Connection::Close() {
  if (closed_) return;
  closed_ = true;
  handshake_timer_.cancel();
  stream_->Close();
  sink_->OnClosed(*this);
}

}  // namespace psrec::ps
