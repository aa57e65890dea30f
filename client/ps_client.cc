#include "client/ps_client.h"

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include <boost/asio/post.hpp>
#include <glog/logging.h>

#include "wire/frame_codec.h"
#include "client/ps_client_impl.h"
#include "wire/handshake_auth.h"

namespace psrec::client {
namespace asio = boost::asio;

using Clock = std::chrono::steady_clock;

namespace {

// Handshake.client_session: random, so that a restarted worker never reuses a session.
uint64_t DrawSession() {
  Result<std::string> bytes = wire::RandomBytes(sizeof(uint64_t));
  uint64_t session = 0;
  if (bytes.ok()) std::memcpy(&session, bytes->data(), sizeof(session));
  // Without a CSPRNG the handshake fails anyway; any nonzero value keeps dedup on.
  return session == 0 ? 1 : session;
}

}  // namespace

PsClient::Impl::Impl(const PsClientOptions& options)
    : options_(options),
      num_servers_(static_cast<int>(options.servers.size())),
      work_(asio::make_work_guard(io_)),
      watchdog_(io_),
      retry_(options.reconnect_budget.count() > 0),
      session_(DrawSession()),
      reconnects_(options.servers.size()),
      pending_(options.servers.size()),
      finish_sent_(options.servers.size(), false) {
  for (int s = 0; s < num_servers_; ++s) {
    conns_.push_back(MakeConnection(s));
    reconnects_[static_cast<size_t>(s)].timer = std::make_unique<asio::steady_timer>(io_);
  }
  io_thread_ = std::thread([this] { io_.run(); });
}

std::unique_ptr<ServerConnection> PsClient::Impl::MakeConnection(int s) {
  return std::make_unique<ServerConnection>(
      io_, s, options_, session_,
      [this, s](wire::MessageType type, std::span<const uint8_t> body) {
        return OnFrame(s, type, body);
      },
      [this, s](const Status& status) { OnConnectionFailure(s, status); },
      [this, s](wire::MessageType type, std::span<const uint8_t> head, size_t body_bytes) {
        return PlaceFrame(s, type, head, body_bytes);
      },
      [this, s](wire::MessageType type, std::span<const uint8_t> head, size_t body_bytes) {
        return OnPlacedFrame(s, type, head, body_bytes);
      });
}

PsClient::Impl::~Impl() { Close(Status::Aborted("the PS client was destroyed")); }

void PsClient::Impl::Close(const Status& why) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) return;
    closed_ = true;
    if (failure_.ok()) failure_ = why.ok() ? Status::Aborted("the PS client was closed") : why;
  }
  cv_.notify_all();  // pending Waits and checkpoint calls fail with failure_
  // The io thread closes the sockets (which cancels the reads in progress, also those into
  // pull buffers) and only then stops, so no reply is read after the join.
  asio::post(io_, [this] {
    watchdog_.cancel();
    for (auto& conn : conns_) conn->Close();
    for (Reconnect& r : reconnects_) {
      r.timer->cancel();
      if (r.next) r.next->Close();
    }
    io_.stop();
  });
  work_.reset();
  io_thread_.join();
}

// ---- Requests (caller thread) ---------------------------------------------------------------

Result<size_t> PsClient::Impl::MaxKeysPerRequest(int row_floats) const {
  // A push carries a key and a row per key; a pull reply a row; a pull request a key.
  const size_t per_key = sizeof(uint64_t) + sizeof(float) * static_cast<size_t>(row_floats);
  if (options_.max_frame_bytes < kFrameOverhead + per_key) {
    return Status::InvalidArgument("rows of " + std::to_string(row_floats) + " floats" +
                                   " do not fit in max_frame_bytes " +
                                   std::to_string(options_.max_frame_bytes));
  }
  const size_t frame_keys = (options_.max_frame_bytes - kFrameOverhead) / per_key;
  if (options_.chunk_bytes == 0) return frame_keys;
  const size_t row_bytes = sizeof(float) * static_cast<size_t>(row_floats);
  return std::min(frame_keys, std::max<size_t>(1, options_.chunk_bytes / row_bytes));
}

Status PsClient::Impl::Usable() const {
  if (!failure_.ok()) return failure_;
  if (finished_) return Status::Aborted("the PS client already finished");
  return Status::OK();
}

PsClient::Impl::PendingRequest* PsClient::Impl::AddRequest(int s, RequestKind kind, uint64_t* id) {
  IdRing<PendingRequest>& ring = pending_[static_cast<size_t>(s)];
  *id = ring.next_id();
  PendingRequest* req = ring.Add();
  req->kind = kind;
  req->deadline = Clock::now() + options_.rpc_timeout;
  ++stats_.requests;
  if (kind != RequestKind::kPull && !IsControl(kind)) ++unacked_;
  return req;
}

namespace {

// Checks dim and the state width (none: payloads only) and returns the floats per row that
// travel.
Result<int> RowFloats(int dim, std::optional<int> state_floats) {
  if (dim <= 0) return Status::InvalidArgument("dim must be positive, got " + std::to_string(dim));
  if (!state_floats) return dim;
  if (*state_floats < 0) {
    return Status::InvalidArgument("state_floats must not be negative, got " +
                                   std::to_string(*state_floats));
  }
  return dim + *state_floats;
}

}  // namespace

Result<PsClient::Ticket> PsClient::Impl::Pull(TableId table, std::span<const uint64_t> keys,
                                              int dim, std::optional<int> state_floats,
                                              float* out, int clock, uint8_t* missing) {
  ASSIGN_OR_RETURN(const int row_floats, RowFloats(dim, state_floats));
  ASSIGN_OR_RETURN(const size_t max_keys, MaxKeysPerRequest(row_floats));
  if (out == nullptr && !keys.empty()) return Status::InvalidArgument("pull into a null buffer");
  // Replies set the flags of missing keys only.
  if (missing != nullptr && !keys.empty()) std::memset(missing, 0, keys.size());
  grouper_.Group(table, keys, num_servers_);
  // Request ids per (server, part), registered before anything is sent so that no reply
  // can arrive for an unknown request.
  std::vector<Part>& parts = parts_scratch_;
  parts.clear();
  Ticket ticket = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    RETURN_IF_ERROR(Usable());
    ticket = tickets_.next_id();
    PullTicket* t = tickets_.Add();
    t->parts_left = 0;
    for (int s = 0; s < num_servers_; ++s) {
      std::span<const uint64_t> server_keys = grouper_.keys_of(s);
      std::span<const uint32_t> positions = grouper_.positions_of(s);
      for (size_t b = 0; b < server_keys.size(); b += max_keys) {
        const size_t n = std::min(max_keys, server_keys.size() - b);
        uint64_t id = 0;
        PendingRequest* req = AddRequest(s, RequestKind::kPull, &id);
        req->ticket = ticket;
        req->out = out;
        req->row_floats = row_floats;
        req->clock = clock;
        req->missing = missing;
        req->num_keys = n;
        req->first = b;
        if (grouper_.identity()) {
          req->positions.clear();
        } else {
          req->positions.assign(positions.begin() + static_cast<ptrdiff_t>(b),
                                positions.begin() + static_cast<ptrdiff_t>(b + n));
        }
        ++t->parts_left;
        parts.push_back({s, id, server_keys.subspan(b, n), {}, b});
      }
    }
  }
  for (const Part& part : parts) {
    Send(part.server, part.id, /*retained=*/true, [&](ByteBuffer* buf) {
      wire::AppendPullRequest(part.id, table, clock, part.keys, buf,
                              state_floats.value_or(wire::kPlainPull), missing != nullptr);
    });
  }
  return ticket;
}

Status PsClient::Impl::Wait(Ticket ticket) {
  const Clock::time_point start = Clock::now();
  std::unique_lock<std::mutex> lock(mu_);
  if (tickets_.Find(ticket) == nullptr) {
    return Status::InvalidArgument("pull ticket " + std::to_string(ticket) +
                                   " was never issued or was already waited for");
  }
  cv_.wait(lock, [&] { return !failure_.ok() || tickets_.Find(ticket)->parts_left == 0; });
  tickets_.Retire(ticket);
  stats_.pull_wait_sec += std::chrono::duration<double>(Clock::now() - start).count();
  return failure_;
}

Status PsClient::Impl::Push(TableId table, std::span<const uint64_t> keys, int dim,
                            std::optional<int> state_floats, std::span<const float> values,
                            float learning_rate) {
  const bool deltas = state_floats.has_value();
  ASSIGN_OR_RETURN(const int row_floats, RowFloats(dim, state_floats));
  ASSIGN_OR_RETURN(const size_t max_keys, MaxKeysPerRequest(row_floats));
  const size_t row = static_cast<size_t>(row_floats);
  if (values.size() != keys.size() * row) {
    return Status::InvalidArgument(
        std::string(deltas ? "push of deltas of " : "push of ") + std::to_string(keys.size()) +
        " keys of dim " + std::to_string(dim) +
        (deltas ? " and " + std::to_string(*state_floats) + " state floats" : std::string()) +
        " has " + std::to_string(values.size()) + (deltas ? " floats" : " gradient floats"));
  }
  const RequestKind kind = deltas ? RequestKind::kPushDelta : RequestKind::kPush;
  grouper_.Group(table, keys, num_servers_);
  std::vector<Part>& parts = parts_scratch_;
  parts.clear();
  {
    std::lock_guard<std::mutex> lock(mu_);
    RETURN_IF_ERROR(Usable());
    for (int s = 0; s < num_servers_; ++s) {
      std::span<const uint64_t> server_keys = grouper_.keys_of(s);
      std::span<const uint32_t> positions = grouper_.positions_of(s);
      for (size_t b = 0; b < server_keys.size(); b += max_keys) {
        const size_t n = std::min(max_keys, server_keys.size() - b);
        uint64_t id = 0;
        AddRequest(s, kind, &id);
        parts.push_back({s, id, server_keys.subspan(b, n),
                         positions.empty() ? positions : positions.subspan(b, n), b});
      }
    }
  }
  for (const Part& part : parts) {
    Send(part.server, part.id, /*retained=*/true, [&](ByteBuffer* buf) {
      // Gradients (deltas) go straight from the caller's rows into the send buffer. The
      // request id doubles as the push's idempotency key (sequence).
      const wire::PushHeader header =
          deltas ? wire::PushHeader::Deltas(part.id, table, *state_floats, part.id)
                 : wire::PushHeader::Gradients(part.id, table, learning_rate, part.id);
      uint8_t* dst = wire::AppendPushRequest(header, part.keys, part.keys.size() * row, buf);
      const size_t row_bytes = row * sizeof(float);
      if (part.positions.empty()) {
        std::memcpy(dst, values.data() + part.first * row, part.keys.size() * row_bytes);
      } else {
        for (size_t j = 0; j < part.positions.size(); ++j) {
          std::memcpy(dst + j * row_bytes, values.data() + part.positions[j] * row, row_bytes);
        }
      }
    });
  }
  return Status::OK();
}

Status PsClient::Impl::AdvanceClock(int clock) {
  std::vector<Part>& parts = parts_scratch_;
  parts.clear();
  {
    std::lock_guard<std::mutex> lock(mu_);
    RETURN_IF_ERROR(Usable());
    for (int s = 0; s < num_servers_; ++s) {
      uint64_t id = 0;
      AddRequest(s, RequestKind::kClock, &id);
      parts.push_back({s, id, {}, {}, 0});
    }
  }
  for (const Part& part : parts) {
    Send(part.server, part.id, /*retained=*/true, [&](ByteBuffer* buf) {
      wire::AppendClock(part.id, options_.worker_id, clock, buf);
    });
  }
  return Status::OK();
}

Status PsClient::Impl::Flush() {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] { return !failure_.ok() || unacked_ == 0; });
  return failure_;
}

Status PsClient::Impl::Finish() {
  RETURN_IF_ERROR(Flush());
  std::vector<Part>& parts = parts_scratch_;
  parts.clear();
  {
    std::lock_guard<std::mutex> lock(mu_);
    RETURN_IF_ERROR(Usable());
    for (int s = 0; s < num_servers_; ++s) {
      uint64_t id = 0;
      AddRequest(s, RequestKind::kFinish, &id);
      finish_sent_[static_cast<size_t>(s)] = true;
      parts.push_back({s, id, {}, {}, 0});
    }
  }
  for (const Part& part : parts) {
    Send(part.server, part.id, /*retained=*/true, [&](ByteBuffer* buf) {
      wire::AppendFinish(part.id, options_.worker_id, buf);
    });
  }
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] { return !failure_.ok() || unacked_ == 0; });
  if (failure_.ok()) finished_ = true;
  return failure_;
}

bool PsClient::Impl::AllServersOnThisHost() const {
  if (options_.faults.latency_us > 0 || options_.faults.bandwidth_mbps > 0) return false;
  // Connect finished every handshake, the move to a local socket included: local() is final.
  std::lock_guard<std::mutex> lock(mu_);  // a reconnect may replace a connection
  return std::all_of(conns_.begin(), conns_.end(), [](const auto& conn) { return conn->local(); });
}

ClientStats PsClient::Impl::stats() const {
  std::lock_guard<std::mutex> lock(mu_);  // a reconnect may replace a connection
  ClientStats stats = stats_;
  for (const auto* list : {&conns_, &retired_conns_}) {
    for (const auto& conn : *list) {
      stats.bytes_sent += conn->bytes_sent();
      stats.bytes_received += conn->bytes_received();
      stats.bytes_in_place += conn->bytes_in_place();
    }
  }
  return stats;
}

// ---- PsClient -------------------------------------------------------------------------------

Result<std::unique_ptr<PsClient>> PsClient::Connect(const PsClientOptions& options) {
  if (options.servers.empty()) return Status::InvalidArgument("the PS client needs servers");
  if (options.secret.empty()) return Status::InvalidArgument("the PS client needs the job secret");
  if (options.num_workers < 1 || options.worker_id < 0 ||
      options.worker_id >= options.num_workers) {
    return Status::InvalidArgument("worker_id " + std::to_string(options.worker_id) +
                                   " is not in [0, num_workers=" +
                                   std::to_string(options.num_workers) + ")");
  }
  if (options.rpc_timeout.count() <= 0 || options.connect_timeout.count() <= 0) {
    return Status::InvalidArgument("rpc_timeout and connect_timeout must be positive");
  }
  if (options.transport == nullptr) {
    return Status::InvalidArgument("the PS client needs a transport");
  }
  auto impl = std::make_unique<Impl>(options);
  RETURN_IF_ERROR(impl->ConnectAll());
  return std::unique_ptr<PsClient>(new PsClient(std::move(impl)));
}

PsClient::PsClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
PsClient::~PsClient() = default;

void PsClient::Close(const Status& why) { impl_->Close(why); }

Result<PsClient::Ticket> PsClient::Pull(TableId table, std::span<const uint64_t> keys, int dim,
                                        float* out, int clock) {
  return impl_->Pull(table, keys, dim, std::nullopt, out, clock);
}
Result<PsClient::Ticket> PsClient::PullWithState(TableId table, std::span<const uint64_t> keys,
                                                 int dim, int state_floats, float* out,
                                                 int clock) {
  return impl_->Pull(table, keys, dim, state_floats, out, clock);
}
Result<PsClient::Ticket> PsClient::PullReadOnly(TableId table, std::span<const uint64_t> keys,
                                                int dim, float* out, uint8_t* missing,
                                                int clock) {
  if (missing == nullptr && !keys.empty()) {
    return Status::InvalidArgument("read-only pull without missing flags");
  }
  return impl_->Pull(table, keys, dim, std::nullopt, out, clock, missing);
}
Status PsClient::Wait(Ticket ticket) { return impl_->Wait(ticket); }
Status PsClient::Push(TableId table, std::span<const uint64_t> keys, int dim,
                      std::span<const float> grads, float learning_rate) {
  return impl_->Push(table, keys, dim, std::nullopt, grads, learning_rate);
}
Status PsClient::PushDelta(TableId table, std::span<const uint64_t> keys, int dim,
                           int state_floats, std::span<const float> deltas) {
  return impl_->Push(table, keys, dim, state_floats, deltas, 0.0f);
}
Status PsClient::AdvanceClock(int clock) { return impl_->AdvanceClock(clock); }
Status PsClient::Flush() { return impl_->Flush(); }
Status PsClient::Finish() { return impl_->Finish(); }
ClientStats PsClient::stats() const { return impl_->stats(); }
bool PsClient::AllServersOnThisHost() const { return impl_->AllServersOnThisHost(); }
Result<std::vector<wire::CheckpointReply>> PsClient::TakeCheckpoint(
    wire::CheckpointRequest request) {
  return impl_->TakeCheckpoint(std::move(request));
}
Status PsClient::ReportCheckpointFiles(wire::CheckpointFileReport report) {
  return impl_->ReportCheckpointFiles(std::move(report));
}
Result<std::vector<wire::CheckpointStatusReply>> PsClient::AwaitCheckpointWritten(int64_t step) {
  return impl_->AwaitCheckpointWritten(step);
}

}  // namespace psrec::client
