#include "client/ps_client_impl.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <utility>

#include <glog/logging.h>

#include "wire/frame_codec.h"

namespace psrec::client {
namespace asio = boost::asio;

using Clock = std::chrono::steady_clock;

// ---- Replies (io thread) --------------------------------------------------------------------

Status PsClient::Impl::OnFrame(int s, wire::MessageType type, std::span<const uint8_t> body) {
  reconnects_[static_cast<size_t>(s)].replied = true;
  switch (type) {
    case wire::MessageType::kPullReply: return OnPullReply(s, body);
    case wire::MessageType::kAck: return OnAck(s, body);
    case wire::MessageType::kCheckpointReply:
    case wire::MessageType::kCheckpointStatusReply: return OnControlReply(s, type, body);
    case wire::MessageType::kError: {
      wire::Error error;
      RETURN_IF_ERROR(wire::DecodeControl(body, &error));
      Status status = wire::StatusFromError(error);
      std::lock_guard<std::mutex> lock(mu_);
      PendingRequest* req = pending_[static_cast<size_t>(s)].Find(error.request_id());
      return req == nullptr ? status
                            : status.WithContext(std::string(RequestKindName(req->kind)) +
                                                 " failed");
    }
    default:
      return Status::Corruption(std::string("sent an unexpected ") +
                                wire::MessageTypeName(type) + " message");
  }
}

Status PsClient::Impl::OnPullReply(int s, std::span<const uint8_t> body) {
  wire::PullReplyView reply;
  RETURN_IF_ERROR(wire::DecodePullReply(body, &reply));
  return CompletePull(s, reply);
}

std::optional<ServerConnection::Placement> PsClient::Impl::PlaceFrame(
    int s, wire::MessageType type, std::span<const uint8_t> head, size_t body_bytes) {
  if (type != wire::MessageType::kPullReply) return std::nullopt;
  wire::PullReplyView reply;
  size_t values_at = 0;
  // Anything unusual is left to the whole-frame path, which reports it.
  if (!wire::DecodePullReplyHead(head, body_bytes, &reply, &values_at).ok()) return std::nullopt;
  std::lock_guard<std::mutex> lock(mu_);
  if (!failure_.ok()) return std::nullopt;
  const PendingRequest* req = pending_[static_cast<size_t>(s)].Find(reply.request_id);
  if (req == nullptr || req->kind != RequestKind::kPull || !req->positions.empty()) {
    return std::nullopt;
  }
  const size_t row = static_cast<size_t>(req->row_floats);
  if (reply.num_floats != req->num_keys * row) return std::nullopt;
  // The caller keeps `out` valid until Wait returns, and Wait returns early only on a
  // failure, which closes every connection first (RecordFailure): no read lands later.
  return ServerConnection::Placement{
      values_at, reinterpret_cast<uint8_t*>(req->out + req->first * row)};
}

Status PsClient::Impl::OnPlacedFrame(int s, wire::MessageType type,
                                     std::span<const uint8_t> head, size_t body_bytes) {
  reconnects_[static_cast<size_t>(s)].replied = true;
  wire::PullReplyView reply;
  size_t values_at = 0;
  if (type != wire::MessageType::kPullReply) {
    return Status::Internal("placed a frame that is not a pull reply");
  }
  RETURN_IF_ERROR(wire::DecodePullReplyHead(head, body_bytes, &reply, &values_at));
  return CompletePull(s, reply);  // reply.values is null: the rows are in place
}

Status PsClient::Impl::CompletePull(int s, const wire::PullReplyView& reply) {
  IdRing<PendingRequest>& ring = pending_[static_cast<size_t>(s)];
  float* out = nullptr;
  uint8_t* missing = nullptr;
  size_t row = 0, first = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!failure_.ok()) return Status::OK();  // the client is failing: drop late replies
    PendingRequest* req = ring.Find(reply.request_id);
    if (req == nullptr && IgnoredDuplicate(s, reply.request_id)) return Status::OK();
    if (req == nullptr || req->kind != RequestKind::kPull) {
      return Status::Corruption("sent a pull reply to unknown request " +
                                std::to_string(reply.request_id));
    }
    row = static_cast<size_t>(req->row_floats);
    if (reply.num_floats != req->num_keys * row) {
      return Status::Corruption("sent " + std::to_string(reply.num_floats) +
                                " floats for a pull of " + std::to_string(req->num_keys) +
                                " rows of " + std::to_string(req->row_floats) + " floats");
    }
    RETURN_IF_ERROR(CheckMissing(*req, reply));
    stats_.max_staleness = std::max(stats_.max_staleness, req->clock - reply.slowest_clock);
    stats_.blocked_sec += static_cast<double>(reply.blocked_us) * 1e-6;
    out = req->out;
    missing = req->missing;
    first = req->first;
    // The caller may add requests (and grow the ring) while rows are copied unlocked.
    scatter_positions_.swap(req->positions);
  }
  // Copy outside the lock: only this thread touches the request until it is retired, and
  // the caller does not read `out` before Wait sees the part done.
  const size_t row_bytes = row * sizeof(float);
  if (reply.values == nullptr) {
    // Placed: the rows are already in `out`.
  } else if (scatter_positions_.empty()) {
    std::memcpy(out + first * row, reply.values, reply.num_floats * sizeof(float));
  } else {
    for (size_t j = 0; j < scatter_positions_.size(); ++j) {
      std::memcpy(out + scatter_positions_[j] * row, reply.values + j * row_bytes, row_bytes);
    }
  }
  for (size_t j = 0; j < reply.num_missing(); ++j) {
    const size_t p = reply.missing_at(j);
    missing[scatter_positions_.empty() ? first + p : scatter_positions_[p]] = 1;
  }
  std::lock_guard<std::mutex> lock(mu_);
  PendingRequest* req = ring.Find(reply.request_id);
  CHECK(req != nullptr) << "only the io thread retires requests";
  scatter_positions_.swap(req->positions);
  PullTicket* ticket = tickets_.Find(req->ticket);
  ring.Retire(reply.request_id);
  if (ticket != nullptr && --ticket->parts_left == 0) cv_.notify_all();
  return Status::OK();
}

Status PsClient::Impl::CheckMissing(const PendingRequest& req, const wire::PullReplyView& reply) {
  if (reply.num_missing() == 0) return Status::OK();
  if (req.missing == nullptr) {
    return Status::Corruption("named missing rows in the reply to a pull that creates them");
  }
  // Ascending positions below num_keys: each flag is set at most once, inside the buffer.
  for (size_t j = 0; j < reply.num_missing(); ++j) {
    const uint32_t p = reply.missing_at(j);
    if (p >= req.num_keys || (j > 0 && p <= reply.missing_at(j - 1))) {
      return Status::Corruption("named missing row " + std::to_string(p) + " of a pull of " +
                                std::to_string(req.num_keys) + " rows out of order or range");
    }
  }
  return Status::OK();
}

Status PsClient::Impl::OnAck(int s, std::span<const uint8_t> body) {
  wire::Ack ack;
  RETURN_IF_ERROR(wire::DecodeControl(body, &ack));
  std::lock_guard<std::mutex> lock(mu_);
  IdRing<PendingRequest>& ring = pending_[static_cast<size_t>(s)];
  PendingRequest* req = ring.Find(ack.request_id());
  if (req == nullptr && IgnoredDuplicate(s, ack.request_id())) return Status::OK();
  if (req == nullptr || req->kind == RequestKind::kPull) {
    return Status::Corruption("sent an ack to unknown request " +
                              std::to_string(ack.request_id()));
  }
  if (IsControl(req->kind)) return CompleteControl(s, ack.request_id(), {});
  ring.Retire(ack.request_id());
  if (--unacked_ == 0) cv_.notify_all();
  return Status::OK();
}

bool PsClient::Impl::IgnoredDuplicate(int s, uint64_t id) const {
  return retry_ && id != 0 && id < pending_[static_cast<size_t>(s)].next_id();
}

void PsClient::Impl::RecordFailure(int s, const Status& status) {
  if (!failure_.ok()) return;
  failure_ = status.WithContext(conns_[static_cast<size_t>(s)]->name());
  LOG(ERROR) << "PS client of worker " << options_.worker_id << ": " << failure_.message();
  // Waits return now and their callers may free their row buffers, into which pull
  // replies are read in place: end every read first. This runs on the io thread, the only
  // one that reads, so no read can land between the wake-up and the closes. The client
  // is unusable from here on anyway (failures are sticky).
  for (auto& conn : conns_) conn->Close();
  for (Reconnect& r : reconnects_) {
    r.timer->cancel();
    if (r.next) r.next->Close();
  }
  cv_.notify_all();
}

// Every request has a deadline. Replies come out of order, but deadlines are issue time plus
// rpc_timeout, so the oldest unanswered request of a connection is the first to expire and
// a periodic look at the front of each ring suffices.
void PsClient::Impl::ArmWatchdog() {
  const auto period = std::clamp<Clock::duration>(options_.rpc_timeout / 20,
                                                  std::chrono::milliseconds(1),
                                                  std::chrono::milliseconds(100));
  watchdog_.expires_after(period);
  watchdog_.async_wait([this](boost::system::error_code ec) {
    if (ec) return;
    CheckDeadlines();
    ArmWatchdog();
  });
}

void PsClient::Impl::CheckDeadlines() {
  const Clock::time_point now = Clock::now();
  for (int s = 0; s < num_servers_; ++s) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!failure_.ok()) return;
    const PendingRequest* oldest = pending_[static_cast<size_t>(s)].Front();
    if (oldest == nullptr || oldest->deadline > now) continue;
    RecordFailure(s, Status::DeadlineExceeded(
                         std::string("no reply to ") + RequestKindName(oldest->kind) +
                         " within " + std::to_string(options_.rpc_timeout.count()) + " ms"));
    conns_[static_cast<size_t>(s)]->Close();
  }
}

}  // namespace psrec::client
