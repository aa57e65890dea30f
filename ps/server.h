// Server: one parameter server. It listens through ServerOptions::transport (by default TCP
// and Unix-domain sockets through Boost.Asio, wire/transport.h) on TCP and, unless
// ServerOptions::local_socket is false, on an abstract Unix-domain socket that the handshake
// reply advertises to workers on the same host. One io thread owns
// everything else: the accepted connections, the tables, the clocks. Every table operation
// runs on that thread, so each row has exactly one writer and no table needs a lock.
//
// Usage:
//   ServerOptions options;
//   options.job = job;  options.num_workers = 2;
//   ASSIGN_OR_RETURN(std::unique_ptr<Server> server, Server::Start(options));
//   ... workers dial server->port() ...
//   server->Stop();
//
// Failures: Start returns InvalidArgument for inconsistent options (no job secret among
// them) and Unavailable when the address cannot be bound. After Start, nothing a peer sends
// stops the server: a refused or late handshake (cluster.handshake_timeout_ms), a
// connection beyond cluster.max_connections or a malformed frame closes that peer's
// connection with one LOG(WARNING) naming the peer and the reason, counted in stats().
//
// Thread safety: port(), stats(), Stop() and RunOnTableThread() may be called from any
// thread except the server's own io thread. Stop() is idempotent and prompt: it closes the
// listener and every connection (parked pulls are dropped unanswered) and joins the thread;
// the destructor calls it.
#pragma once

#include "wire/metrics_http_server.h"

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include <boost/asio/io_context.hpp>

#include "common/status.h"
#include "ps/server_options.h"
#include "ps/server_stats.h"
#include "ps/shard_service.h"
#include "wire/transport.h"

namespace psrec::ps {

class Server {
 public:
  // Listening when it returns.
  static Result<std::unique_ptr<Server>> Start(const ServerOptions& options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  int port() const { return port_; }
  // The abstract socket name (without its leading NUL), or empty when not listening on one.
  const std::string& local_socket() const { return local_socket_; }
  int server_id() const { return options_.server_id; }
  void Stop();
  // The metrics endpoint's port, 0 when it is off.
  int metrics_port() const { return metrics_ ? metrics_->port() : 0; }
  ServerStats stats() const { return counters_.Snapshot(); }

  // Runs fn on the io thread, between two requests, with the tables (indexed by TableId,
  // null where not served), and waits for it. For checkpoints and tests. Returns Aborted
  // (without running fn) once the server is stopping.
  // REQUIRES: not called on the io thread (it would wait for itself).
  Status RunOnTableThread(const std::function<void(ServedTables& tables)>& fn);

 private:
  explicit Server(const ServerOptions& options);
  Status Listen();
  void Accept();
  // Listens on a fresh abstract socket name. Failing is not fatal: TCP serves everyone.
  void ListenLocal();
  void AcceptLocal();
  // Hands an accepted stream of either listener to a new Connection.
  void Serve(std::unique_ptr<wire::ByteStream> stream);
  // The metrics page (ps/server_metrics.h); on the metrics thread.
  std::string RenderMetrics();

  ServerOptions options_;
  ServerCounters counters_;
  boost::asio::io_context io_;
  std::unique_ptr<wire::Listener> listener_;        // TCP; io thread once started
  std::unique_ptr<wire::Listener> local_listener_;  // null when not listening locally
  std::string local_socket_;
  std::unique_ptr<ShardService> service_;  // used on the io thread only
  // GET /metrics when cluster.metrics_port is set (on metrics_port + server_id); its own
  // thread, which reads counters_ and asks the io thread for table sizes.
  std::unique_ptr<wire::MetricsHttpServer> metrics_;
  int port_ = 0;
  std::thread thread_;

  std::mutex stop_mu_;
  bool stopping_ = false;  // guarded by stop_mu_
};

}  // namespace psrec::ps
