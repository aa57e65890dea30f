#include "wire/asio_transport.h"

#include <sys/socket.h>

#include <string>
#include <utility>
#include <vector>

#include <boost/asio/buffer.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/write.hpp>

namespace psrec::wire {

namespace asio = boost::asio;
using asio::ip::tcp;
using Socket = asio::generic::stream_protocol::socket;

std::string Endpoint::ToString() const {
  if (kind == Kind::kLocal) return "@" + name;
  return (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" +
         std::to_string(port);
}

namespace {

// Socket options by kind (see the header); failing to set one only costs speed.
void Tune(Socket& socket, Endpoint::Kind kind) {
  boost::system::error_code ignored;
  if (kind == Endpoint::Kind::kTcp) {
    socket.set_option(tcp::no_delay(true), ignored);
  } else {
    socket.set_option(asio::socket_base::send_buffer_size(AsioTransport::kLocalSendBufferBytes),
                      ignored);
  }
}

class AsioStream final : public ByteStream {
 public:
  // The socket is shared with a connect handler, which may run after the stream is gone.
  AsioStream(std::shared_ptr<Socket> socket, std::string peer)
      : socket_(std::move(socket)), peer_(std::move(peer)) {}
  ~AsioStream() override { Close(); }

  void AsyncReadSome(std::span<uint8_t> into, IoHandler done) override {
    socket_->async_read_some(asio::buffer(into.data(), into.size()), std::move(done));
  }
  void AsyncWrite(std::span<const uint8_t> bytes, IoHandler done) override {
    asio::async_write(*socket_, asio::buffer(bytes.data(), bytes.size()), std::move(done));
  }
  size_t TryWriteNow(std::span<const uint8_t> bytes) override {
    if (!socket_->is_open()) return 0;
    const ssize_t n = ::send(socket_->native_handle(), bytes.data(), bytes.size(),
                             MSG_DONTWAIT | MSG_NOSIGNAL);
    return n > 0 ? static_cast<size_t>(n) : 0;
  }
  void Close() override {
    boost::system::error_code ignored;
    socket_->shutdown(Socket::shutdown_both, ignored);
    socket_->close(ignored);
  }
  const std::string& peer() const override { return peer_; }

 private:
  std::shared_ptr<Socket> socket_;
  std::string peer_;
};

// Listens on one endpoint of either kind; Acceptor is tcp::acceptor or the local one.
template <typename Acceptor>
class AsioListener final : public Listener {
 public:
  AsioListener(asio::io_context& io, Endpoint endpoint)
      : acceptor_(io), endpoint_(std::move(endpoint)) {}
  ~AsioListener() override { Close(); }

  const Endpoint& endpoint() const override { return endpoint_; }
  Endpoint& mutable_endpoint() { return endpoint_; }
  Acceptor& acceptor() { return acceptor_; }

  void AsyncAccept(AcceptHandler done) override {
    acceptor_.async_accept([this, done = std::move(done)](
                               const boost::system::error_code& ec,
                               typename Acceptor::protocol_type::socket socket) {
      if (ec) {
        done(ec, nullptr);
        return;
      }
      std::string peer = PeerName(socket);
      auto generic = std::make_shared<Socket>(std::move(socket));
      Tune(*generic, endpoint_.kind);
      done(ec, std::make_unique<AsioStream>(std::move(generic), std::move(peer)));
    });
  }
  void Close() override {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
  }
  bool is_open() const override { return acceptor_.is_open(); }

 private:
  static std::string PeerName(tcp::socket& socket) {
    boost::system::error_code ec;
    const tcp::endpoint remote = socket.remote_endpoint(ec);
    return ec ? "unknown peer" : remote.address().to_string() + ":" + std::to_string(remote.port());
  }
  static std::string PeerName(asio::local::stream_protocol::socket& socket) {
    ucred cred{};
    socklen_t len = sizeof(cred);
    const bool known =
        getsockopt(socket.native_handle(), SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0;
    return known ? "local pid " + std::to_string(cred.pid) : "local peer";
  }

  Acceptor acceptor_;
  Endpoint endpoint_;
};

Result<std::unique_ptr<Listener>> ListenTcp(asio::io_context& io, const Endpoint& at) {
  boost::system::error_code ec;
  const asio::ip::address address = asio::ip::make_address(at.host, ec);
  if (ec) {
    return Status::InvalidArgument("bind address '" + at.host +
                                   "' is not an IP address: " + ec.message());
  }
  const tcp::endpoint endpoint(address, at.port);
  const std::string where = at.ToString();
  auto listener = std::make_unique<AsioListener<tcp::acceptor>>(io, at);
  tcp::acceptor& acceptor = listener->acceptor();
  if (acceptor.open(endpoint.protocol(), ec); ec) {
    return Status::Unavailable("cannot open a socket for " + where + ": " + ec.message());
  }
  acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (acceptor.bind(endpoint, ec); ec) {
    return Status::Unavailable("cannot bind " + where + ": " + ec.message());
  }
  if (acceptor.listen(asio::socket_base::max_listen_connections, ec); ec) {
    return Status::Unavailable("cannot listen on " + where + ": " + ec.message());
  }
  listener->mutable_endpoint().port = acceptor.local_endpoint(ec).port();
  if (ec) return Status::Unavailable("cannot read the port of " + where + ": " + ec.message());
  return std::unique_ptr<Listener>(std::move(listener));
}

Result<std::unique_ptr<Listener>> ListenLocal(asio::io_context& io, const Endpoint& at) {
  using Local = asio::local::stream_protocol;
  const Local::endpoint endpoint(std::string(1, '\0') + at.name);
  auto listener = std::make_unique<AsioListener<Local::acceptor>>(io, at);
  Local::acceptor& acceptor = listener->acceptor();
  boost::system::error_code ec;
  if (acceptor.open(endpoint.protocol(), ec); !ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return Status::Unavailable("cannot listen on " + at.ToString() + ": " + ec.message());
  return std::unique_ptr<Listener>(std::move(listener));
}

}  // namespace

Result<std::unique_ptr<Listener>> AsioTransport::Listen(asio::io_context& io,
                                                        const Endpoint& at) {
  return at.kind == Endpoint::Kind::kTcp ? ListenTcp(io, at) : ListenLocal(io, at);
}

Result<std::unique_ptr<ByteStream>> AsioTransport::Dial(asio::io_context& io, const Endpoint& to,
                                                        IoHandler connected) {
  auto socket = std::make_shared<Socket>(io);
  const Endpoint::Kind kind = to.kind;
  // Options can be set only once the socket is open, that is connected (a TCP connect may
  // reopen it for each address it tries).
  auto on_connected = [socket, kind, done = std::move(connected)](
                          const boost::system::error_code& ec) mutable {
    if (!ec) Tune(*socket, kind);
    done(ec, 0);
  };
  if (kind == Endpoint::Kind::kLocal) {
    const asio::local::stream_protocol::endpoint local(std::string(1, '\0') + to.name);
    socket->async_connect(Socket::endpoint_type(local), std::move(on_connected));
  } else {
    boost::system::error_code ec;
    tcp::resolver resolver(io);
    const tcp::resolver::results_type resolved =
        resolver.resolve(to.host, std::to_string(to.port), ec);
    if (ec) return Status::InvalidArgument("cannot resolve address: " + ec.message());
    std::vector<Socket::endpoint_type> endpoints;
    for (const auto& entry : resolved) endpoints.emplace_back(entry.endpoint());
    asio::async_connect(*socket, std::move(endpoints),
                        [on_connected = std::move(on_connected)](
                            const boost::system::error_code& ec,
                            const Socket::endpoint_type&) mutable { on_connected(ec); });
  }
  return std::unique_ptr<ByteStream>(std::make_unique<AsioStream>(socket, to.ToString()));
}

Transport* Transport::Default() {
  static AsioTransport* const transport = new AsioTransport();
  return transport;
}

}  // namespace psrec::wire
