// FaultyTransport: a Transport that wraps another and breaks, by a FaultSpec script
// (wire/fault_spec.h), the streams one worker dials: it drops, delays, duplicates,
// reorders, truncates or corrupts chosen frames the worker sends, and partitions the worker
// from a server for a while. `psrec sim --faults SPEC` and the reliability tests give one to
// each worker's PsClient (PsClientOptions::transport); servers run on the real transport.
//
//   wire::FaultInjector faults(*wire::FaultSpec::Parse("dup:type=push,p=0.05"));
//   wire::FaultyTransport transport(wire::Transport::Default(), &faults, worker_id, servers);
//   options.transport = &transport;
//
// What each fault does to a byte stream (which cannot lose or reorder bytes and go on):
//   drop      the frame is not sent and the connection breaks after what preceded it (a
//             connection that died with the frame in its send buffer)
//   delay     the frame, and so everything after it, is sent ms later
//   dup       the frame is sent twice
//   reorder   the frame is sent after the next one (or alone, 10 ms later, if none comes)
//   truncate  the first half of the frame is sent, then the connection breaks
//   corrupt   the frame's type byte is zeroed, which the receiver's frame check refuses
//             (wire/frame.h): it closes the connection
//   partition open streams between the pair break when it starts; dials are refused until
//             it ends
// A broken stream's pending and later operations fail with connection_reset; the owner
// sees a lost connection (client/ps_client.h: reconnection and retries heal it).
// Every frame is copied (frames are cut out of the writes as FrameTap does; TryWriteNow
// writes nothing): a transport for tests and simulations, not for a production run.
//
// Thread safety: FaultInjector may be used from any thread. The streams belong to their io
// thread like any ByteStream. Ownership: neither the transport nor its streams own the
// inner transport or the injector. REQUIRES: both outlive every stream made.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "wire/fault_spec.h"
#include "wire/transport.h"

namespace psrec::wire {

// The script's state shared by the transports of every worker of a job: frame counts per
// clause and pair, and the job's start (partition times count from it).
class FaultInjector {
 public:
  using Clock = std::chrono::steady_clock;
  explicit FaultInjector(FaultSpec spec);

  // Times count from now (call it when the job starts; the constructor did once).
  void Restart();

  // The fault to apply to the next frame of `type` worker sends to server (server -1:
  // unknown), or none. Counts the frame for every clause it matches.
  std::optional<FaultRule> Decide(int worker, int server, MessageType type);
  // Whether worker and server are partitioned at `at`.
  bool Partitioned(int worker, int server, Clock::time_point at) const;
  // The partitions of the pair as [start, end) times.
  std::vector<std::pair<Clock::time_point, Clock::time_point>> Partitions(int worker,
                                                                          int server) const;

  // Applied faults by kind (FaultRule::Kind), partitions counted per stream broken or dial
  // refused.
  void Count(FaultRule::Kind kind) { applied_[static_cast<size_t>(kind)].fetch_add(1); }
  uint64_t applied(FaultRule::Kind kind) const { return applied_[static_cast<size_t>(kind)].load(); }
  uint64_t applied_total() const;
  // "dup 12, partition 2" (kinds that happened), for logs.
  std::string Summary() const;

  const FaultSpec& spec() const { return spec_; }

 private:
  const FaultSpec spec_;
  mutable std::mutex mu_;
  Clock::time_point start_;  // GUARDED_BY(mu_)
  std::map<std::tuple<size_t, int, int>, int64_t> seen_;  // GUARDED_BY(mu_): per clause, pair
  std::array<std::atomic<uint64_t>, 7> applied_{};
};

class FaultyTransport final : public Transport {
 public:
  // servers[i]: server i's "host:port" (PsClientOptions::servers), to name the server a
  // dial goes to; a dial elsewhere (a local socket) counts as server -1, which only clauses
  // without server= match.
  FaultyTransport(Transport* inner, FaultInjector* injector, int worker,
                  std::vector<std::string> servers);

  Result<std::unique_ptr<Listener>> Listen(boost::asio::io_context& io,
                                           const Endpoint& at) override;
  Result<std::unique_ptr<ByteStream>> Dial(boost::asio::io_context& io, const Endpoint& to,
                                           IoHandler connected) override;

 private:
  Transport* const inner_;
  FaultInjector* const injector_;
  const int worker_;
  const std::vector<std::string> servers_;
};

}  // namespace psrec::wire
