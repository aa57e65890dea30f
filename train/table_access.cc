#include "train/table_access.h"

#include <cstring>

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

Result<TableAccess::Ticket> RemoteTableAccess::BeginPullReadOnly(std::span<const uint64_t> keys,
                                                                 float* out, uint8_t* missing,
                                                                 int clock) {
  return client_->PullReadOnly(table_, keys, dim_, out, missing, clock);
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
  pending_.push_back({keys, out, false, nullptr});
  return first_ticket_ + pending_.size() - 1;
}

Result<TableAccess::Ticket> LocalTableAccess::BeginPullReadOnly(std::span<const uint64_t> keys,
                                                                float* out, uint8_t* missing,
                                                                int /*clock*/) {
  CHECK(missing != nullptr || keys.empty()) << "a read-only pull needs missing flags";
  pending_.push_back({keys, out, false, missing});
  return first_ticket_ + pending_.size() - 1;
}

Result<TableAccess::Ticket> LocalTableAccess::BeginPullWithState(
    std::span<const uint64_t> keys, float* out, int /*clock*/) {
  pending_.push_back({keys, out, true, nullptr});
  return first_ticket_ + pending_.size() - 1;
}

Status LocalTableAccess::EndPull(Ticket ticket) {
  CHECK(!pending_.empty() && ticket == first_ticket_) << "local pulls end in the order they began";
  const Pending& pull = pending_.front();
  if (pull.missing != nullptr) {
    CopyExistingRows(pull);
  } else if (pull.with_state) {
    table_.PullWithState(pull.keys, pull.out);
  } else {
    table_.Pull(pull.keys, pull.out);
  }
  pending_.pop_front();
  ++first_ticket_;
  return Status::OK();
}

void LocalTableAccess::CopyExistingRows(const Pending& pull) {
  const size_t dim = static_cast<size_t>(table_.dim());
  found_rows_.resize(pull.keys.size());
  table_.FindRows(pull.keys, found_rows_.data());
  for (size_t i = 0; i < pull.keys.size(); ++i) {
    const float* row = found_rows_[i];
    pull.missing[i] = row == nullptr ? 1 : 0;
    if (row != nullptr) {
      std::memcpy(pull.out + i * dim, row, dim * sizeof(float));
    } else {
      std::memset(pull.out + i * dim, 0, dim * sizeof(float));
    }
  }
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
