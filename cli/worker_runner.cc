#include "cli/worker_runner.h"

#include <chrono>
#include <memory>

#include "data/dataset.h"
#include "common/keys.h"
#include "table/table_spec.h"
#include "checkpoint/checkpoint_reader.h"
#include "train/table_access.h"
#include "train/worker_checkpointer.h"

namespace psrec::cli {

Status LoadLocalUserRows(const checkpoint::LoadedCheckpoint& checkpoint, int worker, int num_workers,
                         table::EmbeddingTable* table) {
  if (checkpoint.FindTable(kUserTable) == nullptr) return Status::OK();
  return checkpoint::LoadRowsInto(
      checkpoint, kUserTable,
      [worker, num_workers](uint64_t key) { return PartitionOfUser(key, num_workers) == worker; },
      table);
}

Status RunWorker(const WorkerRunOptions& options) {
  const config::JobConfig& job = *options.job;
  ASSIGN_OR_RETURN(data::WorkerData data,
                   data::LoadWorkerData(job.data(), options.worker, options.num_workers));

  client::PsClientOptions client_options;
  client_options.worker_id = options.worker;
  client_options.num_workers = options.num_workers;
  client_options.servers = options.servers;
  client_options.job_id = job.job_id();
  client_options.token = job.cluster().token();
  client_options.rpc_timeout = std::chrono::milliseconds(job.cluster().rpc_timeout_ms());
  client_options.connect_timeout = std::chrono::milliseconds(job.cluster().connect_timeout_ms());
  client_options.max_frame_bytes = static_cast<size_t>(job.cluster().max_frame_bytes());
  client_options.faults = options.faults;
  ASSIGN_OR_RETURN(std::unique_ptr<client::PsClient> client,
                   client::PsClient::Connect(client_options));

  std::unique_ptr<train::TableAccess> users, items;
  for (const TableSpec& spec : TableSpecsForJob(job)) {
    std::unique_ptr<train::TableAccess> access;
    if (spec.placement == config::TableConfig::LOCAL) {
      access = std::make_unique<train::LocalTableAccess>(spec, job.training().seed());
    } else {
      access = std::make_unique<train::RemoteTableAccess>(client.get(), spec);
    }
    if (spec.id == kUserTable) users = std::move(access);
    if (spec.id == kItemTable) items = std::move(access);
  }
  CHECK(users != nullptr && items != nullptr) << "biased MF needs a user and an item table";

  table::EmbeddingTable* local_users = users->local_table();  // LOCAL user rows, or null
  train::TrainerOptions trainer_options;
  if (!options.resume_from.empty()) {
    // Servers check the data of their rows; a worker without LOCAL rows needs the manifest
    // only, and one with them has checkpoint::LoadRowsInto check each file it reads.
    checkpoint::ReadCheckpointOptions read;
    read.verify_checksums = false;
    ASSIGN_OR_RETURN(checkpoint::LoadedCheckpoint checkpoint,
                     checkpoint::ReadCheckpoint(options.resume_from, read));
    if (local_users != nullptr) {
      RETURN_IF_ERROR(LoadLocalUserRows(checkpoint, options.worker, options.num_workers,
                                        local_users));
    }
    const checkpoint::Manifest& m = checkpoint.manifest;
    trainer_options.first_epoch = m.epoch();
    trainer_options.first_step = m.step();
    trainer_options.first_clock = m.clock();
    trainer_options.global_mean = m.global_mean();
  }
  std::unique_ptr<train::WorkerCheckpointer> checkpointer;
  if (!job.checkpoint().dir().empty()) {
    train::WorkerCheckpointerOptions checkpoint_options;
    checkpoint_options.job = &job;
    checkpoint_options.rank = options.worker;
    checkpoint_options.num_workers = options.num_workers;
    checkpoint_options.num_servers = static_cast<int>(options.servers.size());
    checkpoint_options.client = client.get();
    checkpoint_options.local_users = local_users;
    checkpointer = std::make_unique<train::WorkerCheckpointer>(checkpoint_options);
  }
  trainer_options.checkpointer = checkpointer.get();
  trainer_options.job = &job;
  trainer_options.num_servers = static_cast<int>(options.servers.size());
  trainer_options.progress = options.progress;
  trainer_options.print_epochs = options.print_epochs;
  trainer_options.report = options.report;
  trainer_options.compute_slowdown = options.compute_slowdown;
  trainer_options.cancel = options.cancel;
  train::Trainer trainer(trainer_options, &data, users.get(), items.get(), client.get(),
                          options.collective);
  RETURN_IF_ERROR(trainer.Run());
  if (options.history != nullptr) *options.history = trainer.history();
  return Status::OK();
}

}  // namespace psrec::cli
