// ShardService: pushes (gradients or deltas): checking, holding them back under BSP, and
// applying them. The rest of the request logic is in shard_service.cc.
#include <algorithm>
#include <cmath>
#include <string>
#include <utility>

#include <glog/logging.h>

#include "ps/shard_service.h"

namespace psrec::ps {

Status ShardService::HandlePush(Connection& conn, std::span<const uint8_t> body) {
  wire::PushRequestView push;
  RETURN_IF_ERROR(wire::DecodePushRequest(body, &scratch_, &push));
  ASSIGN_OR_RETURN(table::EmbeddingTable * table, TableFor(push.table));
  if (Status problem = CheckPush(push, *table); !problem.ok()) {
    // Malformed gradients come only from a broken client; deltas of another width from a
    // worker configured with another optimizer, which is told so.
    if (push.kind != wire::PushRequest::DELTAS) return problem;
    wire::AppendError(push.request_id, problem, &conn.out());
    return Status::OK();
  }
  const int worker = conn.session().worker_id;
  ASSIGN_OR_RETURN(const bool first_time, dedup_.Accept(worker, push.sequence));
  if (!first_time) {
    // Applied (or held, under BSP) when it first came: acknowledge the copy only.
    ServerCounters::Add(counters_->duplicate_pushes, 1);
    wire::AppendAck(push.request_id, &conn.out());
    return Status::OK();
  }
  if (clocks_.consistency() == config::BSP && !clocks_.finished(worker)) {
    HeldPush held{clocks_.clock(worker), {}};
    if (!spare_bodies_.empty()) {
      held.body = std::move(spare_bodies_.back());
      spare_bodies_.pop_back();
    }
    held.body.assign(body.begin(), body.end());
    held_[worker].push_back(std::move(held));
  } else {
    ApplyPush(push, *table);
  }
  wire::AppendAck(push.request_id, &conn.out());
  return Status::OK();
}

Status ShardService::CheckPush(const wire::PushRequestView& push,
                               const table::EmbeddingTable& table) const {
  if (push.kind == wire::PushRequest::GRADIENTS) {
    const size_t expected = push.keys.size() * static_cast<size_t>(table.dim());
    if (push.values.size() != expected) {
      return Status::InvalidArgument("push of " + std::to_string(push.keys.size()) +
                                     " keys to table " + std::to_string(push.table) + " (dim " +
                                     std::to_string(table.dim()) + ") carries " +
                                     std::to_string(push.values.size()) + " gradients");
    }
    if (!std::isfinite(push.learning_rate)) {
      return Status::InvalidArgument("push with a non-finite learning rate");
    }
    return Status::OK();
  }
  if (push.state_floats != table.state_floats()) {
    return StateMismatch("push of deltas", table, push.state_floats);
  }
  const size_t expected = push.keys.size() * static_cast<size_t>(table.row_floats());
  if (push.values.size() != expected) {
    return Status::InvalidArgument("push of deltas of " + std::to_string(push.keys.size()) +
                                   " keys to table " + table.spec().name + " (" +
                                   std::to_string(table.row_floats()) +
                                   " floats per row) carries " +
                                   std::to_string(push.values.size()) + " floats");
  }
  return Status::OK();
}

void ShardService::ApplyPush(const wire::PushRequestView& push, table::EmbeddingTable& table) {
  switch (push.kind) {
    case wire::PushRequest::GRADIENTS:
      table.Push(push.keys, push.values.data(), push.learning_rate);
      break;
    case wire::PushRequest::DELTAS:
      table.AddRows(push.keys, push.values.data());
      break;
    default:
      LOG(FATAL) << "push of kind " << push.kind << " passed CheckPush";
  }
  ServerCounters::Add(counters_->pushes, 1);
  ServerCounters::Add(counters_->rows_pushed, push.keys.size());
}

void ShardService::ApplyFinishedClocks() {
  const int64_t slowest = clocks_.slowest_clock();
  for (;;) {
    int64_t clock = slowest;
    for (const auto& queue : held_) {
      if (!queue.empty()) clock = std::min<int64_t>(clock, queue.front().clock);
    }
    if (clock >= slowest) return;
    for (auto& queue : held_) {
      while (!queue.empty() && queue.front().clock == clock) {
        wire::PushRequestView push;
        const Status decoded = wire::DecodePushRequest(queue.front().body, &scratch_, &push);
        CHECK(decoded.ok()) << "a held push no longer decodes: " << decoded.message();
        ApplyPush(push, *tables_[push.table]);
        spare_bodies_.push_back(std::move(queue.front().body));
        queue.pop_front();
      }
    }
  }
}

}  // namespace psrec::ps
