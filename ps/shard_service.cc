#include "ps/shard_service.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <string>
#include <utility>

#include <absl/strings/escaping.h>
#include <glog/logging.h>

#include "table/table_spec.h"
#include "checkpoint/checkpoint_reader.h"
#include "wire/handshake_auth.h"

namespace psrec::ps {

using wire::MessageType;

// The Error of a pull with state or push of deltas whose worker expects another optimizer
// state width than the table keeps (e.g. SGD on one side, AdaGrad on the other).
Status ShardService::StateMismatch(const char* what, const table::EmbeddingTable& table,
                                   int32_t worker_floats) {
  return Status::InvalidArgument(
      std::string(what) + " to table " + table.spec().name + " expects " +
      std::to_string(worker_floats) + " optimizer state floats per row, the table's " +
      table.optimizer().name() + " optimizer keeps " + std::to_string(table.state_floats()));
}

ShardService::ShardService(const ServerOptions& options, ServerCounters* counters,
                           ShardCheckpointer::Post post_to_io)
    : options_(options),
      counters_(counters),
      max_frame_bytes_(static_cast<size_t>(options.job.cluster().max_frame_bytes())),
      clocks_(options.job.training().consistency(), options.job.training().staleness(),
              options.num_workers, options.start_clock),
      dedup_(options.num_workers),
      held_(static_cast<size_t>(options.num_workers)),
      checkpointer_(options.server_id, options.checkpoint_faults, std::move(post_to_io)) {
  for (const TableSpec& spec : options.tables) {
    if (spec.placement != config::TableConfig::REMOTE) continue;
    if (tables_.size() <= spec.id) tables_.resize(spec.id + 1);
    tables_[spec.id] = std::make_unique<table::EmbeddingTable>(spec, options.job.training().seed());
  }
}

ShardService::~ShardService() { CloseAll(); }

Status ShardService::LoadCheckpoint(const std::string& dir) {
  ASSIGN_OR_RETURN(checkpoint::LoadedCheckpoint checkpoint, checkpoint::ReadCheckpoint(dir));
  const int server = options_.server_id;
  const int servers = options_.num_servers;
  for (size_t id = 0; id < tables_.size(); ++id) {
    if (tables_[id] == nullptr) continue;
    const auto table = static_cast<TableId>(id);
    // A table the checkpoint lacks starts fresh (e.g. a model that gained a table).
    if (checkpoint.FindTable(table) == nullptr) {
      LOG(WARNING) << "server " << server << ": " << dir << " has no table "
                   << tables_[id]->spec().name << "; it starts from its initializer";
      continue;
    }
    // Every server reads every file of the table and keeps its own keys, so the checkpoint
    // may come from any number of servers, and from LOCAL files when the placement changed.
    RETURN_IF_ERROR(checkpoint::LoadRowsInto(
        checkpoint, table,
        [table, server, servers](uint64_t key) { return ServerOf(table, key, servers) == server; },
        tables_[id].get()));
  }
  return Status::OK();
}

Status ShardService::LoadInitialRows() {
  const int server = options_.server_id;
  const int servers = options_.num_servers;
  for (size_t id = 0; id < tables_.size(); ++id) {
    if (tables_[id] == nullptr) continue;
    table::EmbeddingTable* out = tables_[id].get();
    const auto table = static_cast<TableId>(id);
    RETURN_IF_ERROR(options_.initial_rows(
        out->spec(),
        [table, server, servers](uint64_t key) { return ServerOf(table, key, servers) == server; },
        [out](uint64_t key, const float* payload) { out->UpsertRow(key, payload, nullptr); }));
  }
  return Status::OK();
}

bool ShardService::AddConnection(std::shared_ptr<Connection> conn) {
  // The challenge goes out before anything is read: a peer proves it knows the job secret
  // for this nonce, so no proof seen on another connection is of use here.
  Result<std::string> nonce = wire::RandomBytes(wire::kNonceBytes);
  if (!nonce.ok()) {
    LOG(ERROR) << "server " << options_.server_id << ": closing connection from "
               << conn->peer() << ": " << nonce.status().ToString();
    return false;
  }
  wire::HandshakeChallenge challenge;
  challenge.set_protocol_version(wire::kProtocolVersion);
  challenge.set_server_nonce(*nonce);
  wire::AppendControl(MessageType::kHandshakeChallenge, challenge, &conn->out());
  conn->session().server_nonce = std::move(nonce).value();
  Connection* key = conn.get();
  connections_.emplace(key, std::move(conn));
  return true;
}

void ShardService::CloseAll() {
  parked_.clear();
  // Close() calls OnClosed, which erases from connections_: iterate over a copy.
  auto connections = std::move(connections_);
  connections_.clear();
  for (auto& [ptr, conn] : connections) conn->Close();
}

void ShardService::OnClosed(Connection& conn) {
  connections_.erase(&conn);
  // Nobody is left to answer: drop the connection's parked pulls now rather than when the
  // clocks advance (their tickets then find nothing).
  absl::erase_if(parked_, [&conn](const auto& entry) {
    const std::shared_ptr<Connection> owner = entry.second.conn.lock();
    return owner == nullptr || owner.get() == &conn;
  });
}

Status ShardService::OnFrame(Connection& conn, MessageType type,
                             std::span<const uint8_t> body) {
  if (!conn.session().handshake_done) {
    if (type != MessageType::kHandshake) {
      return Status::InvalidArgument(std::string("expected a Handshake first, got ") +
                                     wire::MessageTypeName(type));
    }
    return HandleHandshake(conn, body);
  }
  ServerCounters::Add(counters_->requests, 1);
  // Handling time on this thread, for the metrics endpoint's histograms.
  const auto timed = [](LatencyHistogram& histogram, auto&& handle) {
    const auto start = SteadyClock::now();
    Status status = handle();
    histogram.Observe(std::chrono::duration<double>(SteadyClock::now() - start).count());
    return status;
  };
  switch (type) {
    case MessageType::kPull:
      return timed(counters_->pull_latency, [&] { return HandlePull(conn, body); });
    case MessageType::kPush:
      return timed(counters_->push_latency, [&] { return HandlePush(conn, body); });
    case MessageType::kClock:
      return timed(counters_->clock_latency, [&] { return HandleClock(conn, body); });
    case MessageType::kFinish: return HandleFinish(conn, body);
    case MessageType::kCheckpoint:
      return timed(counters_->checkpoint_latency, [&] { return HandleCheckpoint(conn, body); });
    case MessageType::kCheckpointFile: return HandleCheckpointFile(conn, body);
    case MessageType::kCheckpointStatus: return HandleCheckpointStatus(conn, body);
    default:
      return Status::InvalidArgument(std::string("a server does not accept ") +
                                     wire::MessageTypeName(type) + " messages");
  }
}

// Every failure here is for the server's log only: the connection tells the peer
// "handshake refused" and nothing else (Connection::Refuse).
Status ShardService::HandleHandshake(Connection& conn, std::span<const uint8_t> body) {
  wire::Handshake hello;
  RETURN_IF_ERROR(wire::DecodeControl(body, &hello));
  if (hello.protocol_version() != wire::kProtocolVersion) {
    return Status::InvalidArgument("protocol version " + std::to_string(hello.protocol_version()) +
                                   ", this server speaks " +
                                   std::to_string(wire::kProtocolVersion));
  }
  if (hello.job_id() != options_.job.job_id()) {
    // The peer chose these bytes: quoted, escaped and cut short for the log.
    return Status::InvalidArgument("job id '" + absl::CHexEscape(hello.job_id().substr(0, 64)) +
                                   "' is not this job's");
  }
  const std::string& nonce = conn.session().server_nonce;
  if (!wire::ProofMatches(wire::WorkerProof(options_.secret, nonce, hello), hello.proof())) {
    return Status::InvalidArgument("its proof does not match the job secret");
  }
  if (hello.num_workers() != options_.num_workers) {
    return Status::InvalidArgument("peer counts " + std::to_string(hello.num_workers()) +
                                   " workers, this server " +
                                   std::to_string(options_.num_workers));
  }
  RETURN_IF_ERROR(CheckWorker(hello.worker_id()));
  conn.HandshakeDone(hello.worker_id());
  dedup_.StartSession(hello.worker_id(), hello.client_session());
  wire::HandshakeReply reply;
  reply.set_protocol_version(wire::kProtocolVersion);
  reply.set_server_id(options_.server_id);
  reply.set_num_servers(options_.num_servers);
  reply.set_local_socket(local_socket_);
  reply.set_proof(wire::ServerProof(options_.secret, nonce, hello, reply));
  wire::AppendHandshakeReply(reply, &conn.out());
  VLOG(1) << "server " << options_.server_id << ": worker " << hello.worker_id() << " at "
          << conn.peer() << " connected";
  return Status::OK();
}

Status ShardService::CheckWorker(int worker_id) const {
  if (worker_id >= 0 && worker_id < options_.num_workers) return Status::OK();
  return Status::InvalidArgument("worker id " + std::to_string(worker_id) +
                                 " outside [0, " + std::to_string(options_.num_workers) + ")");
}

Result<table::EmbeddingTable*> ShardService::TableFor(TableId table) {
  if (table < tables_.size() && tables_[table] != nullptr) return tables_[table].get();
  return Status::NotFound("table " + std::to_string(table) + " is not served here");
}

Status ShardService::HandlePull(Connection& conn, std::span<const uint8_t> body) {
  wire::PullRequestView pull;
  RETURN_IF_ERROR(wire::DecodePullRequest(body, &scratch_, &pull));
  ASSIGN_OR_RETURN(table::EmbeddingTable * table, TableFor(pull.table));
  ServerCounters::Add(counters_->pulls, 1);
  if (pull.with_state && pull.state_floats != table->state_floats()) {
    wire::AppendError(pull.request_id,
                      StateMismatch("pull with state", *table, pull.state_floats), &conn.out());
    return Status::OK();
  }
  // A reply the client could not read is that request's error, not a broken connection.
  const int row_floats = pull.with_state ? table->row_floats() : table->dim();
  // A read-only reply may also list every key as missing (4 bytes each).
  const size_t per_key = (row_floats + (pull.read_only ? 1 : 0)) * sizeof(float);
  const size_t value_bytes = pull.keys.size() * per_key;
  if (value_bytes + 64 > max_frame_bytes_) {
    wire::AppendError(pull.request_id,
                      Status::InvalidArgument("a pull of " + std::to_string(pull.keys.size()) +
                                              " rows exceeds max_frame_bytes " +
                                              std::to_string(max_frame_bytes_)),
                      &conn.out());
    return Status::OK();
  }
  if (clocks_.CanAnswer(pull.clock)) {
    AnswerPull(conn, pull.request_id, *table, pull.clock, pull.with_state, pull.read_only,
               pull.keys, 0);
    return Status::OK();
  }
  // The keys live in the read buffer, which the next read reuses: copy them.
  ParkedPull parked;
  parked.conn = conn.weak_from_this();
  parked.request_id = pull.request_id;
  parked.table = pull.table;
  parked.clock = pull.clock;
  parked.with_state = pull.with_state;
  parked.read_only = pull.read_only;
  parked.keys.assign(pull.keys.begin(), pull.keys.end());
  parked.since = SteadyClock::now();
  parked_.emplace(clocks_.Park(pull.clock), std::move(parked));
  ServerCounters::Add(counters_->pulls_parked, 1);
  counters_->parked_now.fetch_add(1, std::memory_order_relaxed);
  return Status::OK();
}

void ShardService::AnswerPull(Connection& conn, uint64_t request_id, table::EmbeddingTable& table,
                              int32_t clock, bool with_state, bool read_only,
                              std::span<const uint64_t> keys, int64_t blocked_us) {
  const int64_t slowest = clocks_.slowest_clock();
  const int32_t slowest32 = static_cast<int32_t>(
      std::min<int64_t>(slowest, std::numeric_limits<int32_t>::max()));
  if (slowest != ClockTracker::kAllFinished) {
    counters_->RaiseMaxStaleness(std::max<int64_t>(0, clock - slowest));
  }
  const int row_floats = with_state ? table.row_floats() : table.dim();
  ServerCounters::Add(counters_->rows_pulled, keys.size());
  if (read_only) {
    AppendReadOnlyReply(request_id, slowest32, blocked_us, table, row_floats, keys, &conn.out());
    return;
  }
  float* values = wire::AppendPullReply(request_id, slowest32, blocked_us,
                                        keys.size() * row_floats, &conn.out());
  if (with_state) {
    table.PullWithState(keys, values);
  } else {
    table.Pull(keys, values);
  }
}

void ShardService::AppendReadOnlyReply(uint64_t request_id, int32_t slowest_clock,
                                       int64_t blocked_us, const table::EmbeddingTable& table,
                                       int row_floats, std::span<const uint64_t> keys,
                                       ByteBuffer* out) {
  // The missing positions precede the values in the reply: look every row up first.
  found_rows_.resize(keys.size());
  table.FindRows(keys, found_rows_.data());
  missing_positions_.clear();
  for (size_t i = 0; i < keys.size(); ++i) {
    if (found_rows_[i] == nullptr) missing_positions_.push_back(static_cast<uint32_t>(i));
  }
  float* values = wire::AppendPullReply(request_id, slowest_clock, blocked_us,
                                        keys.size() * row_floats, out, missing_positions_);
  const size_t row = static_cast<size_t>(row_floats);
  for (size_t i = 0; i < keys.size(); ++i) {
    if (found_rows_[i] != nullptr) {
      std::memcpy(values + i * row, found_rows_[i], row * sizeof(float));
    } else {
      std::memset(values + i * row, 0, row * sizeof(float));
    }
  }
}

void ShardService::OnSlowestClockAdvanced() {
  ApplyFinishedClocks();
  ReleaseParked();
}

Status ShardService::HandleClock(Connection& conn, std::span<const uint8_t> body) {
  wire::ClockRequest msg;
  RETURN_IF_ERROR(wire::DecodeControl(body, &msg));
  if (msg.worker_id() != conn.session().worker_id) {
    // Clocks must arrive on the connection that carried the worker's pushes (ordering).
    return Status::InvalidArgument("clock of worker " + std::to_string(msg.worker_id()) +
                                   " on the connection of worker " +
                                   std::to_string(conn.session().worker_id));
  }
  ServerCounters::Add(counters_->clocks, 1);
  wire::AppendAck(msg.request_id(), &conn.out());
  if (clocks_.SetClock(msg.worker_id(), msg.clock())) OnSlowestClockAdvanced();
  if (clocks_.slowest_clock() != ClockTracker::kAllFinished) {
    counters_->slowest_clock.store(clocks_.slowest_clock(), std::memory_order_relaxed);
  }
  return Status::OK();
}

Status ShardService::HandleFinish(Connection& conn, std::span<const uint8_t> body) {
  wire::FinishRequest msg;
  RETURN_IF_ERROR(wire::DecodeControl(body, &msg));
  if (msg.worker_id() != conn.session().worker_id) {
    return Status::InvalidArgument("finish of worker " + std::to_string(msg.worker_id()) +
                                   " on the connection of worker " +
                                   std::to_string(conn.session().worker_id));
  }
  wire::AppendAck(msg.request_id(), &conn.out());
  if (clocks_.Finish(msg.worker_id())) OnSlowestClockAdvanced();
  return Status::OK();
}

Status ShardService::HandleCheckpoint(Connection& conn, std::span<const uint8_t> body) {
  wire::CheckpointRequest msg;
  RETURN_IF_ERROR(wire::DecodeControl(body, &msg));
  if (msg.dir().empty()) return Status::InvalidArgument("checkpoint request without a directory");
  // Requests of a connection are handled in order and the workers are in a barrier, so no
  // push is half-applied: the snapshot is the state at one clock boundary. Under BSP every
  // worker has also finished its clock there (epochs end clocks), so nothing is held back.
  for (size_t worker = 0; worker < held_.size(); ++worker) {
    if (held_[worker].empty()) continue;
    wire::AppendError(msg.request_id(),
                      Status::InvalidArgument(
                          "checkpoint requested while pushes of worker " +
                          std::to_string(worker) + " at clock " +
                          std::to_string(held_[worker].front().clock) +
                          " wait for the slowest worker to finish that clock"),
                      &conn.out());
    return Status::OK();
  }
  Result<wire::CheckpointReply> reply = checkpointer_.Begin(msg, tables_);
  if (reply.ok()) {
    wire::AppendControl(MessageType::kCheckpointReply, *reply, &conn.out());
  } else {
    wire::AppendError(msg.request_id(), reply.status(), &conn.out());
  }
  return Status::OK();
}

Status ShardService::HandleCheckpointFile(Connection& conn, std::span<const uint8_t> body) {
  wire::CheckpointFileReport msg;
  RETURN_IF_ERROR(wire::DecodeControl(body, &msg));
  RETURN_IF_ERROR(CheckWorker(msg.worker_id()));
  wire::AppendAck(msg.request_id(), &conn.out());
  checkpointer_.AddLocalReport(msg);
  return Status::OK();
}

Status ShardService::HandleCheckpointStatus(Connection& conn, std::span<const uint8_t> body) {
  wire::CheckpointStatusRequest msg;
  RETURN_IF_ERROR(wire::DecodeControl(body, &msg));
  // Answered when the write is done, possibly from a later io-thread turn.
  checkpointer_.WhenWritten(
      msg.step(), [weak = conn.weak_from_this(), id = msg.request_id()](
                      Result<wire::CheckpointStatusReply> result) {
        std::shared_ptr<Connection> conn = weak.lock();
        if (conn == nullptr || conn->closed()) return;
        if (result.ok()) {
          result->set_request_id(id);
          wire::AppendControl(MessageType::kCheckpointStatusReply, *result, &conn->out());
        } else {
          wire::AppendError(id, result.status(), &conn->out());
        }
        conn->Flush();
      });
  return Status::OK();
}

void ShardService::ReleaseParked() {
  ready_tickets_.clear();
  clocks_.TakeAnswerable(&ready_tickets_);
  const auto now = SteadyClock::now();
  for (uint64_t ticket : ready_tickets_) {
    auto it = parked_.find(ticket);
    if (it == parked_.end()) continue;
    ParkedPull parked = std::move(it->second);
    parked_.erase(it);
    counters_->parked_now.fetch_sub(1, std::memory_order_relaxed);
    const int64_t blocked_us =
        std::chrono::duration_cast<std::chrono::microseconds>(now - parked.since).count();
    ServerCounters::Add(counters_->blocked_us, static_cast<uint64_t>(blocked_us));
    std::shared_ptr<Connection> conn = parked.conn.lock();
    if (conn == nullptr || conn->closed()) continue;  // the worker left; nobody to answer
    // The table exists: HandlePull checked it and tables are never removed.
    AnswerPull(*conn, parked.request_id, *tables_[parked.table], parked.clock,
               parked.with_state, parked.read_only, parked.keys, blocked_us);
    conn->Flush();
  }
}

}  // namespace psrec::ps
