#include "train/table_access.h"

namespace psrec::train {

RemoteTableAccess::RemoteTableAccess(client::PsClient* client, const TableSpec& spec)
    : client_(client),
      spec_(spec),
      table_(spec.id),
      dim_(spec.dim),
      optimizer_(table::MakeOptimizer(spec.optimizer)) {}

Result<TableAccess::Ticket> RemoteTableAccess::BeginPull(std::span<const uint64_t> keys,
                                                         float* out, int clock) {
  return client_->Pull(table_, keys, dim_, out, clock);
}

Status RemoteTableAccess::EndPull(Ticket ticket) { return client_->Wait(ticket); }

Status RemoteTableAccess::Push(std::span<const uint64_t> keys, std::span<const float> grads,
                               float lr) {
  return client_->Push(table_, keys, dim_, grads, lr);
}

Result<TableAccess::Ticket> RemoteTableAccess::BeginPullWithState(
    std::span<const uint64_t> keys, float* out, int clock) {
  return client_->PullWithState(table_, keys, dim_, state_floats(), out, clock);
}

Status RemoteTableAccess::PushDelta(std::span<const uint64_t> keys,
                                    std::span<const float> deltas) {
  return client_->PushDelta(table_, keys, dim_, state_floats(), deltas);
}

Result<TableAccess::Ticket> LocalTableAccess::BeginPull(std::span<const uint64_t> keys,
                                                        float* out, int /*clock*/) {
  pending_.push_back({keys, out, false});
  return first_ticket_ + pending_.size() - 1;
}

Result<TableAccess::Ticket> LocalTableAccess::BeginPullWithState(
    std::span<const uint64_t> keys, float* out, int /*clock*/) {
  pending_.push_back({keys, out, true});
  return first_ticket_ + pending_.size() - 1;
}

Status LocalTableAccess::EndPull(Ticket ticket) {
  CHECK(!pending_.empty() && ticket == first_ticket_) << "local pulls end in the order they began";
  const Pending& pull = pending_.front();
  if (pull.with_state) {
    table_.PullWithState(pull.keys, pull.out);
  } else {
    table_.Pull(pull.keys, pull.out);
  }
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

Status LocalTableAccess::PushDelta(std::span<const uint64_t> keys,
                                   std::span<const float> deltas) {
  CHECK_EQ(deltas.size(), keys.size() * static_cast<size_t>(table_.row_floats()));
  table_.AddRows(keys, deltas.data());
  return Status::OK();
}

}  // namespace psrec::train
