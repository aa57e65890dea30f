#include "ps/server_metrics.h"

#include "common/prometheus_text.h"

namespace psrec::ps {

std::string RenderServerMetrics(int server_id, const ServerCounters& counters,
                                const std::vector<std::pair<std::string, size_t>>& rows) {
  const ServerStats s = counters.Snapshot();
  const PrometheusLabels server = {{"server", std::to_string(server_id)}};
  PrometheusText page;
  auto counter = [&](const char* name, const char* help, double value) {
    page.Counter(name, help, value, server);
  };
  for (const auto& [table, count] : rows) {
    page.Gauge("psrec_server_table_rows", "Rows of the table held by this server",
               static_cast<double>(count), {server[0], {"table", table}});
  }
  counter("psrec_server_requests_total", "Requests handled after the handshake",
          static_cast<double>(s.requests));
  counter("psrec_server_pulls_total", "Pull requests", static_cast<double>(s.pulls));
  counter("psrec_server_pushes_total", "Push requests", static_cast<double>(s.pushes));
  counter("psrec_server_clocks_total", "Clock messages", static_cast<double>(s.clocks));
  counter("psrec_server_rows_pulled_total", "Rows sent in pull replies",
          static_cast<double>(s.rows_pulled));
  counter("psrec_server_rows_pushed_total", "Rows received in pushes",
          static_cast<double>(s.rows_pushed));
  counter("psrec_server_received_bytes_total", "Bytes received from workers",
          static_cast<double>(s.bytes_in));
  counter("psrec_server_sent_bytes_total", "Bytes sent to workers",
          static_cast<double>(s.bytes_out));
  counter("psrec_server_pulls_parked_total",
          "Pulls that waited for the consistency model (BSP/SSP)",
          static_cast<double>(s.pulls_parked));
  counter("psrec_server_pull_blocked_seconds_total", "Time pulls spent parked",
          s.blocked_us * 1e-6);
  counter("psrec_server_connections_accepted_total", "Connections accepted (TCP and local)",
          static_cast<double>(s.connections_accepted));
  counter("psrec_server_handshakes_refused_total",
          "Handshakes refused (wrong secret, version, job id or worker count)",
          static_cast<double>(s.handshakes_refused));
  counter("psrec_server_handshake_timeouts_total", "Connections closed for a late handshake",
          static_cast<double>(s.handshake_timeouts));
  counter("psrec_server_connections_over_limit_total",
          "Connections refused at once: cluster.max_connections were open",
          static_cast<double>(s.connections_over_limit));
  counter("psrec_server_connections_dropped_total",
          "Connections closed by the server (refused handshake, bad frame, violation)",
          static_cast<double>(s.connections_dropped));
  page.Gauge("psrec_server_parked_pulls", "Pulls parked now, waiting for slower workers",
             static_cast<double>(counters.parked_now.load(std::memory_order_relaxed)), server);
  page.Gauge("psrec_server_slowest_clock", "Clock of the slowest unfinished worker (-1: none yet)",
             static_cast<double>(counters.slowest_clock.load(std::memory_order_relaxed)),
             server);
  page.Gauge("psrec_server_max_staleness", "Max over answered pulls of pull clock - slowest clock",
             static_cast<double>(s.max_staleness), server);
  const std::vector<double> bounds(LatencyHistogram::kUpperBounds.begin(),
                                   LatencyHistogram::kUpperBounds.end());
  const std::pair<const char*, const LatencyHistogram*> kinds[] = {
      {"pull", &counters.pull_latency},
      {"push", &counters.push_latency},
      {"clock", &counters.clock_latency},
      {"checkpoint", &counters.checkpoint_latency}};
  for (const auto& [kind, histogram] : kinds) {
    page.Histogram("psrec_server_request_seconds",
                   "Time to handle a request on the server's io thread (checkpoint: the "
                   "in-memory snapshot that pauses serving)",
                   bounds, histogram->Counts(), histogram->SumSeconds(),
                   {server[0], {"type", kind}});
  }
  return page.text();
}

}  // namespace psrec::ps
