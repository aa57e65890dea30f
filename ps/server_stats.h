// ServerStats: what a parameter server counts, for metrics lines and benchmarks.
// ServerCounters: the live counters, written by the server's io thread and read (as a
// ServerStats snapshot) from any thread; relaxed atomics, so a snapshot is not one instant
// but every field is a value the counter held.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <vector>

namespace psrec::ps {

struct ServerStats {
  uint64_t connections_accepted = 0;  // TCP and local
  uint64_t local_connections_accepted = 0;  // on the Unix-domain socket
  // Wrong proof (secret), version, job id or worker count, or anything but a Handshake first.
  uint64_t handshakes_refused = 0;
  uint64_t handshake_timeouts = 0;  // closed for not completing the handshake in time
  uint64_t connections_over_limit = 0;  // closed at once: cluster.max_connections were open
  // Closed by the server: refused handshake, malformed frame or protocol violation.
  uint64_t connections_dropped = 0;
  uint64_t requests = 0;             // frames handled after the handshake
  uint64_t pulls = 0;
  uint64_t pushes = 0;
  // Pushes acknowledged without being applied: a resend or a duplicated frame of a push
  // already accepted (ps/push_dedup.h).
  uint64_t duplicate_pushes = 0;
  uint64_t clocks = 0;
  uint64_t rows_pulled = 0;
  uint64_t rows_pushed = 0;
  uint64_t bytes_in = 0;
  uint64_t bytes_out = 0;
  uint64_t pulls_parked = 0;   // pulls that waited for the consistency model
  uint64_t blocked_us = 0;     // total time pulls were parked
  int64_t max_staleness = 0;   // max over answered pulls of (pull clock - slowest clock)
};

// Handling time of requests on the io thread, in fixed buckets (seconds), for the metrics
// endpoint. Observe is wait-free (relaxed atomics).
class LatencyHistogram {
 public:
  static constexpr std::array<double, 12> kUpperBounds = {
      1e-6, 4e-6, 16e-6, 64e-6, 256e-6, 1e-3, 4e-3, 16e-3, 64e-3, 0.256, 1, 4};
  void Observe(double seconds) {
    size_t i = 0;
    while (i < kUpperBounds.size() && seconds > kUpperBounds[i]) ++i;
    buckets_[i].fetch_add(1, std::memory_order_relaxed);
    sum_ns_.fetch_add(static_cast<uint64_t>(seconds * 1e9), std::memory_order_relaxed);
  }
  // Per bucket (not cumulative), the last one above every bound.
  std::vector<uint64_t> Counts() const {
    std::vector<uint64_t> out;
    for (const auto& b : buckets_) out.push_back(b.load(std::memory_order_relaxed));
    return out;
  }
  double SumSeconds() const { return sum_ns_.load(std::memory_order_relaxed) * 1e-9; }

 private:
  std::array<std::atomic<uint64_t>, kUpperBounds.size() + 1> buckets_{};
  std::atomic<uint64_t> sum_ns_{0};
};

class ServerCounters {
 public:
  static void Add(std::atomic<uint64_t>& c, uint64_t n) {
    c.fetch_add(n, std::memory_order_relaxed);
  }
  void RaiseMaxStaleness(int64_t s) {
    int64_t cur = max_staleness.load(std::memory_order_relaxed);
    while (s > cur && !max_staleness.compare_exchange_weak(cur, s, std::memory_order_relaxed)) {
    }
  }

  ServerStats Snapshot() const {
    auto get = [](const std::atomic<uint64_t>& c) { return c.load(std::memory_order_relaxed); };
    ServerStats s;
    s.connections_accepted = get(connections_accepted);
    s.local_connections_accepted = get(local_connections_accepted);
    s.handshakes_refused = get(handshakes_refused);
    s.handshake_timeouts = get(handshake_timeouts);
    s.connections_over_limit = get(connections_over_limit);
    s.connections_dropped = get(connections_dropped);
    s.requests = get(requests);
    s.pulls = get(pulls);
    s.pushes = get(pushes);
    s.duplicate_pushes = get(duplicate_pushes);
    s.clocks = get(clocks);
    s.rows_pulled = get(rows_pulled);
    s.rows_pushed = get(rows_pushed);
    s.bytes_in = get(bytes_in);
    s.bytes_out = get(bytes_out);
    s.pulls_parked = get(pulls_parked);
    s.blocked_us = get(blocked_us);
    s.max_staleness = max_staleness.load(std::memory_order_relaxed);
    return s;
  }

  std::atomic<uint64_t> connections_accepted{0};
  std::atomic<uint64_t> local_connections_accepted{0};
  std::atomic<uint64_t> handshakes_refused{0};
  std::atomic<uint64_t> handshake_timeouts{0};
  std::atomic<uint64_t> connections_over_limit{0};
  std::atomic<uint64_t> connections_dropped{0};
  std::atomic<uint64_t> requests{0};
  std::atomic<uint64_t> pulls{0};
  std::atomic<uint64_t> pushes{0};
  std::atomic<uint64_t> duplicate_pushes{0};
  std::atomic<uint64_t> clocks{0};
  std::atomic<uint64_t> rows_pulled{0};
  std::atomic<uint64_t> rows_pushed{0};
  std::atomic<uint64_t> bytes_in{0};
  std::atomic<uint64_t> bytes_out{0};
  std::atomic<uint64_t> pulls_parked{0};
  std::atomic<uint64_t> blocked_us{0};
  std::atomic<int64_t> max_staleness{0};
  // For the metrics endpoint only (not in ServerStats):
  std::atomic<int64_t> parked_now{0};      // pulls parked at this moment
  std::atomic<int64_t> slowest_clock{-1};  // of unfinished workers; -1 before any clock
  LatencyHistogram pull_latency, push_latency, clock_latency, checkpoint_latency;
};

}  // namespace psrec::ps
