// SendPacer: when a message queued now may go on the wire under simulated NetworkFaults.
//
// A message of n bytes queued at t is released at max(t, link_free) + latency, where the
// link is modelled as a token bucket draining at bandwidth_mbps: each message occupies it
// for n / rate, and an idle link banks at most kBurst of credit so that a long pause does not
// let a flood through at once. Release times are nondecreasing in queue order, so a sender
// can release a prefix of its queue.
//
// Thread safety: none; one per connection, called under the connection's send lock.
#pragma once

#include <chrono>
#include <cstddef>

#include "client/network_faults.h"

namespace psrec::client {

class SendPacer {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr Clock::duration kBurst = std::chrono::milliseconds(1);

  explicit SendPacer(const NetworkFaults& faults);

  // False when the faults are all zero: messages go out as soon as they are queued.
  bool active() const { return latency_.count() > 0 || bytes_per_sec_ > 0; }

  // The release time of a message of `bytes` queued at `now` (after the previous ones).
  Clock::time_point Release(Clock::time_point now, size_t bytes);

 private:
  Clock::duration latency_;
  double bytes_per_sec_;
  Clock::time_point link_free_{};
};

}  // namespace psrec::client
