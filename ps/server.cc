#include "ps/server.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <future>
#include <random>
#include <string>
#include <utility>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <glog/logging.h>

namespace psrec::ps {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

// Send buffer of a local socket (the kernel caps it at net.core.wmem_max, often 4 MB).
constexpr int kLocalSendBufferBytes = 4 << 20;

Status ValidateOptions(const ServerOptions& o) {
  if (o.num_servers < 1) return Status::InvalidArgument("num_servers must be >= 1");
  if (o.server_id < 0 || o.server_id >= o.num_servers) {
    return Status::InvalidArgument("server_id " + std::to_string(o.server_id) +
                                   " outside [0, " + std::to_string(o.num_servers) + ")");
  }
  if (o.num_workers < 1) return Status::InvalidArgument("num_workers must be >= 1");
  if (o.tables.empty()) return Status::InvalidArgument("no tables to serve (ServerOptions.tables)");
  if (o.port < 0 || o.port > 65535) {
    return Status::InvalidArgument("port " + std::to_string(o.port) + " outside 0..65535");
  }
  if (o.job.training().staleness() < 0) {
    return Status::InvalidArgument("training.staleness must be >= 0");
  }
  if (o.job.cluster().max_frame_bytes() < 1024) {
    return Status::InvalidArgument("cluster.max_frame_bytes must be >= 1024");
  }
  if (o.job.model().dim() < 1) return Status::InvalidArgument("model.dim must be >= 1");
  return Status::OK();
}

}  // namespace

Server::Server(const ServerOptions& options)
    : options_(options),
      acceptor_(io_),
      local_acceptor_(io_),
      service_(std::make_unique<ShardService>(
          options, &counters_,
          [this](std::function<void()> fn) { asio::post(io_, std::move(fn)); })) {}

Result<std::unique_ptr<Server>> Server::Start(const ServerOptions& options) {
  RETURN_IF_ERROR(ValidateOptions(options));
  std::unique_ptr<Server> server(new Server(options));
  if (!options.resume_from.empty()) {
    // Before listening: no worker can pull a row that is not loaded yet.
    RETURN_IF_ERROR(server->service_->LoadCheckpoint(options.resume_from)
                        .WithContext("server " + std::to_string(options.server_id) +
                                     ": resuming from " + options.resume_from));
  }
  RETURN_IF_ERROR(server->Listen());
  server->Accept();
  if (options.local_socket) server->ListenLocal();
  server->thread_ = std::thread([s = server.get()] { s->io_.run(); });
  LOG(INFO) << "server " << options.server_id << " of " << options.num_servers
            << " listening on " << options.bind_address << ":" << server->port_
            << (server->local_socket_.empty() ? "" : " and @" + server->local_socket_);
  return server;
}

Status Server::Listen() {
  boost::system::error_code ec;
  const asio::ip::address address = asio::ip::make_address(options_.bind_address, ec);
  if (ec) {
    return Status::InvalidArgument("bind address '" + options_.bind_address +
                                   "' is not an IP address: " + ec.message());
  }
  const tcp::endpoint endpoint(address, static_cast<unsigned short>(options_.port));
  const std::string where = options_.bind_address + ":" + std::to_string(options_.port);
  if (acceptor_.open(endpoint.protocol(), ec); ec) {
    return Status::Unavailable("cannot open a socket for " + where + ": " + ec.message());
  }
  acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
  if (acceptor_.bind(endpoint, ec); ec) {
    return Status::Unavailable("cannot bind " + where + ": " + ec.message());
  }
  if (acceptor_.listen(asio::socket_base::max_listen_connections, ec); ec) {
    return Status::Unavailable("cannot listen on " + where + ": " + ec.message());
  }
  port_ = acceptor_.local_endpoint(ec).port();
  if (ec) return Status::Unavailable("cannot read the port of " + where + ": " + ec.message());
  return Status::OK();
}

void Server::Accept() {
  acceptor_.async_accept([this](const boost::system::error_code& ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
    if (ec) {
      // Out of file descriptors and the like: keep serving the connections we have.
      LOG(WARNING) << "server " << options_.server_id << ": accept failed: " << ec.message();
    } else {
      boost::system::error_code ignored;
      socket.set_option(tcp::no_delay(true), ignored);  // replies are latency-bound
      const tcp::endpoint endpoint = socket.remote_endpoint(ignored);
      std::string peer = ignored ? "unknown peer"
                                 : endpoint.address().to_string() + ":" +
                                       std::to_string(endpoint.port());
      Serve(Connection::Socket(std::move(socket)), std::move(peer));
    }
    Accept();
  });
}

void Server::ListenLocal() {
  // The abstract namespace (leading NUL) leaves nothing on the file system and dies with
  // the process; the random part makes the name unguessable, so a worker that reaches it
  // has reached this server and nothing else.
  std::random_device random;
  const uint64_t nonce = (uint64_t{random()} << 32) | random();
  char name[80];
  std::snprintf(name, sizeof(name), "psrec-%d-s%d-%016" PRIx64, static_cast<int>(getpid()),
                options_.server_id, nonce);
  const asio::local::stream_protocol::endpoint endpoint(std::string(1, '\0') + name);
  boost::system::error_code ec;
  if (local_acceptor_.open(endpoint.protocol(), ec); !ec) local_acceptor_.bind(endpoint, ec);
  if (!ec) local_acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    LOG(WARNING) << "server " << options_.server_id << ": no local socket (" << ec.message()
                 << "); workers on this host use TCP";
    boost::system::error_code ignored;
    local_acceptor_.close(ignored);
    return;
  }
  local_socket_ = name;
  service_->AdvertiseLocalSocket(local_socket_);
  AcceptLocal();
}

void Server::AcceptLocal() {
  local_acceptor_.async_accept([this](const boost::system::error_code& ec,
                                      asio::local::stream_protocol::socket socket) {
    if (ec == asio::error::operation_aborted || !local_acceptor_.is_open()) return;
    if (ec) {
      LOG(WARNING) << "server " << options_.server_id
                   << ": accept on the local socket failed: " << ec.message();
    } else {
      // A Unix-domain stream's in-flight bytes are bounded by the sender's buffer alone;
      // the default (~200 KB) splits a large pull reply into many wake-ups of both ends.
      boost::system::error_code ignored;
      socket.set_option(asio::socket_base::send_buffer_size(kLocalSendBufferBytes), ignored);
      ucred cred{};
      socklen_t len = sizeof(cred);
      const bool known = getsockopt(socket.native_handle(), SOL_SOCKET, SO_PEERCRED, &cred,
                                    &len) == 0;
      std::string peer = known ? "local pid " + std::to_string(cred.pid) : "local peer";
      ServerCounters::Add(counters_.local_connections_accepted, 1);
      Serve(Connection::Socket(std::move(socket)), std::move(peer));
    }
    AcceptLocal();
  });
}

void Server::Serve(Connection::Socket socket, std::string peer) {
  ServerCounters::Add(counters_.connections_accepted, 1);
  auto conn = std::make_shared<Connection>(
      std::move(socket), std::move(peer), service_.get(),
      static_cast<size_t>(options_.job.cluster().max_frame_bytes()), &counters_);
  service_->AddConnection(conn);
  conn->Start();
}

Status Server::RunOnTableThread(const std::function<void(ServedTables& tables)>& fn) {
  CHECK(std::this_thread::get_id() != thread_.get_id())
      << "RunOnTableThread called on the server's io thread";
  std::promise<void> done;
  {
    // Posted under the lock, so it is queued before Stop's shutdown and runs before the
    // io thread exits.
    std::lock_guard<std::mutex> lock(stop_mu_);
    if (stopping_) return Status::Aborted("server is stopping");
    asio::post(io_, [&] {
      fn(service_->tables());
      done.set_value();
    });
  }
  done.get_future().wait();
  return Status::OK();
}

void Server::Stop() {
  {
    std::lock_guard<std::mutex> lock(stop_mu_);
    if (!stopping_) {
      stopping_ = true;
      asio::post(io_, [this] {
        boost::system::error_code ignored;
        acceptor_.close(ignored);
        local_acceptor_.close(ignored);
        service_->CloseAll();
      });
    }
  }
  // Closing cancels every pending operation, so run() returns as soon as their handlers
  // (which only note the cancellation) have run.
  if (thread_.joinable()) {
    CHECK(std::this_thread::get_id() != thread_.get_id()) << "Stop called on the io thread";
    thread_.join();
  }
}

Server::~Server() { Stop(); }

}  // namespace psrec::ps
