// PsClient's reconnection (client/ps_client.h, options.reconnect_budget): a lost connection
// is dialed again with backoff, handshaken again, and its requests are resent. The protocol
// is in docs/wire.md, "Retries and idempotency". Everything here runs on the io thread.
#include <algorithm>
#include <string>
#include <utility>

#include <glog/logging.h>

#include "client/ps_client_impl.h"

namespace psrec::client {

namespace {

constexpr auto kFirstBackoff = std::chrono::milliseconds(10);
constexpr auto kMaxBackoff = std::chrono::milliseconds(500);
constexpr int kMaxBarrenReconnects = 8;

int64_t Ms(std::chrono::steady_clock::duration d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

}  // namespace

// What the network does (a connection closed or reset, bytes that are not a frame, or the
// server refusing a frame it could not decode) heals by reconnecting; what a server says
// about a well-formed request (an unknown table, a refused handshake) does not.
bool PsClient::Impl::Retriable(const Status& status) const {
  return retry_ && (status.code() == Status::Code::kUnavailable ||
                    status.code() == Status::Code::kCorruption);
}

void PsClient::Impl::OnConnectionFailure(int s, const Status& status) {
  std::lock_guard<std::mutex> lock(mu_);
  const size_t i = static_cast<size_t>(s);
  // A server may hang up once this worker said it is done and everything was answered.
  if (finish_sent_[i] && pending_[i].size() == 0) return;
  if (!failure_.ok()) return;
  if (!Retriable(status)) {
    RecordFailure(s, status);
    return;
  }
  Reconnect& r = reconnects_[i];
  if (!r.active) {
    // A connection that breaks again and again before a single reply (a resent request the
    // server refuses every time) is not a network failure that heals.
    r.barren = r.replied ? 0 : r.barren + 1;
    if (r.barren > kMaxBarrenReconnects) {
      RecordFailure(s, status.WithContext("lost again after " +
                                          std::to_string(kMaxBarrenReconnects) +
                                          " reconnects without a reply"));
      return;
    }
    r.active = true;
    r.since = Clock::now();
    r.backoff = {};
    r.attempts = 0;
    r.cause = status;
    r.last = Status::OK();
    r.replied = false;
    LOG(WARNING) << "PS client of worker " << options_.worker_id << ": "
                 << conns_[i]->name() << ": " << status.message() << "; reconnecting";
  }
  ScheduleReconnect(s);
}

void PsClient::Impl::ScheduleReconnect(int s) {
  Reconnect& r = reconnects_[static_cast<size_t>(s)];
  r.backoff = r.backoff == Clock::duration{}
                  ? Clock::duration(kFirstBackoff)
                  : std::min<Clock::duration>(r.backoff * 2, kMaxBackoff);
  r.timer->expires_after(r.backoff);
  r.timer->async_wait([this, s](boost::system::error_code ec) {
    if (!ec) StartReconnect(s);
  });
}

void PsClient::Impl::StartReconnect(int s) {
  Reconnect& r = reconnects_[static_cast<size_t>(s)];
  const Clock::time_point deadline = r.since + options_.reconnect_budget;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!failure_.ok()) return;
    if (Clock::now() >= deadline) {
      std::string why = "connection lost (" + r.cause.message() + ") and not back within " +
                        std::to_string(options_.reconnect_budget.count()) + " ms (" +
                        std::to_string(r.attempts) + " attempts";
      why += r.last.ok() ? ")" : "; last: " + r.last.message() + ")";
      RecordFailure(s, Status::Unavailable(why));
      return;
    }
  }
  ++r.attempts;
  r.next = MakeConnection(s);
  // The connection's own dial loop retries refused dials until the deadline.
  r.next->StartConnect(deadline, [this, s](const Status& status) { OnReconnected(s, status); });
}

void PsClient::Impl::OnReconnected(int s, const Status& status) {
  const size_t i = static_cast<size_t>(s);
  Reconnect& r = reconnects_[i];
  std::lock_guard<std::mutex> lock(mu_);
  if (r.next) retired_conns_.push_back(std::move(r.next));
  if (!failure_.ok()) return;
  if (!status.ok()) {
    r.last = status;
    // A dial that found nothing until the deadline, a handshake broken by the network or
    // refused: try again while the budget lasts (the final error quotes the last failure).
    ScheduleReconnect(s);
    return;
  }
  std::swap(conns_[i], retired_conns_.back());  // the new one in, the old one retired
  ++stats_.reconnects;
  r.active = false;
  LOG(WARNING) << "PS client of worker " << options_.worker_id << ": " << conns_[i]->name()
               << ": reconnected after " << Ms(Clock::now() - r.since) << " ms ("
               << r.attempts << " attempts)";
  ResendAll(s);
}

void PsClient::Impl::ResendAll(int s) {
  IdRing<PendingRequest>& ring = pending_[static_cast<size_t>(s)];
  ServerConnection& conn = *conns_[static_cast<size_t>(s)];
  const Clock::time_point deadline = Clock::now() + options_.rpc_timeout;
  // In id order, which is the order they were first sent: a worker's clock still follows
  // its pushes.
  for (uint64_t id = ring.front_id(); id < ring.next_id(); ++id) {
    PendingRequest* req = ring.Find(id);
    if (req == nullptr) continue;
    if (IsControl(req->kind)) {
      RecordFailure(s, Status::Unavailable(std::string("connection lost with a ") +
                                           RequestKindName(req->kind) +
                                           " request in flight (not resent)"));
      return;
    }
    // Not yet complete: the caller sends it once it is, to the new connection.
    if (!req->frame_ready) continue;
    req->deadline = deadline;
    const std::vector<uint8_t>& frame = req->frame;
    conn.Enqueue([&](ByteBuffer* out) { out->Append(frame.data(), frame.size()); });
    ++stats_.resent;
  }
}

}  // namespace psrec::client
