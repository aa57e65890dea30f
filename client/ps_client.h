// PsClient: a worker's connection to every parameter server of a job.
//
// Pull groups a batch's keys by server (ServerOf), sends one request per server, all in
// flight together, and returns a ticket at once; Wait(ticket) blocks until every part has
// arrived and been scattered into the caller's buffer. Several pulls may be in flight (the
// trainer pipelines batches); replies may arrive out of order. Push and AdvanceClock are
// fire-and-forget: acks are tracked in the background and Flush waits for them.
//
//   ASSIGN_OR_RETURN(auto client, PsClient::Connect(options));
//   ASSIGN_OR_RETURN(PsClient::Ticket t, client->Pull(table, keys, dim, rows, clock));
//   ... compute the previous batch ...
//   RETURN_IF_ERROR(client->Wait(t));
//   RETURN_IF_ERROR(client->Push(table, keys, dim, grads, lr));
//   RETURN_IF_ERROR(client->Finish());
//
// Failures are sticky: once a server closes the connection, replies with an Error, sends a
// bad frame or leaves a request unanswered for rpc_timeout, every later call (and every
// pending Wait) returns that first error, which names the server ("server 1 (host:port):
// ..."). The worker is expected to stop.
//
// Unless options.reconnect_budget is positive: then a connection lost to the network (closed
// or reset, a malformed frame, the server refusing a frame it could not decode) is dialed
// again with backoff (10 ms doubling to 500 ms), the handshake is run again, and every
// request it had in flight is resent in its original order: pulls are simply sent again,
// pushes carry their sequence (PushRequest.sequence = request id) and the server applies each
// at most once (ps/push_dedup.h), clocks and finishes are idempotent on the server.
// Checkpoint requests are not resent: one in flight fails the client. A connection that is
// not back within reconnect_budget of its loss fails the client with an error naming the
// server. Duplicate replies (an answer to a request already answered) are then ignored.
// This costs one copy of every request (kept until it is answered): off by default.
//
// Threading: one I/O thread inside the client owns the connections (options.transport). The methods
// are meant for one caller thread (the trainer); stats() may be called from any thread.
// Ownership: the client owns its connections and thread; destroying it closes the connections
// without Finish (servers then see the worker disappear).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/keys.h"
#include "wire/proto/wire.pb.h"
#include "common/status.h"
#include "client/network_faults.h"
#include "wire/transport.h"

namespace psrec::client {

struct PsClientOptions {
  int worker_id = 0;
  int num_workers = 1;
  std::vector<std::string> servers;  // "host:port", index = server id
  std::string job_id;  // sent in the handshake; the server checks it
  // The job secret (wire/handshake_auth.h; required): the worker proves it knows it and
  // checks that each server does too. Never sent.
  std::string secret;
  std::chrono::milliseconds rpc_timeout{30000}, connect_timeout{10000};
  size_t max_frame_bytes = 256 << 20;
  // A pull or push whose rows (values) take more bytes than this, per server, goes out as
  // several requests of about this size. With one request in flight, the server then applies
  // (or answers) one part while the next is still on the wire, instead of doing nothing
  // until the last byte of a 13 MB request arrived. 0: split only to fit max_frame_bytes.
  size_t chunk_bytes = 512 << 10;
  // Move to a server's Unix-domain socket when its handshake reply advertises one and this
  // process can reach it (same host and network namespace); otherwise stay on TCP.
  bool use_local_socket = true;
  NetworkFaults faults;
  // How long a lost connection may take to come back (see above); 0: no reconnection.
  std::chrono::milliseconds reconnect_budget{0};
  // What the connections run over. Not owned; must outlive the client. Tests give a
  // wire::FrameTap to see (or break) every frame the worker sends.
  wire::Transport* transport = wire::Transport::Default();
};

struct ClientStats {
  uint64_t bytes_sent = 0, bytes_received = 0;
  uint64_t bytes_in_place = 0;  // of bytes_received: pull values read straight into `out`
  double pull_wait_sec = 0;  // time the caller spent blocked inside Wait
  int max_staleness = 0;     // max over pull replies of (pull clock - slowest worker clock)
  uint64_t requests = 0;     // requests sent (pull parts, pushes, clocks, finishes)
  double blocked_sec = 0;    // time the servers parked this worker's pulls (consistency)
  uint64_t reconnects = 0;   // connections lost and made again (reconnect_budget)
  uint64_t resent = 0;       // requests sent again after a reconnect
};

class PsClient {
 public:
  using Ticket = uint64_t;

  // Connects and handshakes with every server. Connection attempts are retried until
  // connect_timeout, since servers may still be starting. Errors name the server.
  static Result<std::unique_ptr<PsClient>> Connect(const PsClientOptions& options);

  ~PsClient();
  PsClient(const PsClient&) = delete;
  PsClient& operator=(const PsClient&) = delete;

  // Pulls the rows of `keys` of `table` into `out` (keys.size() * dim floats, in key order).
  // REQUIRES: keys are unique; keys and out stay valid until Wait(ticket) returns.
  Result<Ticket> Pull(TableId table, std::span<const uint64_t> keys, int dim, float* out,
                      int clock);

  // Like Pull, with each row's optimizer state: out holds keys.size() * (dim + state_floats)
  // floats, per key its dim payload floats then its state_floats state floats (for a worker
  // that runs the optimizer itself and pushes deltas). state_floats must equal the server
  // table's (else the server answers an Error naming the table, which fails the client
  // with the server's name). Consistency parks it like Pull; Wait(ticket) as for Pull.
  // REQUIRES: as Pull (unique keys; keys and out valid until Wait(ticket) returns).
  Result<Ticket> PullWithState(TableId table, std::span<const uint64_t> keys, int dim,
                               int state_floats, float* out, int clock);

  // Like Pull, but the servers create no rows (evaluation must leave the model as it is):
  // the row of a key that no server has is dim zeros in `out`, and missing[i] says whether
  // keys[i] had no row (1) or one (0). `missing` holds keys.size() bytes, set when
  // Wait(ticket) returns. REQUIRES: as Pull; missing stays valid until Wait returns.
  Result<Ticket> PullReadOnly(TableId table, std::span<const uint64_t> keys, int dim,
                              float* out, uint8_t* missing, int clock);

  // Blocks until every part of the pull arrived and was scattered to its `out`. Fails when a
  // server failed or did not answer within rpc_timeout. Each ticket is waited for once.
  Status Wait(Ticket ticket);

  // Sends gradients (keys.size() * dim floats) of unique keys, grouped per server. The data
  // is copied: caller buffers are free on return. Acks are awaited by Flush.
  Status Push(TableId table, std::span<const uint64_t> keys, int dim,
              std::span<const float> grads, float learning_rate);

  // Adds `deltas` (keys.size() * (dim + state_floats) floats, laid out as PullWithState
  // returns rows) to each key's payload and state; no optimizer step runs. Missing rows are
  // created first (initial value + delta). Fire-and-forget like Push: same ordering with
  // Push and AdvanceClock on each connection, acks awaited by Flush, data copied (caller
  // buffers are free on return). A state_floats or size the server's table does not match
  // is an Error reply that fails the client.
  // REQUIRES: keys are unique.
  Status PushDelta(TableId table, std::span<const uint64_t> keys, int dim, int state_floats,
                   std::span<const float> deltas);

  // Tells every server this worker entered `clock`. On each connection it goes after this
  // worker's earlier pushes, so they are applied before the clock counts.
  Status AdvanceClock(int clock);

  // Waits until every push and clock sent so far is acknowledged.
  Status Flush();

  // Flush, then tells every server this worker is done and waits for their acks.
  Status Finish();

  // ---- Checkpoints (the protocol: wire/proto/wire.proto, "Checkpoints") ----
  // Unlike the calls above, these three may be called from a second thread (a background
  // checkpoint writer) while the caller thread trains. Each blocks until its replies are in
  // and fails like any request (sticky failure, rpc_timeout; so a server's background write
  // must finish within cluster.rpc_timeout_ms). An Error reply (e.g. a server whose
  // earlier write failed) fails the client with the server's message.
  //
  // Worker 0, at a boundary where every worker has flushed and waits in a barrier: every
  // server snapshots its tables. Returns the replies by server id.
  Result<std::vector<wire::CheckpointReply>> TakeCheckpoint(wire::CheckpointRequest request);
  // This worker's LOCAL files of a step (or its error), to server 0; waits for the ack.
  Status ReportCheckpointFiles(wire::CheckpointFileReport report);
  // Waits until every server's files of `step` are on disk (server 0's reply also carries
  // the reported LOCAL files). Returns the replies by server id.
  Result<std::vector<wire::CheckpointStatusReply>> AwaitCheckpointWritten(int64_t step);

  // Closes every connection and stops the client's I/O thread. Once it returns no reply is
  // read any more, so the `out` buffers of pulls never waited for may be freed: a caller that
  // gives up with pulls in flight (a trainer failing mid-batch has the next batches' pulls
  // out) closes the client before freeing them. Every pending and later call then fails with
  // the client's first error, or `why` when it had none (Aborted when `why` is OK). A
  // checkpoint call waiting on another thread fails the same way. Idempotent; the destructor
  // closes. Caller thread.
  void Close(const Status& why);

  ClientStats stats() const;
  // Whether every server is on this host (reached over its Unix-domain socket) with no
  // network faults injected: pulls then cost memory bandwidth on this host's cores rather
  // than network time that could overlap with compute.
  bool AllServersOnThisHost() const;

  class Impl;  // client/ps_client.cc

 private:
  explicit PsClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace psrec::client
