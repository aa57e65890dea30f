// FaultSpec: a script of network faults for FaultyTransport (wire/fault_transport.h), parsed
// from a small text language (`psrec sim --faults SPEC`; reference: docs/wire.md, "Fault
// injection"):
//
//   spec   := clause (';' clause)*
//   clause := 'seed=' N  |  kind ':' key '=' value (',' key '=' value)*
//   kind   := drop | delay | dup | reorder | truncate | corrupt | partition
//
//   drop:worker=1,server=0,frame=40; partition:worker=0,server=1,at_ms=200,for_ms=300;
//   dup:p=0.01; delay:type=push,p=0.05,ms=20; seed=7
//
// Frame faults (every kind but partition) act on the frames a worker sends to a server and
// pick them with frame=N (the N-th, from 0, of the frames the clause's filters match, per
// worker-server pair, counted over reconnects) or p=F (each matching frame with probability
// F, drawn from the seed, the clause, the pair and the frame's number: the same frames in
// every run). Filters: worker=N, server=N (default: any), type=push|pull|clock|finish|
// handshake|checkpoint (default: any request; the handshake only with type=handshake). delay takes ms=N. partition cuts worker from server
// (both directions; any worker or server when left out) from at_ms after the job starts for
// for_ms: open connections break and dials are refused until it ends.
//
// Thread safety: a value.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "wire/frame.h"

namespace psrec::wire {

struct FaultRule {
  enum class Kind : uint8_t { kDrop, kDelay, kDuplicate, kReorder, kTruncate, kCorrupt, kPartition };
  Kind kind = Kind::kDrop;
  int worker = -1;  // -1: any
  int server = -1;  // -1: any
  std::optional<MessageType> type;
  int64_t frame = -1;  // the frame-th matching frame; -1: use p
  double p = 0;
  int64_t delay_ms = 0;          // kDelay
  int64_t at_ms = 0, for_ms = 0;  // kPartition

  bool Matches(int w, int s) const {
    return (worker < 0 || worker == w) && (server < 0 || server == s);
  }
};

const char* FaultKindName(FaultRule::Kind kind);

struct FaultSpec {
  std::vector<FaultRule> rules;
  uint64_t seed = 1;

  // InvalidArgument naming the clause and what is wrong with it.
  static Result<FaultSpec> Parse(std::string_view text);
  bool empty() const { return rules.empty(); }
};

}  // namespace psrec::wire
