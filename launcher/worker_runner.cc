#include "launcher/worker_runner.h"

#include <chrono>
#include <memory>

#include "common/dataset.h"
#include "common/table_spec.h"
#include "worker/table_access.h"

namespace psrec::launcher {

Status RunWorker(const WorkerRunOptions& options) {
  const config::JobConfig& job = *options.job;
  ASSIGN_OR_RETURN(data::WorkerData data,
                   data::LoadWorkerData(job.data(), options.worker, options.num_workers));

  worker::PsClientOptions client_options;
  client_options.worker_id = options.worker;
  client_options.num_workers = options.num_workers;
  client_options.servers = options.servers;
  client_options.job_id = job.job_id();
  client_options.token = job.cluster().token();
  client_options.rpc_timeout = std::chrono::milliseconds(job.cluster().rpc_timeout_ms());
  client_options.connect_timeout = std::chrono::milliseconds(job.cluster().connect_timeout_ms());
  client_options.max_frame_bytes = static_cast<size_t>(job.cluster().max_frame_bytes());
  client_options.faults = options.faults;
  ASSIGN_OR_RETURN(std::unique_ptr<worker::PsClient> client,
                   worker::PsClient::Connect(client_options));

  std::unique_ptr<worker::TableAccess> users, items;
  for (const TableSpec& spec : TableSpecsForJob(job)) {
    std::unique_ptr<worker::TableAccess> access;
    if (spec.placement == config::TableConfig::LOCAL) {
      access = std::make_unique<worker::LocalTableAccess>(spec, job.training().seed());
    } else {
      access = std::make_unique<worker::RemoteTableAccess>(client.get(), spec.id, spec.dim);
    }
    if (spec.id == kUserTable) users = std::move(access);
    if (spec.id == kItemTable) items = std::move(access);
  }
  CHECK(users != nullptr && items != nullptr) << "biased MF needs a user and an item table";

  worker::TrainerOptions trainer_options;
  trainer_options.job = &job;
  trainer_options.num_servers = static_cast<int>(options.servers.size());
  trainer_options.progress = options.progress;
  trainer_options.print_epochs = options.print_epochs;
  trainer_options.report = options.report;
  trainer_options.compute_slowdown = options.compute_slowdown;
  trainer_options.cancel = options.cancel;
  worker::Trainer trainer(trainer_options, &data, users.get(), items.get(), client.get(),
                          options.collective);
  RETURN_IF_ERROR(trainer.Run());
  if (options.history != nullptr) *options.history = trainer.history();
  return Status::OK();
}

}  // namespace psrec::launcher
