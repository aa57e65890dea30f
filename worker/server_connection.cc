#include "worker/server_connection.h"

#include <algorithm>
#include <utility>

#include <boost/asio/connect.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <glog/logging.h>

#include "common/frame_codec.h"
#include "common/proto/wire.pb.h"

namespace psrec::worker {
namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

constexpr auto kFirstRetryDelay = std::chrono::milliseconds(10);
constexpr auto kMaxRetryDelay = std::chrono::milliseconds(200);

std::string Ms(std::chrono::milliseconds ms) { return std::to_string(ms.count()) + " ms"; }

}  // namespace

ServerConnection::ServerConnection(asio::io_context& io, int server_id,
                                   const PsClientOptions& options, FrameHandler on_frame,
                                   FailureHandler on_failure)
    : io_(io),
      options_(options),
      server_id_(server_id),
      address_(options.servers[static_cast<size_t>(server_id)]),
      name_("server " + std::to_string(server_id) + " (" + address_ + ")"),
      on_frame_(std::move(on_frame)),
      on_failure_(std::move(on_failure)),
      socket_(io),
      timer_(io),
      pacer_(options.faults) {}

void ServerConnection::StartConnect(Clock::time_point deadline,
                                    std::function<void(const Status&)> done) {
  connect_deadline_ = deadline;
  connect_done_ = std::move(done);
  const size_t colon = address_.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == address_.size()) {
    FinishConnect(Status::InvalidArgument("address is not host:port"));
    return;
  }
  std::string host = address_.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);  // [v6]:port
  }
  boost::system::error_code ec;
  tcp::resolver resolver(io_);
  endpoints_ = resolver.resolve(host, address_.substr(colon + 1), ec);
  if (ec) {
    FinishConnect(Status::InvalidArgument("cannot resolve address: " + ec.message()));
    return;
  }
  TryConnect();
}

void ServerConnection::TryConnect() {
  asio::async_connect(socket_, endpoints_, [this](boost::system::error_code ec,
                                                  const tcp::endpoint&) {
    if (!ec) {
      OnConnected();
      return;
    }
    // Back off while the server starts, but never sleep past the deadline.
    const Clock::time_point now = Clock::now();
    if (now >= connect_deadline_) {
      FinishConnect(Status::Unavailable("cannot connect within " +
                                        Ms(options_.connect_timeout) + ": " + ec.message()));
      return;
    }
    retry_delay_ = retry_delay_ == Clock::duration{}
                       ? Clock::duration(kFirstRetryDelay)
                       : std::min<Clock::duration>(retry_delay_ * 2, kMaxRetryDelay);
    timer_.expires_at(std::min(connect_deadline_, now + retry_delay_));
    timer_.async_wait([this](boost::system::error_code wait_ec) {
      if (!wait_ec && !closed_) TryConnect();
    });
  });
}

void ServerConnection::OnConnected() {
  boost::system::error_code ec;
  socket_.set_option(tcp::no_delay(true), ec);  // small requests must not wait for Nagle
  wire::Handshake hello;
  hello.set_protocol_version(wire::kProtocolVersion);
  hello.set_job_id(options_.job_id);
  hello.set_token(options_.token);
  hello.set_worker_id(options_.worker_id);
  hello.set_num_workers(options_.num_workers);
  Enqueue([&](ByteBuffer* out) { wire::AppendHandshake(hello, out); });
  // The handshake reply is due by the connect deadline.
  timer_.expires_at(connect_deadline_);
  timer_.async_wait([this](boost::system::error_code ec) {
    if (ec || handshaken_ || closed_) return;
    FinishConnect(Status::DeadlineExceeded("no handshake reply within " +
                                           Ms(options_.connect_timeout)));
  });
  StartRead();
}

void ServerConnection::FinishConnect(const Status& status) {
  if (!connect_done_) return;
  auto done = std::move(connect_done_);
  connect_done_ = nullptr;
  if (!status.ok()) Close();
  done(status);
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
  const size_t room = inbox_.capacity() - inbox_.size();
  socket_.async_read_some(
      asio::buffer(inbox_.data() + inbox_.size(), room),
      [this](boost::system::error_code ec, size_t bytes) {
        if (closed_) return;
        if (ec) {
          Fail(ec == asio::error::eof
                   ? Status::Unavailable("connection closed by the server")
                   : Status::Unavailable("connection lost: " + ec.message()));
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
      want = frame;
      break;
    }
    std::span<const uint8_t> body(inbox_.data() + at + wire::kFrameHeaderBytes,
                                  header->body_bytes);
    Status status;
    if (handshaken_) {
      status = on_frame_(header->type, body);
    } else if (header->type == wire::MessageType::kHandshakeReply) {
      wire::HandshakeReply reply;
      status = wire::DecodeControl(body, &reply);
      if (status.ok() && reply.protocol_version() != wire::kProtocolVersion) {
        status = Status::Corruption("speaks protocol version " +
                                    std::to_string(reply.protocol_version()) + ", not " +
                                    std::to_string(wire::kProtocolVersion));
      } else if (status.ok() && reply.server_id() != server_id_) {
        status = Status::InvalidArgument("says it is server " +
                                         std::to_string(reply.server_id()));
      } else if (status.ok() && reply.num_servers() != static_cast<int>(options_.servers.size())) {
        status = Status::InvalidArgument(
            "belongs to a job of " + std::to_string(reply.num_servers()) + " servers, not " +
            std::to_string(options_.servers.size()));
      }
      if (status.ok()) {
        handshaken_ = true;
        timer_.cancel();
        FinishConnect(Status::OK());
      }
    } else if (header->type == wire::MessageType::kError) {
      wire::Error error;
      status = wire::DecodeControl(body, &error);
      if (status.ok()) status = wire::StatusFromError(error).WithContext("refused the handshake");
    } else {
      status = Status::Corruption(std::string("sent ") + wire::MessageTypeName(header->type) +
                                  " before the handshake reply");
    }
    if (!status.ok()) {
      Fail(status);
      return;
    }
    if (closed_) return;  // a handler closed us
    at += frame;
  }
  inbox_.Consume(at);
  if (want > 0) inbox_.Reserve(want);  // read the rest of a large frame in place
  StartRead();
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
  boost::system::error_code ec;
  timer_.cancel();
  socket_.shutdown(tcp::socket::shutdown_both, ec);
  socket_.close(ec);
}

}  // namespace psrec::worker
