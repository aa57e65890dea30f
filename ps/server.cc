#include "ps/server.h"

#include "ps/server_metrics.h"

#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <future>
#include <random>
#include <string>
#include <utility>

#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>
#include <glog/logging.h>

namespace psrec::ps {

namespace asio = boost::asio;

namespace {

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
  if (o.transport == nullptr) return Status::InvalidArgument("no transport");
  if (o.secret.empty()) {
    return Status::InvalidArgument("no job secret: every server needs one (cluster.token, "
                                   "cluster.token_file, or one drawn by psrec train / sim)");
  }
  if (o.job.cluster().handshake_timeout_ms() < 1) {
    return Status::InvalidArgument("cluster.handshake_timeout_ms must be >= 1");
  }
  if (o.job.cluster().max_connections() != 0 &&
      o.job.cluster().max_connections() < 2 * o.num_workers) {
    return Status::InvalidArgument(
        "cluster.max_connections " + std::to_string(o.job.cluster().max_connections()) +
        " is below 2 x " + std::to_string(o.num_workers) +
        " workers (each holds two connections while it moves to the local socket)");
  }
  return Status::OK();
}

}  // namespace

Server::Server(const ServerOptions& options)
    : options_(options),
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
  } else if (options.initial_rows) {
    RETURN_IF_ERROR(server->service_->LoadInitialRows().WithContext(
        "server " + std::to_string(options.server_id) + ": initial rows"));
  }
  RETURN_IF_ERROR(server->Listen());
  server->Accept();
  if (options.local_socket) server->ListenLocal();
  server->thread_ = std::thread([s = server.get()] { s->io_.run(); });
  if (const int base = options.job.cluster().metrics_port(); base != 0) {
    Result<std::unique_ptr<wire::MetricsHttpServer>> metrics = wire::MetricsHttpServer::Start(
        options.bind_address, base + options.server_id,
        [s = server.get()] { return s->RenderMetrics(); });
    if (!metrics.ok()) {
      server->Stop();
      return metrics.status().WithContext("server " + std::to_string(options.server_id));
    }
    server->metrics_ = std::move(*metrics);
    LOG(INFO) << "server " << options.server_id << " metrics on http://"
              << options.bind_address << ":" << server->metrics_->port() << "/metrics";
  }
  LOG(INFO) << "server " << options.server_id << " of " << options.num_servers
            << " listening on " << options.bind_address << ":" << server->port_
            << (server->local_socket_.empty() ? "" : " and @" + server->local_socket_);
  return server;
}

Status Server::Listen() {
  ASSIGN_OR_RETURN(listener_,
                   options_.transport->Listen(
                       io_, wire::Endpoint::Tcp(options_.bind_address,
                                                static_cast<uint16_t>(options_.port))));
  port_ = listener_->endpoint().port;
  return Status::OK();
}

void Server::Accept() {
  listener_->AsyncAccept([this](const boost::system::error_code& ec,
                                std::unique_ptr<wire::ByteStream> stream) {
    if (ec == asio::error::operation_aborted || !listener_->is_open()) return;
    if (ec) {
      // Out of file descriptors and the like: keep serving the connections we have.
      LOG(WARNING) << "server " << options_.server_id << ": accept failed: " << ec.message();
    } else {
      Serve(std::move(stream));
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
  Result<std::unique_ptr<wire::Listener>> listener =
      options_.transport->Listen(io_, wire::Endpoint::Local(name));
  if (!listener.ok()) {
    LOG(WARNING) << "server " << options_.server_id << ": no local socket ("
                 << listener.status().message() << "); workers on this host use TCP";
    return;
  }
  local_listener_ = std::move(listener).value();
  local_socket_ = name;
  service_->AdvertiseLocalSocket(local_socket_);
  AcceptLocal();
}

void Server::AcceptLocal() {
  local_listener_->AsyncAccept([this](const boost::system::error_code& ec,
                                      std::unique_ptr<wire::ByteStream> stream) {
    if (ec == asio::error::operation_aborted || !local_listener_->is_open()) return;
    if (ec) {
      LOG(WARNING) << "server " << options_.server_id
                   << ": accept on the local socket failed: " << ec.message();
    } else {
      ServerCounters::Add(counters_.local_connections_accepted, 1);
      Serve(std::move(stream));
    }
    AcceptLocal();
  });
}

void Server::Serve(std::unique_ptr<wire::ByteStream> stream) {
  ServerCounters::Add(counters_.connections_accepted, 1);
  const config::ClusterConfig& cluster = options_.job.cluster();
  const size_t max_connections =
      cluster.max_connections() > 0 ? static_cast<size_t>(cluster.max_connections())
                                    : 2 * static_cast<size_t>(options_.num_workers) + 64;
  if (service_->num_connections() >= max_connections) {
    LOG(WARNING) << "server " << options_.server_id << ": refused connection from "
                 << stream->peer() << ": " << max_connections
                 << " connections are open (cluster.max_connections)";
    ServerCounters::Add(counters_.connections_over_limit, 1);
    stream->Close();
    return;
  }
  auto conn = std::make_shared<Connection>(io_, std::move(stream), service_.get(),
                                           static_cast<size_t>(cluster.max_frame_bytes()),
                                           &counters_);
  if (!service_->AddConnection(conn)) {
    conn->Close();
    return;
  }
  conn->Start(std::chrono::milliseconds(cluster.handshake_timeout_ms()));
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
  // First: a scrape may be waiting on the io thread (RenderMetrics).
  if (metrics_) metrics_->Stop();
  {
    std::lock_guard<std::mutex> lock(stop_mu_);
    if (!stopping_) {
      stopping_ = true;
      asio::post(io_, [this] {
        if (listener_) listener_->Close();
        if (local_listener_) local_listener_->Close();
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

std::string Server::RenderMetrics() {
  std::vector<std::pair<std::string, size_t>> rows;
  // Table sizes change on the io thread only; asked for between two requests. Empty once
  // the server is stopping.
  Status asked = RunOnTableThread([&](ServedTables& tables) {
    for (size_t t = 0; t < tables.size() && t < options_.tables.size(); ++t) {
      if (tables[t] != nullptr) rows.emplace_back(options_.tables[t].name, tables[t]->size());
    }
  });
  (void)asked;
  return RenderServerMetrics(options_.server_id, counters_, rows);
}

Server::~Server() { Stop(); }

}  // namespace psrec::ps
