// PsClient::Impl, the machinery behind client/ps_client.h. Internal to the client: its
// code is split between ps_client.cc (connecting, and the caller's side: issuing requests
// and waiting) and ps_client_replies.cc (the io thread's side: replies, failures,
// deadlines).
//
// Threads: the caller thread issues requests and waits; the io thread runs every socket
// and timer. They share the request bookkeeping under mu_. A request is registered (with
// an id and a deadline) before its bytes are queued, so a reply never finds it missing.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <mutex>
#include <optional>
#include <span>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "wire/frame.h"
#include "wire/frame_codec.h"
#include "client/id_ring.h"
#include "client/key_grouper.h"
#include "client/ps_client.h"
#include "client/server_connection.h"

namespace psrec::client {

class PsClient::Impl {
 public:
  using Clock = std::chrono::steady_clock;

  enum class RequestKind : uint8_t {
    kPull, kPush, kPushDelta, kClock, kFinish, kCheckpoint, kCheckpointFile, kCheckpointStatus
  };

  static const char* RequestKindName(RequestKind kind) {
    switch (kind) {
      case RequestKind::kPull: return "pull";
      case RequestKind::kPush: return "push";
      case RequestKind::kPushDelta: return "push of deltas";
      case RequestKind::kClock: return "clock";
      case RequestKind::kFinish: return "finish";
      case RequestKind::kCheckpoint: return "checkpoint";
      case RequestKind::kCheckpointFile: return "checkpoint file report";
      case RequestKind::kCheckpointStatus: return "checkpoint status";
    }
    return "request";
  }

  // A checkpoint call: one control request to each of some servers, awaited together by
  // the thread that made it (ps_client_checkpoint.cc). Not counted in unacked_, so Flush
  // never waits for a checkpoint write.
  struct ControlCall {
    int left = 0;
    std::vector<std::string> replies;  // reply body by server id (empty for an Ack)
  };
  static bool IsControl(RequestKind kind) {
    return kind == RequestKind::kCheckpoint || kind == RequestKind::kCheckpointFile ||
           kind == RequestKind::kCheckpointStatus;
  }

  // A request sent to one server and not yet answered. Ids are per connection.
  struct PendingRequest {
    bool retired = false;
    RequestKind kind = RequestKind::kPush;
    Clock::time_point deadline;
    // Pulls: where the reply goes. Row j of the reply lands in out[index(j) * row_floats],
    // where index(j) = positions[j], or first + j when positions is empty (one server).
    // row_floats is dim, or dim + state_floats for a pull with state.
    uint64_t ticket = 0;
    float* out = nullptr;
    int row_floats = 0;
    int clock = 0;
    uint8_t* missing = nullptr;  // read-only pulls: flags by caller position
    size_t num_keys = 0;
    size_t first = 0;
    std::vector<uint32_t> positions;
    std::shared_ptr<ControlCall> call;  // control requests only
    // With reconnection (retry_): the request's frame as sent, to send again after a
    // reconnect; frame_ready once it is complete (the caller encodes it after AddRequest).
    std::vector<uint8_t> frame;
    bool frame_ready = false;
  };

  struct PullTicket {
    bool retired = false;
    int parts_left = 0;
  };

  // Room kept in every frame for the fields other than keys and rows.
  static constexpr size_t kFrameOverhead = 256;

  explicit Impl(const PsClientOptions& options);
  ~Impl();  // Close()s

  // PsClient::Close. Caller thread (or the destructor).
  void Close(const Status& why);

  Status ConnectAll();
  // Server s's first connection; with reconnection on, a handshake the network breaks is
  // dialed again until the deadline (the first connection is not special). io thread.
  void ConnectOne(int s, Clock::time_point deadline, std::function<void(const Status&)> done);
  // state_floats: none for Pull, else PullWithState's. missing: null for a pull that creates
  // rows, else PullReadOnly's flags.
  Result<Ticket> Pull(TableId table, std::span<const uint64_t> keys, int dim,
                      std::optional<int> state_floats, float* out, int clock,
                      uint8_t* missing = nullptr);
  Status Wait(Ticket ticket);
  // state_floats: none for gradients (Push), else deltas of that state width (PushDelta).
  Status Push(TableId table, std::span<const uint64_t> keys, int dim,
              std::optional<int> state_floats, std::span<const float> values,
              float learning_rate);
  Status AdvanceClock(int clock);
  Status Flush();
  Status Finish();
  ClientStats stats() const;
  bool AllServersOnThisHost() const;
  Result<std::vector<wire::CheckpointReply>> TakeCheckpoint(wire::CheckpointRequest request);
  Status ReportCheckpointFiles(wire::CheckpointFileReport report);
  Result<std::vector<wire::CheckpointStatusReply>> AwaitCheckpointWritten(int64_t step);

 private:
  // Sends one control request per server of `servers` (encode writes request `id` for
  // server s) and waits for every reply; returns the reply bodies by server id.
  using ControlEncoder = std::function<void(int s, uint64_t id, ByteBuffer* out)>;
  Result<std::vector<std::string>> CallServers(RequestKind kind, const std::vector<int>& servers,
                                               const ControlEncoder& encode);
  Status OnControlReply(int s, wire::MessageType type, std::span<const uint8_t> body);
  // Completes the control request `id` of server s with `body`. REQUIRES: mu_ held.
  Status CompleteControl(int s, uint64_t id, std::span<const uint8_t> body);
  // Keys per request such that the request and its reply, rows of row_floats floats, fit
  // in max_frame_bytes, and the rows in about options_.chunk_bytes.
  Result<size_t> MaxKeysPerRequest(int row_floats) const;
  // Registers a request to server s and returns it, with its id. REQUIRES: mu_ held.
  PendingRequest* AddRequest(int s, RequestKind kind, uint64_t* id);
  Status Usable() const;  // REQUIRES: mu_ held
  Status OnFrame(int s, wire::MessageType type, std::span<const uint8_t> body);
  Status OnPullReply(int s, std::span<const uint8_t> body);
  // A large pull reply whose rows go to one contiguous range of the caller's buffer (the
  // request's positions are the identity) is received there directly: PlaceFrame says
  // where, OnPlacedFrame completes it. Other frames arrive whole through OnFrame.
  std::optional<ServerConnection::Placement> PlaceFrame(int s, wire::MessageType type,
                                                        std::span<const uint8_t> head,
                                                        size_t body_bytes);
  Status OnPlacedFrame(int s, wire::MessageType type, std::span<const uint8_t> head,
                       size_t body_bytes);
  // Checks a pull reply against its request and, with `values` non-null, copies its rows
  // to the caller's buffer; then retires the request. `values` null: already in place.
  Status CompletePull(int s, const wire::PullReplyView& reply);
  // Whether the reply's missing positions fit the request (none unless it was read-only).
  static Status CheckMissing(const PendingRequest& req, const wire::PullReplyView& reply);
  Status OnAck(int s, std::span<const uint8_t> body);
  // A reply to request `id` of server s that is no longer pending: with reconnection, a
  // duplicate (a resend answered twice, a duplicated frame) and ignored; else corruption.
  // REQUIRES: mu_ held.
  bool IgnoredDuplicate(int s, uint64_t id) const;
  std::unique_ptr<ServerConnection> MakeConnection(int s);

  // Sends request `id` to server s, encoded by encode(ByteBuffer*). Without reconnection it
  // goes straight into the connection's send buffer. With it, the frame is kept in the
  // request (`retained`) for a resend, and the connection is the current one, looked up
  // under mu_ (a reconnect replaces it). Caller thread for retained requests.
  template <typename Encode>
  void Send(int s, uint64_t id, bool retained, Encode&& encode) {
    if (!retry_) {
      conns_[static_cast<size_t>(s)]->Enqueue(encode);
      return;
    }
    if (!retained) {
      ServerConnection* conn = nullptr;
      {
        std::lock_guard<std::mutex> lock(mu_);
        conn = conns_[static_cast<size_t>(s)].get();
      }
      conn->Enqueue(encode);
      return;
    }
    retry_scratch_.Clear();
    encode(&retry_scratch_);
    ServerConnection* conn = nullptr;
    {
      std::lock_guard<std::mutex> lock(mu_);
      PendingRequest* req = pending_[static_cast<size_t>(s)].Find(id);
      if (req == nullptr) return;  // the client failed meanwhile
      req->frame.assign(retry_scratch_.data(), retry_scratch_.data() + retry_scratch_.size());
      req->frame_ready = true;
      conn = conns_[static_cast<size_t>(s)].get();
    }
    // A reconnect between here and the Enqueue resent the frame already: this copy goes to
    // the dead connection, which sends nothing.
    conn->Enqueue([&](ByteBuffer* out) {
      out->Append(retry_scratch_.data(), retry_scratch_.size());
    });
  }

  // ---- Reconnection (ps_client_reconnect.cc; io thread) ----
  bool Retriable(const Status& status) const;
  void ScheduleReconnect(int s);  // after the backoff
  void StartReconnect(int s);
  void OnReconnected(int s, const Status& status);
  // Replaces server s's connection with the reconnected one and resends its requests.
  // REQUIRES: mu_ held.
  void ResendAll(int s);
  void OnConnectionFailure(int s, const Status& status);
  void RecordFailure(int s, const Status& status);  // REQUIRES: mu_ held
  void ArmWatchdog();
  void CheckDeadlines();

  const PsClientOptions options_;
  const int num_servers_;
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  boost::asio::steady_timer watchdog_;  // io thread
  const bool retry_;        // options_.reconnect_budget > 0
  const uint64_t session_;  // Handshake.client_session
  // The connection of each server. Replaced (under mu_) only by a reconnect; without
  // reconnection the caller reads it unlocked.
  std::vector<std::unique_ptr<ServerConnection>> conns_;
  // Connections replaced by a reconnect, or failed attempts: kept until the io thread
  // stopped (a caller may still be enqueuing into one, and handlers hold pointers).
  std::vector<std::unique_ptr<ServerConnection>> retired_conns_;  // GUARDED_BY(mu_)
  struct Reconnect {
    bool active = false;
    Clock::time_point since;     // when the connection was lost
    Clock::duration backoff{};
    int attempts = 0;
    Status cause, last;          // why it was lost; the last attempt's failure
    bool replied = false;        // a frame arrived since the last reconnect
    int barren = 0;              // reconnects in a row after which nothing arrived
    std::unique_ptr<ServerConnection> next;  // the attempt under way
    std::unique_ptr<boost::asio::steady_timer> timer;
  };
  std::vector<Reconnect> reconnects_;  // io thread (RecordFailure under mu_)
  ByteBuffer retry_scratch_;           // caller thread
  std::thread io_thread_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  Status failure_;                             // GUARDED_BY(mu_): sticky, names the server
  bool finished_ = false;                      // GUARDED_BY(mu_)
  bool closed_ = false;                        // GUARDED_BY(mu_): Close ran
  std::vector<IdRing<PendingRequest>> pending_;  // GUARDED_BY(mu_), per server
  std::vector<bool> finish_sent_;              // GUARDED_BY(mu_), per server
  IdRing<PullTicket> tickets_;                 // GUARDED_BY(mu_)
  uint64_t unacked_ = 0;                       // GUARDED_BY(mu_): pushes, clocks, finishes
  ClientStats stats_;                          // GUARDED_BY(mu_), byte counts aside
  std::vector<uint32_t> scatter_positions_;    // io thread

  // One request of a call, to one server (caller thread).
  struct Part {
    int server;
    uint64_t id;
    std::span<const uint64_t> keys;
    std::span<const uint32_t> positions;  // empty: identity from `first`
    size_t first;
  };
  KeyGrouper grouper_;              // caller thread
  std::vector<Part> parts_scratch_;  // caller thread
};

}  // namespace psrec::client
