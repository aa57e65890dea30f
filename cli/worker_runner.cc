#include "cli/worker_runner.h"

#include "client/client_metrics.h"
#include "wire/metrics_http_server.h"

#include <chrono>
#include <memory>

#include "data/dataset.h"
#include "common/keys.h"
#include "models/model_tables.h"
#include "table/table_spec.h"
#include "checkpoint/checkpoint_reader.h"
#include "train/dense_tables.h"
#include "train/federated_privacy.h"
#include "train/federated_round.h"
#include "train/pretrained_rows.h"
#include "train/table_access.h"
#include "train/worker_checkpointer.h"
#include "train/worker_id_text.h"

namespace psrec::cli {

Status RunWorker(const WorkerRunOptions& options) {
  const config::JobConfig& job = *options.job;
  ASSIGN_OR_RETURN(data::WorkerData data,
                   data::LoadWorkerData(job.data(), options.worker, options.num_workers));

  client::PsClientOptions client_options;
  client_options.worker_id = options.worker;
  client_options.num_workers = options.num_workers;
  client_options.servers = options.servers;
  client_options.job_id = job.job_id();
  client_options.secret = options.secret;
  client_options.rpc_timeout = std::chrono::milliseconds(job.cluster().rpc_timeout_ms());
  client_options.connect_timeout = std::chrono::milliseconds(job.cluster().connect_timeout_ms());
  client_options.max_frame_bytes = static_cast<size_t>(job.cluster().max_frame_bytes());
  client_options.faults = options.faults;
  if (options.transport != nullptr) client_options.transport = options.transport;
  client_options.use_local_socket = options.use_local_socket;
  client_options.reconnect_budget = options.reconnect_budget;
  ASSIGN_OR_RETURN(std::unique_ptr<client::PsClient> client,
                   client::PsClient::Connect(client_options));
  // GET /metrics on cluster.metrics_port + rank; a worker's rank follows the servers'.
  std::unique_ptr<wire::MetricsHttpServer> metrics;
  if (const int base = job.cluster().metrics_port(); base != 0) {
    const int rank = static_cast<int>(options.servers.size()) + options.worker;
    Result<std::unique_ptr<wire::MetricsHttpServer>> started = wire::MetricsHttpServer::Start(
        job.cluster().bind_address(), base + rank,
        [worker = options.worker, c = client.get()] {
          return client::RenderClientMetrics(worker, c->stats());
        });
    if (!started.ok()) {
      return started.status().WithContext("worker " + std::to_string(options.worker));
    }
    metrics = std::move(*started);
  }

  ASSIGN_OR_RETURN(models::JobModel job_model, models::ModelForJob(job));
  // The trainer reads one table keyed by user and one keyed by item (the examples' fields).
  const int user_table = job_model.model->TableKeyedBy(models::KeyedBy::kUser);
  const int item_table = job_model.model->TableKeyedBy(models::KeyedBy::kItem);
  if (user_table < 0 || item_table < 0) {
    return Status::InvalidArgument("model " + std::string(job_model.model->name()) +
                                   ": the trainer needs a table keyed by user and one by item");
  }
  std::unique_ptr<train::TableAccess> users, items;
  // Dense tables (an MLP's weights) always live on the servers (models/model_tables.cc
  // refuses LOCAL for them); every batch pulls them whole.
  std::vector<std::unique_ptr<train::TableAccess>> dense_accesses;
  std::vector<train::TableAccess*> dense_tables;
  for (const TableSpec& spec : job_model.tables) {
    if (spec.is_dense()) {
      dense_accesses.push_back(std::make_unique<train::RemoteTableAccess>(client.get(), spec));
      dense_tables.push_back(dense_accesses.back().get());
      continue;
    }
    std::unique_ptr<train::TableAccess> access;
    if (spec.placement == config::TableConfig::LOCAL) {
      access = std::make_unique<train::LocalTableAccess>(spec, job.training().seed());
    } else {
      access = std::make_unique<train::RemoteTableAccess>(client.get(), spec);
    }
    if (static_cast<int>(spec.id) == user_table) users = std::move(access);
    if (static_cast<int>(spec.id) == item_table) items = std::move(access);
  }
  table::EmbeddingTable* local_users = users->local_table();  // LOCAL user rows, or null
  if (job.training().update_mode() == config::FEDERATED &&
      job_model.model->examples() != models::Examples::kRatings &&
      job.data().implicit().sampler() != config::ImplicitConfig::UNIFORM) {
    // A federated client draws its negatives on its device (train/federated_implicit.cc);
    // popularity weights are counts over every client's positives, other clients' data.
    return Status::InvalidArgument(
        "data.implicit.sampler: training.update_mode FEDERATED needs UNIFORM (a client "
        "draws its own negatives; popularity counts are other clients' data)");
  }
  if (job.training().update_mode() == config::FEDERATED && local_users == nullptr) {
    return Status::InvalidArgument(
        "tables." + users->spec().name +
        ".placement: must be LOCAL for training.update_mode FEDERATED (a client's user row "
        "never leaves its worker)");
  }
  if (job.training().update_mode() == config::FEDERATED && !dense_tables.empty()) {
    return Status::InvalidArgument(
        "training.update_mode: FEDERATED does not train dense tables (model " +
        std::string(job_model.model->name()) + " has '" + dense_tables[0]->spec().name +
        "'); use GRADIENTS or DELTAS");
  }
  train::DenseTables dense(dense_tables, job.training().seed());
  // The text of string ids, for the checkpoints (before the trainer drops item names).
  std::vector<checkpoint::IdTextToWrite> id_text;
  if (!job.checkpoint().dir().empty()) {
    id_text = train::IdTextOfWorkerData(data, users->spec(), items->spec(), options.worker);
  }
  if (job.training().update_mode() == config::FEDERATED) {
    RETURN_IF_ERROR(train::ResolveFederatedPrivacy(job).status());
    RETURN_IF_ERROR(train::CheckFederatedSchedule(job));
  }
  train::TrainerOptions trainer_options;
  if (!options.resume_from.empty()) {
    // Servers check the data of their rows; a worker without LOCAL rows needs the manifest
    // only, and one with them has checkpoint::LoadRowsInto check each file it reads.
    checkpoint::ReadCheckpointOptions read;
    read.verify_checksums = false;
    ASSIGN_OR_RETURN(checkpoint::LoadedCheckpoint checkpoint,
                     checkpoint::ReadCheckpoint(options.resume_from, read));
    if (local_users != nullptr) {
      RETURN_IF_ERROR(checkpoint::LoadLocalRows(checkpoint, users->spec().id, options.worker,
                                                options.num_workers, local_users));
    }
    if (!job.checkpoint().dir().empty()) {
      RETURN_IF_ERROR(train::CarryCheckpointIdText(checkpoint, job_model.tables, options.worker,
                                                   options.num_workers, &id_text));
    }
    const checkpoint::Manifest& m = checkpoint.manifest;
    trainer_options.first_epoch = m.epoch();
    trainer_options.first_step = m.step();
    trainer_options.first_clock = m.clock();
    trainer_options.model_scalars =
        models::ModelScalars(m.model_scalars().begin(), m.model_scalars().end());
  }
  if (options.resume_from.empty() && local_users != nullptr && job.model().has_pretrain()) {
    // The users of this worker's partition from the pretrained models (as LoadLocalRows).
    ASSIGN_OR_RETURN(const train::InitialRows initial, train::InitialRowsFor(job));
    const int worker = options.worker, workers = options.num_workers;
    RETURN_IF_ERROR(initial(
        local_users->spec(),
        [worker, workers](uint64_t key) { return PartitionOfUser(key, workers) == worker; },
        [local_users](uint64_t key, const float* payload) {
          local_users->UpsertRow(key, payload, nullptr);
        }));
  }
  std::unique_ptr<train::WorkerCheckpointer> checkpointer;
  if (!job.checkpoint().dir().empty()) {
    train::WorkerCheckpointerOptions checkpoint_options;
    checkpoint_options.job = &job;
    checkpoint_options.tables = job_model.tables;
    checkpoint_options.rank = options.worker;
    checkpoint_options.num_workers = options.num_workers;
    checkpoint_options.num_servers = static_cast<int>(options.servers.size());
    checkpoint_options.client = client.get();
    checkpoint_options.local_users = local_users;
    checkpoint_options.id_text = std::move(id_text);
    checkpointer = std::make_unique<train::WorkerCheckpointer>(checkpoint_options);
  }
  trainer_options.checkpointer = checkpointer.get();
  trainer_options.dense = &dense;
  trainer_options.job = &job;
  trainer_options.num_servers = static_cast<int>(options.servers.size());
  trainer_options.progress = options.progress;
  trainer_options.print_epochs = options.print_epochs;
  trainer_options.report = options.report;
  trainer_options.compute_slowdown = options.compute_slowdown;
  trainer_options.cancel = options.cancel;
  trainer_options.stop = options.stop;
  trainer_options.after_batch = options.after_batch;
  trainer_options.client_update_tap = options.client_update_tap;
  train::Trainer trainer(trainer_options, job_model.model.get(), &data, users.get(),
                         items.get(), client.get(), options.collective);
  if (Status trained = trainer.Run(); !trained.ok()) {
    // A trainer that fails mid-epoch has pulls in flight (the next batches' rows, pipelined
    // ahead; an evaluation's second table) into buffers it frees when it is destroyed below,
    // before the client: the client must stop reading replies into them first.
    client->Close(trained);
    return trained;
  }
  if (options.history != nullptr) *options.history = trainer.history();
  if (options.stopped_after_epoch != nullptr) {
    *options.stopped_after_epoch = trainer.stopped_after_epoch();
  }
  return Status::OK();
}

}  // namespace psrec::cli
