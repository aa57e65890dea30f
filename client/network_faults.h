// NetworkFaults: network conditions a simulated job injects into a worker's sends, to study
// how latency, bandwidth and the staleness they cause affect training. Simulation only: a
// real job leaves them at zero.
//
// latency_us: every message waits this long after it is queued before it is written.
// bandwidth_mbps: sends are paced by a token bucket at this many megabits per second (1e6
// bits); the bucket holds at most one millisecond of traffic, so bursts stay short.
// 0 means none / unlimited.
//
// Thread safety: a value.
#pragma once

namespace psrec::client {

struct NetworkFaults {
  int latency_us = 0;
  double bandwidth_mbps = 0;
};

}  // namespace psrec::client
