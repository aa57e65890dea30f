#include "train/worker_checkpointer.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <memory>
#include <utility>

#include <glog/logging.h>

#include "table/table_spec.h"
#include "checkpoint/checkpoint_catalog.h"
#include "checkpoint/checkpoint_format.h"
#include "checkpoint/checkpoint_writer.h"
#include "checkpoint/job_identity.h"
#include "table/optimizer.h"
#include "checkpoint/written_file.h"

namespace psrec::train {

namespace {

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

WorkerCheckpointer::WorkerCheckpointer(const WorkerCheckpointerOptions& options)
    : options_(options), root_(options.job->checkpoint().dir()) {
  thread_ = std::thread([this] { Loop(); });
}

WorkerCheckpointer::~WorkerCheckpointer() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    tasks_.clear();
  }
  cv_.notify_all();
  thread_.join();
}

void WorkerCheckpointer::Enqueue(std::function<Status()> task) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    tasks_.push_back(std::move(task));
  }
  cv_.notify_all();
}

void WorkerCheckpointer::Loop() {
  while (true) {
    std::function<Status()> task;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !tasks_.empty(); });
      if (stopping_) return;
      task = std::move(tasks_.front());
      tasks_.pop_front();
      busy_ = true;
    }
    Status status = task();
    std::lock_guard<std::mutex> lock(mu_);
    busy_ = false;
    if (!status.ok() && failure_.ok()) {
      LOG(ERROR) << "worker " << options_.rank << ": " << status.message();
      failure_ = status;
      // Later tasks build on this checkpoint's files: drop them.
      tasks_.clear();
    }
    cv_.notify_all();
  }
}

Result<double> WorkerCheckpointer::Take(const CheckpointPoint& point) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    RETURN_IF_ERROR(failure_);
  }
  const std::string dir = root_ + "/" + checkpoint::CheckpointDirName(point.step);
  double pause = 0;
  if (options_.rank == 0) {
    // A job resumed from an older checkpoint reaches the steps of the newer ones again: its
    // checkpoint replaces theirs (they belong to the abandoned continuation).
    std::error_code ec;
    if (std::filesystem::exists(dir, ec)) {
      LOG(WARNING) << "replacing " << dir << " (written by an earlier run past this step)";
      std::filesystem::remove_all(dir, ec);
      if (ec) return Status::IoError("cannot remove " + dir + ": " + ec.message());
    }
    wire::CheckpointRequest request;
    request.set_step(point.step);
    request.set_epoch(point.epoch);
    request.set_clock(point.clock);
    request.set_dir(dir);
    request.set_local_partitions(options_.local_users != nullptr ? options_.num_workers : 0);
    // Every worker reports its id text files (perhaps none), LOCAL owners with their rows.
    request.set_worker_reports(options_.num_workers);
    ASSIGN_OR_RETURN(std::vector<wire::CheckpointReply> replies,
                     options_.client->TakeCheckpoint(request));
    for (const wire::CheckpointReply& reply : replies) {
      pause = std::max(pause, static_cast<double>(reply.snapshot_us()) * 1e-6);
    }
  }
  std::shared_ptr<table::TableSnapshot> snapshot;
  if (options_.local_users != nullptr) {
    const auto start = std::chrono::steady_clock::now();
    snapshot = std::make_shared<table::TableSnapshot>(options_.local_users->Snapshot());
    pause = std::max(pause, SecondsSince(start));
  }
  taken_.push_back(
      [this, point, dir, snapshot] { return WriteWorkerFiles(point, dir, snapshot.get()); });
  if (options_.rank == 0) taken_.push_back([this, point, dir] { return Commit(point, dir); });
  return pause;
}

void WorkerCheckpointer::StartWrites() {
  for (auto& task : taken_) Enqueue(std::move(task));
  taken_.clear();
}

Status WorkerCheckpointer::WriteWorkerFiles(const CheckpointPoint& point, const std::string& dir,
                                            const table::TableSnapshot* snapshot) {
  wire::CheckpointFileReport report;
  report.set_step(point.step);
  Status written;
  if (snapshot != nullptr) {
    checkpoint::FileInfo info;
    written = checkpoint::WriteCheckpointShard(snapshot->rows(), dir, options_.rank,
                                               /*local=*/true, &info);
    if (written.ok()) {
      *report.add_files() =
          checkpoint::WrittenFileOf(info, snapshot->rows().state_floats, /*local=*/true);
    }
  }
  for (const checkpoint::IdTextToWrite& text : options_.id_text) {
    if (!written.ok()) break;
    checkpoint::FileInfo info;
    written = checkpoint::WriteIdTextFile(text.table, text.table_name, text.entries, dir,
                                          options_.rank, &info);
    if (written.ok()) *report.add_files() = checkpoint::WrittenIdTextFileOf(info);
  }
  if (!written.ok()) report.set_error(written.message());
  // Report even a failure: worker 0 is waiting for this report to complete the step.
  RETURN_IF_ERROR(options_.client->ReportCheckpointFiles(std::move(report)));
  return written.WithContext("checkpoint " + dir);
}

Status WorkerCheckpointer::Commit(const CheckpointPoint& point, const std::string& dir) {
  const auto start = std::chrono::steady_clock::now();
  ASSIGN_OR_RETURN(std::vector<wire::CheckpointStatusReply> replies,
                   options_.client->AwaitCheckpointWritten(point.step));
  const config::JobConfig& job = *options_.job;
  checkpoint::Manifest manifest;
  *manifest.mutable_job() = job;
  // Resume refuses a checkpoint of another job by this (cli/run_setup.cc).
  *manifest.mutable_identity() = checkpoint::JobIdentityOf(job);
  manifest.set_shards(options_.num_servers);
  manifest.set_local_partitions(options_.local_users != nullptr ? options_.num_workers : 0);
  manifest.set_step(point.step);
  manifest.set_epoch(point.epoch);
  manifest.set_clock(point.clock);
  for (const auto& [name, value] : point.model_scalars) {
    (*manifest.mutable_model_scalars())[name] = value;
  }
  manifest.set_seed(job.training().seed());
  for (const TableSpec& spec : options_.tables) {
    uint64_t rows = 0;
    for (const auto& reply : replies) {
      for (const wire::WrittenFile& file : reply.files()) {
        if (file.table_id() == spec.id && !file.id_text()) rows += file.rows();
      }
    }
    const int state_floats = table::MakeOptimizer(spec.optimizer)->state_floats(spec.dim);
    *manifest.add_tables() = checkpoint::TableInfoOf(spec, state_floats, rows);
  }
  for (const auto& reply : replies) {
    for (const wire::WrittenFile& file : reply.files()) {
      *(file.id_text() ? manifest.add_id_files() : manifest.add_files()) =
          checkpoint::FileInfoOf(file);
    }
  }
  RETURN_IF_ERROR(checkpoint::WriteManifest(dir, std::move(manifest)).WithContext("checkpoint " + dir));
  ASSIGN_OR_RETURN(std::vector<std::string> removed,
                   checkpoint::PruneCheckpoints(root_, job.checkpoint().keep_last()));
  VLOG(1) << "checkpoint " << dir << " committed in " << SecondsSince(start) << " s; pruned "
          << removed.size();
  return Status::OK();
}

Status WorkerCheckpointer::Finish() {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] { return (tasks_.empty() && !busy_) || !failure_.ok(); });
  return failure_;
}

}  // namespace psrec::train
