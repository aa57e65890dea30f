// ServerConnection: connecting, the handshake, and the move to the server's local
// (Unix-domain) socket. The traffic afterwards is in server_connection.cc.
#include <charconv>
#include <utility>

#include <boost/asio/post.hpp>
#include <glog/logging.h>

#include "wire/frame_codec.h"
#include "wire/handshake_auth.h"
#include "wire/proto/wire.pb.h"
#include "client/server_connection.h"

namespace psrec::client {
namespace asio = boost::asio;

namespace {

constexpr auto kFirstRetryDelay = std::chrono::milliseconds(10);
constexpr auto kMaxRetryDelay = std::chrono::milliseconds(200);

std::string Ms(std::chrono::milliseconds ms) { return std::to_string(ms.count()) + " ms"; }

// "host:port" or "[v6]:port".
Result<wire::Endpoint> ParseAddress(const std::string& address) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == address.size()) {
    return Status::InvalidArgument("address is not host:port");
  }
  std::string host = address.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  uint16_t port = 0;
  const char* end = address.data() + address.size();
  const auto [at, ec] = std::from_chars(address.data() + colon + 1, end, port);
  if (ec != std::errc() || at != end) {
    return Status::InvalidArgument("address is not host:port (port '" +
                                   address.substr(colon + 1) + "')");
  }
  return wire::Endpoint::Tcp(std::move(host), port);
}

}  // namespace

void ServerConnection::StartConnect(Clock::time_point deadline,
                                    std::function<void(const Status&)> done) {
  connect_deadline_ = deadline;
  connect_done_ = std::move(done);
  Result<wire::Endpoint> endpoint = ParseAddress(address_);
  if (!endpoint.ok()) {
    FinishConnect(endpoint.status());
    return;
  }
  endpoint_ = std::move(endpoint).value();
  TryConnect();
}

void ServerConnection::TryConnect() {
  Result<std::unique_ptr<wire::ByteStream>> dialed = options_.transport->Dial(
      io_, endpoint_, [this](const boost::system::error_code& ec, size_t) {
        if (closed_) return;
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
  if (!dialed.ok()) {
    FinishConnect(dialed.status());
    return;
  }
  // The previous attempt's stream (if any) failed and has no operation in flight.
  stream_ = std::move(dialed).value();
}

void ServerConnection::OnConnected() {
  // The server speaks first (its challenge); this worker answers in OnHandshakeFrame.
  server_nonce_.clear();
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

Status ServerConnection::AnswerChallenge(std::span<const uint8_t> body) {
  wire::HandshakeChallenge challenge;
  RETURN_IF_ERROR(wire::DecodeControl(body, &challenge));
  if (challenge.protocol_version() != wire::kProtocolVersion) {
    return Status::Corruption("speaks protocol version " +
                              std::to_string(challenge.protocol_version()) + ", not " +
                              std::to_string(wire::kProtocolVersion));
  }
  if (challenge.server_nonce().size() != wire::kNonceBytes) {
    return Status::Corruption("sent a challenge without a proper nonce");
  }
  ASSIGN_OR_RETURN(std::string client_nonce, wire::RandomBytes(wire::kNonceBytes));
  server_nonce_ = challenge.server_nonce();
  hello_.Clear();
  hello_.set_protocol_version(wire::kProtocolVersion);
  hello_.set_job_id(options_.job_id);
  hello_.set_worker_id(options_.worker_id);
  hello_.set_num_workers(options_.num_workers);
  hello_.set_client_nonce(std::move(client_nonce));
  hello_.set_client_session(session_);
  hello_.set_proof(wire::WorkerProof(options_.secret, server_nonce_, hello_));
  Enqueue([&](ByteBuffer* out) { wire::AppendHandshake(hello_, out); });
  return Status::OK();
}

Status ServerConnection::CheckReply(const wire::HandshakeReply& reply) const {
  const char* where = local_ ? " on the local socket" : "";
  if (reply.protocol_version() != wire::kProtocolVersion) {
    return Status::Corruption("speaks protocol version " +
                              std::to_string(reply.protocol_version()) + ", not " +
                              std::to_string(wire::kProtocolVersion));
  }
  // Before anything the reply says is believed: only a holder of the job secret can
  // have written it, for this connection's nonces.
  if (!wire::ProofMatches(wire::ServerProof(options_.secret, server_nonce_, hello_, reply),
                          reply.proof())) {
    return Status::InvalidArgument(std::string("cannot prove it belongs to this job (another "
                                               "job's server, or another secret)") +
                                   where);
  }
  if (reply.server_id() != server_id_) {
    return Status::InvalidArgument("says it is server " + std::to_string(reply.server_id()) +
                                   where);
  }
  if (reply.num_servers() != static_cast<int>(options_.servers.size())) {
    return Status::InvalidArgument("belongs to a job of " + std::to_string(reply.num_servers()) +
                                   " servers, not " + std::to_string(options_.servers.size()));
  }
  return Status::OK();
}

void ServerConnection::StartLocalConnect(const std::string& name) {
  Result<std::unique_ptr<wire::ByteStream>> dialed = options_.transport->Dial(
      io_, wire::Endpoint::Local(name), [this](const boost::system::error_code& ec, size_t) {
        if (closed_) return;
        if (ec) {
          // Another host or network namespace: the name is not reachable from here.
          VLOG(1) << name_ << ": local socket unreachable (" << ec.message() << "); using TCP";
          UseTcp();
          return;
        }
        local_ = true;
        OnConnected();
      });
  tcp_stream_ = std::move(stream_);
  if (!dialed.ok()) {
    VLOG(1) << name_ << ": no local socket (" << dialed.status().message() << "); using TCP";
    // Not from here: the caller is still handling the TCP stream's read.
    asio::post(io_, [this] {
      if (!closed_) UseTcp();
    });
    return;
  }
  stream_ = std::move(dialed).value();
}

void ServerConnection::UseTcp() {
  // The failed local stream (if any) has nothing in flight.
  if (stream_) stream_->Close();
  stream_ = std::move(tcp_stream_);
  handshaken_ = true;
  timer_.cancel();
  FinishConnect(Status::OK());
  StartRead();
}

void ServerConnection::FinishConnect(const Status& status) {
  if (!connect_done_) return;
  auto done = std::move(connect_done_);
  connect_done_ = nullptr;
  if (!status.ok()) {
    Close();
  } else {
    std::lock_guard<std::mutex> lock(out_mu_);
    direct_ = stream_.get();
  }
  done(status);
}

Status ServerConnection::OnHandshakeFrame(wire::MessageType type, std::span<const uint8_t> body,
                                          bool* switched) {
  const char* where = local_ ? " on the local socket" : "";
  if (type == wire::MessageType::kError) {
    wire::Error error;
    RETURN_IF_ERROR(wire::DecodeControl(body, &error));
    // The server says "handshake refused" and no more; its log has the reason.
    const Status refused = wire::StatusFromError(error);
    return local_ ? refused.WithContext("on the local socket") : refused;
  }
  if (type == wire::MessageType::kHandshakeChallenge && server_nonce_.empty()) {
    return AnswerChallenge(body);
  }
  if (type != wire::MessageType::kHandshakeReply || server_nonce_.empty()) {
    return Status::Corruption(std::string("sent ") + wire::MessageTypeName(type) +
                              " out of turn in the handshake" + where);
  }
  wire::HandshakeReply reply;
  RETURN_IF_ERROR(wire::DecodeControl(body, &reply));
  RETURN_IF_ERROR(CheckReply(reply));
  if (!local_ && options_.use_local_socket && !reply.local_socket().empty() &&
      reply.local_socket().size() < 100) {
    *switched = true;
    StartLocalConnect(reply.local_socket());
    return Status::OK();
  }
  handshaken_ = true;
  timer_.cancel();
  if (local_) {
    tcp_stream_->Close();  // the server sees this worker's TCP connection end
    VLOG(1) << name_ << ": using the local socket";
  }
  FinishConnect(Status::OK());
  return Status::OK();
}

}  // namespace psrec::client
