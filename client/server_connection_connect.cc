// ServerConnection: connecting, the handshake, and the move to the server's local
// (Unix-domain) socket. The traffic afterwards is in server_connection.cc.
#include <utility>

#include <boost/asio/connect.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <glog/logging.h>

#include "wire/frame_codec.h"
#include "wire/proto/wire.pb.h"
#include "client/server_connection.h"

namespace psrec::client {
namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

constexpr auto kFirstRetryDelay = std::chrono::milliseconds(10);
constexpr auto kMaxRetryDelay = std::chrono::milliseconds(200);
// Send buffer of a local socket: a Unix-domain stream's in-flight bytes are bounded by the
// sender's buffer alone, and the default (~200 KB) cuts a large push into many wake-ups.
// The kernel caps it at net.core.wmem_max.
constexpr int kLocalSendBufferBytes = 4 << 20;

std::string Ms(std::chrono::milliseconds ms) { return std::to_string(ms.count()) + " ms"; }

}  // namespace

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
  const tcp::resolver::results_type resolved =
      resolver.resolve(host, address_.substr(colon + 1), ec);
  if (ec) {
    FinishConnect(Status::InvalidArgument("cannot resolve address: " + ec.message()));
    return;
  }
  endpoints_.clear();
  for (const auto& entry : resolved) endpoints_.emplace_back(entry.endpoint());
  TryConnect();
}

void ServerConnection::TryConnect() {
  asio::async_connect(socket_, endpoints_, [this](boost::system::error_code ec,
                                                  const Socket::endpoint_type&) {
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
  if (local_) {
    socket_.set_option(asio::socket_base::send_buffer_size(kLocalSendBufferBytes), ec);
  } else {
    socket_.set_option(tcp::no_delay(true), ec);  // small requests must not wait for Nagle
  }
  wire::Handshake hello;
  hello.set_protocol_version(wire::kProtocolVersion);
  hello.set_job_id(options_.job_id);
  hello.set_token(options_.token);
  hello.set_worker_id(options_.worker_id);
  hello.set_num_workers(options_.num_workers);
  Enqueue([&](ByteBuffer* out) { wire::AppendHandshake(hello, out); });
  if (!local_) {
    // The handshake replies (TCP, then local) are due by the connect deadline.
    timer_.expires_at(connect_deadline_);
    timer_.async_wait([this](boost::system::error_code ec) {
      if (ec || handshaken_ || closed_) return;
      FinishConnect(Status::DeadlineExceeded("no handshake reply within " +
                                             Ms(options_.connect_timeout)));
    });
  }
  StartRead();
}

void ServerConnection::StartLocalConnect(const std::string& name) {
  // A moved-from socket has no executor left: give socket_ a fresh (closed) one.
  tcp_socket_ = std::move(socket_);
  socket_ = Socket(io_);
  const asio::local::stream_protocol::endpoint local(std::string(1, '\0') + name);
  socket_.async_connect(Socket::endpoint_type(local), [this](boost::system::error_code ec) {
    if (closed_) return;
    if (ec) {
      // Another host or network namespace: the name is not reachable from here.
      VLOG(1) << name_ << ": local socket unreachable (" << ec.message() << "); using TCP";
      boost::system::error_code ignored;
      socket_.close(ignored);
      socket_ = std::move(tcp_socket_);
      tcp_socket_ = Socket(io_);
      handshaken_ = true;
      timer_.cancel();
      FinishConnect(Status::OK());
      StartRead();
      return;
    }
    local_ = true;
    OnConnected();
  });
}

void ServerConnection::FinishConnect(const Status& status) {
  if (!connect_done_) return;
  auto done = std::move(connect_done_);
  connect_done_ = nullptr;
  if (!status.ok()) {
    Close();
  } else {
    std::lock_guard<std::mutex> lock(out_mu_);
    direct_fd_ = socket_.native_handle();
  }
  done(status);
}

Status ServerConnection::OnHandshakeFrame(wire::MessageType type, std::span<const uint8_t> body,
                                          bool* switched) {
  const char* where = local_ ? " on the local socket" : "";
  if (type == wire::MessageType::kError) {
    wire::Error error;
    RETURN_IF_ERROR(wire::DecodeControl(body, &error));
    return wire::StatusFromError(error).WithContext(std::string("refused the handshake") +
                                                    where);
  }
  if (type != wire::MessageType::kHandshakeReply) {
    return Status::Corruption(std::string("sent ") + wire::MessageTypeName(type) +
                              " before the handshake reply" + where);
  }
  wire::HandshakeReply reply;
  RETURN_IF_ERROR(wire::DecodeControl(body, &reply));
  if (reply.protocol_version() != wire::kProtocolVersion) {
    return Status::Corruption("speaks protocol version " +
                              std::to_string(reply.protocol_version()) + ", not " +
                              std::to_string(wire::kProtocolVersion));
  }
  if (reply.server_id() != server_id_) {
    return Status::InvalidArgument("says it is server " + std::to_string(reply.server_id()) +
                                   where);
  }
  if (reply.num_servers() != static_cast<int>(options_.servers.size())) {
    return Status::InvalidArgument("belongs to a job of " + std::to_string(reply.num_servers()) +
                                   " servers, not " + std::to_string(options_.servers.size()));
  }
  if (!local_ && options_.use_local_socket && !reply.local_socket().empty() &&
      reply.local_socket().size() < 100) {
    *switched = true;
    StartLocalConnect(reply.local_socket());
    return Status::OK();
  }
  handshaken_ = true;
  timer_.cancel();
  if (local_) {
    boost::system::error_code ignored;
    tcp_socket_.close(ignored);  // the server sees this worker's TCP connection end
    VLOG(1) << name_ << ": using the local socket";
  }
  FinishConnect(Status::OK());
  return Status::OK();
}

}  // namespace psrec::client
