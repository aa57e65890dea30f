#include "client/client_metrics.h"

#include "common/prometheus_text.h"

namespace psrec::client {

std::string RenderClientMetrics(int worker, const ClientStats& s) {
  const PrometheusLabels labels = {{"worker", std::to_string(worker)}};
  PrometheusText page;
  page.Counter("psrec_worker_sent_bytes_total", "Bytes sent to the servers",
               static_cast<double>(s.bytes_sent), labels);
  page.Counter("psrec_worker_received_bytes_total", "Bytes received from the servers",
               static_cast<double>(s.bytes_received), labels);
  page.Counter("psrec_worker_requests_total",
               "Requests sent (pull parts, pushes, clocks, finishes)",
               static_cast<double>(s.requests), labels);
  page.Counter("psrec_worker_pull_wait_seconds_total",
               "Time the trainer was blocked waiting for pulls", s.pull_wait_sec, labels);
  page.Counter("psrec_worker_pull_parked_seconds_total",
               "Time the servers parked this worker's pulls (consistency model)",
               s.blocked_sec, labels);
  page.Gauge("psrec_worker_max_staleness",
             "Max over pull replies of (pull clock - slowest worker clock)",
             static_cast<double>(s.max_staleness), labels);
  return page.text();
}

}  // namespace psrec::client
