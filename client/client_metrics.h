// A worker's page for the metrics endpoint (Prometheus text 0.0.4,
// docs/observability.md): its PsClient's traffic, requests, pull wait, time parked by the
// servers, and the largest staleness seen. Every sample carries worker="<index>".
//
// Thread safety: as PsClient::stats(), callable from any thread.
#pragma once

#include <string>

#include "client/ps_client.h"

namespace psrec::client {

std::string RenderClientMetrics(int worker, const ClientStats& stats);

}  // namespace psrec::client
