#include "wire/metrics_http_server.h"

#include <atomic>
#include <thread>

#include <boost/asio.hpp>

#include "common/prometheus_text.h"

namespace psrec::wire {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

std::string Response(int code, const char* reason, const char* content_type,
                     const std::string& body, bool head) {
  std::string out = "HTTP/1.1 " + std::to_string(code) + " " + reason + "\r\n";
  out += std::string("Content-Type: ") + content_type + "\r\n";
  out += "Content-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n";
  if (!head) out += body;
  return out;
}

}  // namespace

class MetricsHttpServer::Impl {
 public:
  Impl(std::function<std::string()> render) : render_(std::move(render)), acceptor_(io_) {}

  Status Listen(const std::string& address, int port) {
    boost::system::error_code ec;
    const asio::ip::address ip = asio::ip::make_address(address, ec);
    if (ec) return Status::InvalidArgument("metrics endpoint: bad address " + address);
    tcp::endpoint endpoint(ip, static_cast<unsigned short>(port));
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      return Status::Unavailable("metrics endpoint: cannot listen on " + address + ":" +
                                 std::to_string(port) + ": " + ec.message());
    }
    port_ = acceptor_.local_endpoint().port();
    Accept();
    thread_ = std::thread([this] { io_.run(); });
    return Status::OK();
  }

  void Stop() {
    if (!thread_.joinable()) return;
    asio::post(io_, [this] {
      boost::system::error_code ignored;
      acceptor_.close(ignored);
      io_.stop();
    });
    thread_.join();
  }

  int port() const { return port_; }

 private:
  struct Exchange {
    explicit Exchange(asio::io_context& io) : socket(io), timer(io),
                                              request(kMaxRequestBytes) {}
    tcp::socket socket;
    asio::steady_timer timer;
    asio::streambuf request;
    std::string response;
  };

  void Accept() {
    acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket socket) {
      if (ec == asio::error::operation_aborted) return;
      if (!ec) {
        if (open_ >= kMaxConnections) {
          boost::system::error_code ignored;
          socket.close(ignored);
        } else {
          Serve(std::move(socket));
        }
      }
      Accept();
    });
  }

  void Serve(tcp::socket socket) {
    auto exchange = std::make_shared<Exchange>(io_);
    exchange->socket = std::move(socket);
    ++open_;
    exchange->timer.expires_after(kRequestTimeout);
    exchange->timer.async_wait([exchange](boost::system::error_code ec) {
      if (!ec) {
        boost::system::error_code ignored;
        exchange->socket.close(ignored);
      }
    });
    asio::async_read_until(
        exchange->socket, exchange->request, "\r\n\r\n",
        [this, exchange](boost::system::error_code ec, size_t) {
          if (ec && ec != asio::error::not_found) return Done(exchange);
          exchange->response = ec ? Response(431, "Request Header Fields Too Large",
                                             "text/plain", "request too large\n", false)
                                  : Answer(exchange->request);
          asio::async_write(exchange->socket, asio::buffer(exchange->response),
                            [this, exchange](boost::system::error_code, size_t) {
                              Done(exchange);
                            });
        });
  }

  void Done(const std::shared_ptr<Exchange>& exchange) {
    boost::system::error_code ignored;
    exchange->timer.cancel();
    exchange->socket.shutdown(tcp::socket::shutdown_both, ignored);
    exchange->socket.close(ignored);
    --open_;
  }

  std::string Answer(asio::streambuf& request) {
    std::istream in(&request);
    std::string method, target, version;
    in >> method >> target >> version;
    if (method.empty() || target.empty() || version.rfind("HTTP/1.", 0) != 0) {
      return Response(400, "Bad Request", "text/plain", "bad request\n", false);
    }
    const bool head = method == "HEAD";
    if (method != "GET" && !head) {
      return Response(405, "Method Not Allowed", "text/plain", "GET /metrics only\n", false);
    }
    if (target.substr(0, target.find('?')) != "/metrics") {
      return Response(404, "Not Found", "text/plain", "see /metrics\n", head);
    }
    return Response(200, "OK", kPrometheusContentType, render_(), head);
  }

  std::function<std::string()> render_;
  asio::io_context io_;
  tcp::acceptor acceptor_;
  std::thread thread_;
  int port_ = 0;
  int open_ = 0;  // io thread only
};

Result<std::unique_ptr<MetricsHttpServer>> MetricsHttpServer::Start(
    const std::string& address, int port, std::function<std::string()> render) {
  auto impl = std::make_unique<Impl>(std::move(render));
  RETURN_IF_ERROR(impl->Listen(address, port));
  return std::unique_ptr<MetricsHttpServer>(new MetricsHttpServer(std::move(impl)));
}

MetricsHttpServer::MetricsHttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
MetricsHttpServer::~MetricsHttpServer() { Stop(); }
int MetricsHttpServer::port() const { return impl_->port(); }
void MetricsHttpServer::Stop() { impl_->Stop(); }

}  // namespace psrec::wire
