#include "ps/shard_checkpointer.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include <glog/logging.h>

namespace psrec::ps {

namespace {

int64_t MicrosSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now() - start)
      .count();
}

}  // namespace

ShardCheckpointer::ShardCheckpointer(int server_id, std::optional<checkpoint::CheckpointFaults> faults,
                                     Post post)
    : server_id_(server_id), post_(std::move(post)), faults_(faults) {
  writer_ = std::thread([this] { WriterLoop(); });
}

ShardCheckpointer::~ShardCheckpointer() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    queue_.clear();
  }
  cv_.notify_all();
  writer_.join();
}

Result<wire::CheckpointReply> ShardCheckpointer::Begin(
    const wire::CheckpointRequest& request,
    const std::vector<std::unique_ptr<table::EmbeddingTable>>& tables) {
  // A failed write fails every later checkpoint: its directory will never be complete, and
  // the job must learn about it even if nobody asked for that step's status.
  RETURN_IF_ERROR(failed_);
  StepState& state = steps_[request.step()];
  if (state.begun) {
    return Status::InvalidArgument("server " + std::to_string(server_id_) + ": checkpoint step " +
                                   std::to_string(request.step()) + " was already taken");
  }
  state.begun = true;
  state.local_expected =
      server_id_ == 0 ? std::max(request.local_partitions(), request.worker_reports()) : 0;
  const auto start = std::chrono::steady_clock::now();
  Job job;
  job.step = request.step();
  job.dir = request.dir();
  uint64_t rows = 0;
  for (const auto& table : tables) {
    if (table == nullptr) continue;
    job.snapshots.push_back(table->Snapshot());
    rows += table->size();
  }
  wire::CheckpointReply reply;
  reply.set_request_id(request.request_id());
  reply.set_snapshot_us(MicrosSince(start));
  reply.set_rows(rows);
  {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back(std::move(job));
  }
  cv_.notify_all();
  return reply;
}

void ShardCheckpointer::AddLocalReport(const wire::CheckpointFileReport& report) {
  StepState& state = steps_[report.step()];
  ++state.local_received;
  if (!report.error().empty() && state.error.ok()) {
    state.error = Status::IoError("worker " + std::to_string(report.worker_id()) + ": " +
                                  report.error());
  }
  for (const wire::WrittenFile& file : report.files()) state.files.push_back(file);
  AnswerIfComplete(report.step());
}

void ShardCheckpointer::WhenWritten(int64_t step, StatusCallback done) {
  auto it = steps_.find(step);
  if (it == steps_.end() || !it->second.begun) {
    done(Status::InvalidArgument("server " + std::to_string(server_id_) +
                                 ": no checkpoint was taken at step " + std::to_string(step)));
    return;
  }
  it->second.waiters.push_back(std::move(done));
  AnswerIfComplete(step);
}

void ShardCheckpointer::AnswerIfComplete(int64_t step) {
  auto it = steps_.find(step);
  if (it == steps_.end()) return;
  StepState& state = it->second;
  if (!state.begun || !state.written || state.local_received < state.local_expected ||
      state.waiters.empty()) {
    return;
  }
  std::vector<StatusCallback> waiters = std::move(state.waiters);
  wire::CheckpointStatusReply reply;
  reply.set_step(step);
  reply.set_write_us(state.write_us);
  for (const wire::WrittenFile& file : state.files) *reply.add_files() = file;
  Result<wire::CheckpointStatusReply> result =
      state.error.ok() ? Result<wire::CheckpointStatusReply>(std::move(reply))
                       : Result<wire::CheckpointStatusReply>(state.error);
  // Each step is asked for once (by worker 0); forget it so that steps_ stays small.
  steps_.erase(it);
  for (StatusCallback& done : waiters) done(result);
}

void ShardCheckpointer::OnWritten(int64_t step, const Status& status,
                                  std::vector<wire::WrittenFile> files, int64_t write_us) {
  StepState& state = steps_[step];
  state.written = true;
  state.write_us = write_us;
  for (wire::WrittenFile& file : files) state.files.push_back(std::move(file));
  if (!status.ok()) {
    LOG(ERROR) << status.message();
    if (failed_.ok()) failed_ = status;
    if (state.error.ok()) state.error = status;
  }
  AnswerIfComplete(step);
}

Status ShardCheckpointer::WriteJob(const Job& job, std::vector<wire::WrittenFile>* files) {
  for (const table::TableSnapshot& snapshot : job.snapshots) {
    checkpoint::FileInfo info;
    RETURN_IF_ERROR(checkpoint::WriteCheckpointShard(snapshot.rows(), job.dir, server_id_, /*local=*/false,
                                         &info, faults_ ? &*faults_ : nullptr));
    files->push_back(checkpoint::WrittenFileOf(info, snapshot.rows().state_floats, /*local=*/false));
  }
  return Status::OK();
}

void ShardCheckpointer::WriterLoop() {
  while (true) {
    Job job;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      job = std::move(queue_.front());
      queue_.pop_front();
    }
    const auto start = std::chrono::steady_clock::now();
    std::vector<wire::WrittenFile> files;
    Status status = WriteJob(job, &files);
    if (!status.ok()) {
      status = status.WithContext("server " + std::to_string(server_id_) + ": checkpoint " +
                                  job.dir);
    }
    const int64_t write_us = MicrosSince(start);
    job.snapshots.clear();  // free the copy before waiting for the next one
    post_([this, step = job.step, status, files = std::move(files), write_us]() mutable {
      OnWritten(step, status, std::move(files), write_us);
    });
  }
}

}  // namespace psrec::ps
