// PsClient's checkpoint calls (client/ps_client.h): control requests that the caller, or
// a background checkpoint thread, sends to some servers and awaits together.
#include <utility>

#include "wire/frame_codec.h"
#include "client/ps_client_impl.h"

namespace psrec::client {

Result<std::vector<std::string>> PsClient::Impl::CallServers(RequestKind kind,
                                                             const std::vector<int>& servers,
                                                             const ControlEncoder& encode) {
  auto call = std::make_shared<ControlCall>();
  call->replies.resize(static_cast<size_t>(num_servers_));
  std::vector<std::pair<int, uint64_t>> ids;
  {
    std::lock_guard<std::mutex> lock(mu_);
    RETURN_IF_ERROR(Usable());
    for (int s : servers) {
      uint64_t id = 0;
      AddRequest(s, kind, &id)->call = call;
      ++call->left;
      ids.emplace_back(s, id);
    }
  }
  // Not a structured binding: clang before 16 cannot capture one in a lambda (CI's
  // sanitizer builds use Debian's clang 14).
  for (const auto& entry : ids) {
    const auto s = entry.first;
    const auto id = entry.second;
    // Not kept for a resend: a reconnect fails a checkpoint call (ResendAll).
    Send(s, id, /*retained=*/false, [&](ByteBuffer* buf) { encode(s, id, buf); });
  }
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] { return !failure_.ok() || call->left == 0; });
  RETURN_IF_ERROR(failure_);
  return std::move(call->replies);
}

Status PsClient::Impl::CompleteControl(int s, uint64_t id, std::span<const uint8_t> body) {
  IdRing<PendingRequest>& ring = pending_[static_cast<size_t>(s)];
  PendingRequest* req = ring.Find(id);
  if (req == nullptr || req->call == nullptr) {
    return Status::Corruption("sent a checkpoint reply to unknown request " + std::to_string(id));
  }
  std::shared_ptr<ControlCall> call = std::move(req->call);
  call->replies[static_cast<size_t>(s)].assign(body.begin(), body.end());
  ring.Retire(id);
  if (--call->left == 0) cv_.notify_all();
  return Status::OK();
}

Status PsClient::Impl::OnControlReply(int s, wire::MessageType type,
                                      std::span<const uint8_t> body) {
  uint64_t id = 0;
  if (type == wire::MessageType::kCheckpointReply) {
    wire::CheckpointReply reply;
    RETURN_IF_ERROR(wire::DecodeControl(body, &reply));
    id = reply.request_id();
  } else {
    wire::CheckpointStatusReply reply;
    RETURN_IF_ERROR(wire::DecodeControl(body, &reply));
    id = reply.request_id();
  }
  std::lock_guard<std::mutex> lock(mu_);
  return CompleteControl(s, id, body);
}

Result<std::vector<wire::CheckpointReply>> PsClient::Impl::TakeCheckpoint(
    wire::CheckpointRequest request) {
  std::vector<int> all;
  for (int s = 0; s < num_servers_; ++s) all.push_back(s);
  const int local_partitions = request.local_partitions();
  const int worker_reports = request.worker_reports();
  ASSIGN_OR_RETURN(std::vector<std::string> bodies,
                   CallServers(RequestKind::kCheckpoint, all, [&](int s, uint64_t id, ByteBuffer* out) {
                     request.set_request_id(id);
                     // Only server 0 collects the workers' files.
                     request.set_local_partitions(s == 0 ? local_partitions : 0);
                     request.set_worker_reports(s == 0 ? worker_reports : 0);
                     wire::AppendControl(wire::MessageType::kCheckpoint, request, out);
                   }));
  std::vector<wire::CheckpointReply> replies(bodies.size());
  for (size_t s = 0; s < bodies.size(); ++s) {
    // Decoded once already by the io thread: cannot fail here.
    RETURN_IF_ERROR(wire::DecodeControl(
        std::span(reinterpret_cast<const uint8_t*>(bodies[s].data()), bodies[s].size()),
        &replies[s]));
  }
  return replies;
}

Status PsClient::Impl::ReportCheckpointFiles(wire::CheckpointFileReport report) {
  report.set_worker_id(options_.worker_id);
  return CallServers(RequestKind::kCheckpointFile, {0},
                     [&](int, uint64_t id, ByteBuffer* out) {
                       report.set_request_id(id);
                       wire::AppendControl(wire::MessageType::kCheckpointFile, report, out);
                     })
      .status();
}

Result<std::vector<wire::CheckpointStatusReply>> PsClient::Impl::AwaitCheckpointWritten(
    int64_t step) {
  std::vector<int> all;
  for (int s = 0; s < num_servers_; ++s) all.push_back(s);
  ASSIGN_OR_RETURN(std::vector<std::string> bodies,
                   CallServers(RequestKind::kCheckpointStatus, all,
                               [&](int, uint64_t id, ByteBuffer* out) {
                                 wire::CheckpointStatusRequest request;
                                 request.set_request_id(id);
                                 request.set_step(step);
                                 wire::AppendControl(wire::MessageType::kCheckpointStatus,
                                                     request, out);
                               }));
  std::vector<wire::CheckpointStatusReply> replies(bodies.size());
  for (size_t s = 0; s < bodies.size(); ++s) {
    RETURN_IF_ERROR(wire::DecodeControl(
        std::span(reinterpret_cast<const uint8_t*>(bodies[s].data()), bodies[s].size()),
        &replies[s]));
  }
  return replies;
}

}  // namespace psrec::client
