// The parameter server's page for the metrics endpoint (Prometheus text 0.0.4,
// docs/observability.md): ServerStats as counters, rows per table, parked pulls and the
// slowest clock as gauges, and request handling times (pull, push, clock, checkpoint
// snapshot) as histograms. Every sample carries server="<id>".
//
// Thread safety: reads atomics only; call from any thread.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "ps/server_stats.h"

namespace psrec::ps {

// `rows`: (table name, rows held by this server) per served table.
std::string RenderServerMetrics(int server_id, const ServerCounters& counters,
                                const std::vector<std::pair<std::string, size_t>>& rows);

}  // namespace psrec::ps
