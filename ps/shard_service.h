// ShardService: the request logic of one parameter server: the tables it serves, the clocks
// of the workers (ClockTracker), the pulls parked by the consistency model, the handshake
// (challenge and proofs, wire/handshake_auth.h), and the set of open connections. It is the
// FrameSink of every connection. (Pushes are handled in shard_service_push.cc, everything
// else in shard_service.cc.)
//
// Requests of one connection are handled in arrival order, so a worker's pushes are applied
// before its following ClockRequest counts. Pulls are answered from the table directly into
// the connection's send buffer; a pull the consistency model holds back is copied (its keys)
// and answered when the slowest clock advances, with the time it waited. A pull creates the
// rows it lacks (training); a read-only pull (evaluation) creates none and its reply lists
// the keys without a row, whose values are zeros.
//
// Under BSP a push is checked and acknowledged on arrival but applied only when every worker
// has finished the push's clock, in (clock, worker, arrival) order. Arrival order across
// workers depends on thread and network timing; this order does not, so a BSP job is
// repeatable bit for bit (AdaGrad's and Adam's steps depend on the order of the gradients
// they see). It is also BSP proper: a pull at clock c sees every push of clocks < c and none
// of clock c, from any worker, the worker's own included.
//
// Protocol violations (request before the handshake, a refused handshake, second
// handshake, unknown table, gradients of the wrong size, undecodable body, worker id out of
// range) are returned as a non-OK Status: the connection closes, the service carries on. A
// request that is well formed but cannot be served (a pull larger than max_frame_bytes; a
// pull with state or a push of deltas whose state_floats or float count do not match the
// table) is answered with an Error naming the table.
//
// Thread safety: none. Every method runs on the server's io thread, which is the single
// writer of every table row.
#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <absl/container/flat_hash_map.h>

#include "wire/frame_codec.h"
#include "ps/clock_tracker.h"
#include "ps/connection.h"
#include "ps/push_dedup.h"
#include "table/embedding_table.h"
#include "ps/server_options.h"
#include "ps/server_stats.h"
#include "ps/shard_checkpointer.h"

namespace psrec::ps {

// Tables indexed by TableId; null where this server does not serve the table.
using ServedTables = std::vector<std::unique_ptr<table::EmbeddingTable>>;

class ShardService final : public FrameSink {
 public:
  // REQUIRES: options validated (Server::Start does it); counters outlives the service.
  // post_to_io runs a function on the io thread (the checkpoint writer reports through it).
  ShardService(const ServerOptions& options, ServerCounters* counters,
               ShardCheckpointer::Post post_to_io);

  // Loads this shard's rows of every served table from a checkpoint (resume); before the
  // first connection.
  Status LoadCheckpoint(const std::string& dir);
  // Sets this shard's rows of every served table from options.initial_rows (a fresh start
  // from pretrained models); before the first connection.
  Status LoadInitialRows();
  ~ShardService() override;

  // Handshake replies name this abstract socket (Server::local_socket()) from now on.
  void AdvertiseLocalSocket(std::string name) { local_socket_ = std::move(name); }

  // Takes conn and writes its HandshakeChallenge to conn->out() (Connection::Start sends
  // it). False: no nonce could be drawn; conn was not taken and should be closed.
  bool AddConnection(std::shared_ptr<Connection> conn);
  // Closes every connection and forgets the parked pulls (shutdown).
  void CloseAll();

  Status OnFrame(Connection& conn, wire::MessageType type,
                 std::span<const uint8_t> body) override;
  void OnClosed(Connection& conn) override;

  ServedTables& tables() { return tables_; }
  const ClockTracker& clocks() const { return clocks_; }
  size_t num_connections() const { return connections_.size(); }

 private:
  using SteadyClock = std::chrono::steady_clock;

  struct ParkedPull {
    std::weak_ptr<Connection> conn;
    uint64_t request_id = 0;
    TableId table = 0;
    int32_t clock = 0;
    bool with_state = false;
    bool read_only = false;
    std::vector<uint64_t> keys;
    SteadyClock::time_point since;
  };

  Status HandleHandshake(Connection& conn, std::span<const uint8_t> body);
  Status HandlePull(Connection& conn, std::span<const uint8_t> body);
  Status HandlePush(Connection& conn, std::span<const uint8_t> body);
  Status HandleClock(Connection& conn, std::span<const uint8_t> body);
  Status HandleFinish(Connection& conn, std::span<const uint8_t> body);
  Status HandleCheckpoint(Connection& conn, std::span<const uint8_t> body);
  Status HandleCheckpointFile(Connection& conn, std::span<const uint8_t> body);
  Status HandleCheckpointStatus(Connection& conn, std::span<const uint8_t> body);

  static Status StateMismatch(const char* what, const table::EmbeddingTable& table,
                              int32_t worker_floats);
  Result<table::EmbeddingTable*> TableFor(TableId table);
  Status CheckWorker(int worker_id) const;
  // with_state: rows with their optimizer state (PullRequest.with_state); read_only: no row
  // is created (PullRequest.read_only).
  void AnswerPull(Connection& conn, uint64_t request_id, table::EmbeddingTable& table,
                  int32_t clock, bool with_state, bool read_only,
                  std::span<const uint64_t> keys, int64_t blocked_us);
  // The values of a read-only pull: rows found, zeros for the keys listed as missing.
  void AppendReadOnlyReply(uint64_t request_id, int32_t slowest_clock, int64_t blocked_us,
                           const table::EmbeddingTable& table, int row_floats,
                           std::span<const uint64_t> keys, ByteBuffer* out);
  // Why `push` (decoded, for `table`) cannot be applied, or OK. A push of deltas is
  // answered with the Status as an Error; any other push's failure closes the connection.
  Status CheckPush(const wire::PushRequestView& push, const table::EmbeddingTable& table) const;
  void ApplyPush(const wire::PushRequestView& push, table::EmbeddingTable& table);
  // BSP: applies the held pushes of every clock below the slowest worker's.
  void ApplyFinishedClocks();
  // A clock change: held pushes of finished clocks, then the pulls waiting for them.
  void OnSlowestClockAdvanced();
  // Answers the parked pulls that the latest clock change made answerable.
  void ReleaseParked();

  ServerOptions options_;
  ServerCounters* counters_;
  size_t max_frame_bytes_;
  ServedTables tables_;
  ClockTracker clocks_;
  PushDedup dedup_;  // pushes accepted, per worker (idempotent retries)
  absl::flat_hash_map<uint64_t, ParkedPull> parked_;  // by ClockTracker ticket
  absl::flat_hash_map<Connection*, std::shared_ptr<Connection>> connections_;
  wire::DecodeScratch scratch_;
  std::vector<const float*> found_rows_;      // read-only pulls
  std::vector<uint32_t> missing_positions_;  // read-only pulls
  // BSP: checked push bodies waiting for their clock to finish, per worker in arrival order
  // (a worker's clocks never go back, so each queue is sorted by clock).
  struct HeldPush {
    int32_t clock = 0;
    std::vector<uint8_t> body;
  };
  std::vector<std::deque<HeldPush>> held_;
  std::vector<std::vector<uint8_t>> spare_bodies_;  // bodies of applied pushes, for reuse
  std::vector<uint64_t> ready_tickets_;
  ShardCheckpointer checkpointer_;
  std::string local_socket_;
};

}  // namespace psrec::ps
