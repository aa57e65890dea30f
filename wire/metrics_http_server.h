// MetricsHttpServer: a minimal HTTP/1.1 server for `GET /metrics` (Prometheus scrapes), on
// its own thread and io_context, so that a scrape never waits on or delays training or the
// parameter server's io thread. Each connection gets one response and is closed
// (Connection: close). A request is read up to kMaxRequestBytes (larger: 431) and within
// kRequestTimeout (else the connection is closed); GET or HEAD of /metrics (any query) is
// 200 with the page `render` returns, another path 404, another method 405, a malformed
// request line 400. At most kMaxConnections are served at once; more are closed at once.
//
// Thread safety: `render` is called on the server's thread, so it must be safe to call
// concurrently with whatever it reads (atomics, or a copy under a lock). port() and Stop()
// may be called from any thread but the server's own; the destructor calls Stop().
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "common/status.h"

namespace psrec::wire {

class MetricsHttpServer {
 public:
  static constexpr size_t kMaxRequestBytes = 8192;
  static constexpr std::chrono::seconds kRequestTimeout{5};
  static constexpr int kMaxConnections = 16;

  // Listens on address:port (port 0: the OS picks). Unavailable when it cannot bind.
  static Result<std::unique_ptr<MetricsHttpServer>> Start(const std::string& address, int port,
                                                          std::function<std::string()> render);
  ~MetricsHttpServer();
  MetricsHttpServer(const MetricsHttpServer&) = delete;
  MetricsHttpServer& operator=(const MetricsHttpServer&) = delete;

  int port() const;
  void Stop();

  class Impl;  // metrics_http_server.cc

 private:
  explicit MetricsHttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace psrec::wire
