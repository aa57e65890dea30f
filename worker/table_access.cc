#include "worker/table_access.h"

namespace psrec::worker {

Result<TableAccess::Ticket> RemoteTableAccess::BeginPull(std::span<const uint64_t> keys,
                                                         float* out, int clock) {
  return client_->Pull(table_, keys, dim_, out, clock);
}

Status RemoteTableAccess::EndPull(Ticket ticket) { return client_->Wait(ticket); }

Status RemoteTableAccess::Push(std::span<const uint64_t> keys, std::span<const float> grads,
                               float lr) {
  return client_->Push(table_, keys, dim_, grads, lr);
}

Result<TableAccess::Ticket> LocalTableAccess::BeginPull(std::span<const uint64_t> keys,
                                                        float* out, int /*clock*/) {
  pending_.push_back({keys, out});
  return first_ticket_ + pending_.size() - 1;
}

Status LocalTableAccess::EndPull(Ticket ticket) {
  CHECK(!pending_.empty() && ticket == first_ticket_) << "local pulls end in the order they began";
  table_.Pull(pending_.front().keys, pending_.front().out);
  pending_.pop_front();
  ++first_ticket_;
  return Status::OK();
}

Status LocalTableAccess::Push(std::span<const uint64_t> keys, std::span<const float> grads,
                              float lr) {
  CHECK_EQ(grads.size(), keys.size() * static_cast<size_t>(table_.dim()));
  table_.Push(keys, grads.data(), lr);
  return Status::OK();
}

}  // namespace psrec::worker
