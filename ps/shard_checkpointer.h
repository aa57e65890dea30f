// ShardCheckpointer: one server's part of a coordinated checkpoint (the protocol is in
// wire/proto/wire.proto, "Checkpoints").
//
//   Begin        copies every served table (table::EmbeddingTable::Snapshot) on the io thread, at a
//                clock boundary where no worker pushes, and queues the copy for the writer
//                thread. The copy is the only time training waits for a checkpoint.
//   writer       a background thread writes the queued snapshots with checkpoint::WriteCheckpointShard
//                (temp name, fsync, rename) and posts the outcome back to the io thread.
//   WhenWritten  answers once the write of a step is on disk (and, on the server that
//                collects them, once every expected LOCAL file report has arrived).
//
// Failures are sticky: once a write failed, WhenWritten of that step and every later Begin
// return the error, prefixed with "server <id>" and naming the file (checkpoint::WriteTableShard's
// message), so the job fails at its next checkpoint or at its end, never silently.
//
// Memory: a snapshot doubles the served rows until its write finishes.
//
// Thread safety: every public method runs on the server's io thread (the owner). The
// writer thread touches only its queue (under mu_) and reports through `post`, which must
// run the function on the io thread (or drop it when the server is stopping).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "wire/proto/wire.pb.h"
#include "common/status.h"
#include "checkpoint/checkpoint_writer.h"
#include "checkpoint/written_file.h"
#include "table/embedding_table.h"

namespace psrec::ps {

class ShardCheckpointer {
 public:
  using Post = std::function<void(std::function<void()>)>;
  using StatusCallback = std::function<void(Result<wire::CheckpointStatusReply>)>;

  // faults: test seam for the writer thread (checkpoint::WriteCheckpointShard's fault hook).
  ShardCheckpointer(int server_id, std::optional<checkpoint::CheckpointFaults> faults, Post post);
  // Finishes the write in progress (its files stay valid) and drops the queued ones.
  ~ShardCheckpointer();
  ShardCheckpointer(const ShardCheckpointer&) = delete;
  ShardCheckpointer& operator=(const ShardCheckpointer&) = delete;

  // Snapshots `tables` (nulls skipped) and queues their write into request.dir().
  Result<wire::CheckpointReply> Begin(const wire::CheckpointRequest& request,
                                      const std::vector<std::unique_ptr<table::EmbeddingTable>>& tables);
  // A worker's LOCAL files (or its failure) for a step.
  void AddLocalReport(const wire::CheckpointFileReport& report);
  // Calls done once the step is complete (maybe at once), with the files written here and
  // the LOCAL files reported here.
  void WhenWritten(int64_t step, StatusCallback done);

 private:
  struct Job {
    int64_t step = 0;
    std::string dir;
    std::vector<table::TableSnapshot> snapshots;
  };
  struct StepState {
    bool begun = false;
    bool written = false;
    Status error;  // the write's or a LOCAL report's
    int local_expected = 0;
    int local_received = 0;
    int64_t write_us = 0;
    std::vector<wire::WrittenFile> files;
    std::vector<StatusCallback> waiters;
  };

  void WriterLoop();
  Status WriteJob(const Job& job, std::vector<wire::WrittenFile>* files);
  // io thread: the writer finished `step`.
  void OnWritten(int64_t step, const Status& status, std::vector<wire::WrittenFile> files,
                 int64_t write_us);
  void AnswerIfComplete(int64_t step);

  const int server_id_;
  Post post_;
  std::map<int64_t, StepState> steps_;  // io thread
  Status failed_;                       // io thread: the first failed write

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> queue_;  // GUARDED_BY(mu_)
  bool stopping_ = false;  // GUARDED_BY(mu_)
  std::optional<checkpoint::CheckpointFaults> faults_;  // writer thread
  std::thread writer_;
};

}  // namespace psrec::ps
