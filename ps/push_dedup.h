// PushDedup: which pushes a server has already accepted, so that each is applied at most
// once even when the client resends it after a reconnect or the network duplicates its
// frame (the retry protocol: docs/wire.md, "Retries and idempotency").
//
// A push is named by (worker, PushRequest.sequence); the client numbers its pushes to one
// server with increasing sequences (its request ids), unique within one client_session
// (Handshake.client_session, drawn per PsClient). Per worker the server keeps the session,
// the highest sequence accepted and a window of kWindow flags below it: a sequence above the
// highest, or inside the window and not yet flagged, is new; a flagged one is a duplicate.
// A resend reaches the server at most a reconnect's worth of requests late, far less than
// the window; a sequence below the window cannot be told apart and is refused (the
// connection fails, which ends the worker with an error naming this server rather than
// risking a second application). The record lives in the server, not in a connection, so it
// survives the worker's reconnects; a handshake with a new session starts a fresh record
// (a restarted worker numbers from 1 again).
//
// Thread safety: none; the server's io thread owns it (like every table).
#pragma once

#include <cstdint>
#include <vector>

#include "common/status.h"

namespace psrec::ps {

class PushDedup {
 public:
  static constexpr uint64_t kWindow = 1 << 16;

  explicit PushDedup(int num_workers) : workers_(static_cast<size_t>(num_workers)) {}

  // The worker handshook with `session`: a session other than the recorded one starts a
  // fresh record. REQUIRES: 0 <= worker < num_workers.
  void StartSession(int worker, uint64_t session);

  // Whether the push (worker, sequence) is new, recording it as accepted when it is; a
  // sequence of 0 is always new (an unnumbered push). InvalidArgument for a sequence too
  // old to tell. REQUIRES: 0 <= worker < num_workers.
  Result<bool> Accept(int worker, uint64_t sequence);

  uint64_t duplicates() const { return duplicates_; }

 private:
  struct Worker {
    uint64_t session = 0;
    uint64_t highest = 0;         // highest sequence accepted (0: none)
    std::vector<uint64_t> seen;   // kWindow bits; bit (s % kWindow) for s in (highest - kWindow, highest]
  };
  static bool Test(const Worker& w, uint64_t s);
  static void Set(Worker& w, uint64_t s, bool on);

  std::vector<Worker> workers_;
  uint64_t duplicates_ = 0;
};

}  // namespace psrec::ps
