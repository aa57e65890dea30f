#include "client/send_pacer.h"

#include <algorithm>

namespace psrec::client {

SendPacer::SendPacer(const NetworkFaults& faults)
    : latency_(std::chrono::microseconds(std::max(0, faults.latency_us))),
      bytes_per_sec_(std::max(0.0, faults.bandwidth_mbps) * 1e6 / 8) {}

SendPacer::Clock::time_point SendPacer::Release(Clock::time_point now, size_t bytes) {
  Clock::time_point sent = now;
  if (bytes_per_sec_ > 0) {
    const Clock::time_point start = std::max(link_free_, now - kBurst);
    link_free_ = start + std::chrono::duration_cast<Clock::duration>(
                             std::chrono::duration<double>(static_cast<double>(bytes) /
                                                           bytes_per_sec_));
    sent = std::max(now, link_free_);
  }
  return sent + latency_;
}

}  // namespace psrec::client
