// psrec train: one rank of an MPI job. Ranks 0..S-1 serve, ranks S..S+W-1 train.
// MPI does bootstrap (the job secret via MPI_Bcast from rank 0, server endpoints via
// MPI_Allgather), the workers' reductions (a workers-only communicator) and the final
// barrier; push/pull traffic goes over TCP.
// A worker that fails prints its error once and calls MPI_Abort, so every rank exits != 0.
#include <mpi.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <iostream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/flags.h"
#include "cli/commands.h"
#include "cli/job_warnings.h"
#include "cli/job_secret.h"
#include "cli/mpi_collective.h"
#include "cli/run_setup.h"
#include "cli/stop_signal.h"
#include "cli/worker_runner.h"
#include "ps/server.h"
#include "train/pretrained_rows.h"

namespace psrec::cli {
namespace {

constexpr int kEndpointBytes = 256;

std::string AdvertisedHost(const config::ClusterConfig& cluster) {
  if (!cluster.advertise_address().empty()) return cluster.advertise_address();
  if (cluster.bind_address() != "0.0.0.0") return cluster.bind_address();
  char host[256] = {0};
  if (gethostname(host, sizeof(host) - 1) != 0) return "127.0.0.1";
  return host;
}

// MPI_Barrier polls at full speed; a server rank waiting out the whole job in it would take
// a core from its own io thread and from the workers. This barrier sleeps between polls.
void QuietBarrier(MPI_Comm comm) {
  MPI_Request request;
  MPI_Ibarrier(comm, &request);
  int done = 0;
  while (true) {
    MPI_Test(&request, &done, MPI_STATUS_IGNORE);
    if (done) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

// Rank 0's job secret (cluster.token, token_file, or else drawn at random) on every rank,
// before any server listens. Only rank 0 reads the token file (it may exist on its host
// only). Collective: every rank calls it.
Result<std::string> ShareJobSecret(int rank, const config::ClusterConfig& cluster) {
  Result<std::string> secret =
      rank == 0 ? ConfiguredOrDrawnJobSecret(cluster) : Result<std::string>(std::string());
  int length = rank == 0 ? (secret.ok() ? static_cast<int>(secret->size()) : -1) : 0;
  MPI_Bcast(&length, 1, MPI_INT, 0, MPI_COMM_WORLD);
  if (length < 0) {
    return rank == 0 ? secret.status() : Status::Aborted("rank 0 has no job secret");
  }
  std::string bytes = rank == 0 ? std::move(secret).value() : std::string(length, '\0');
  MPI_Bcast(bytes.data(), length, MPI_CHAR, 0, MPI_COMM_WORLD);
  return bytes;
}

[[noreturn]] void Fail(int rank, const std::string& message) {
  std::cerr << "psrec train (rank " << rank << "): " << message << std::endl;
  MPI_Abort(MPI_COMM_WORLD, 1);
  std::exit(1);
}

}  // namespace

int RunTrainCommand(int argc, char** argv) {
  CommonJobFlags common;
  std::optional<int> servers;  // unset: cluster.servers
  FlagSet flags("psrec train",
                "One rank of a distributed job, started by mpirun:\n"
                "  mpirun -np S+W psrec train --servers S --config job.textproto\n"
                "Ranks 0..S-1 are parameter servers, the others workers.\n"
                "With checkpoint.dir set, checkpoints are written every checkpoint.every_epochs\n"
                "/ every_seconds and at the end; --resume continues from the latest valid one,\n"
                "with any number of servers and workers.\n"
                "SIGTERM/SIGINT (mpirun forwards it to every rank) stops every worker after\n"
                "the same epoch, with a checkpoint when checkpoint.dir is set, and exits 0;\n"
                "a second signal exits at once.\n"
                "With cluster.metrics_port=P, rank r serves Prometheus metrics on\n"
                "cluster.bind_address:(P+r)/metrics (docs/observability.md).");
  common.Register(&flags);
  flags.AddOptionalInt("servers", &servers, "parameter-server ranks [default: cluster.servers]",
                       1, 4096);
  Status parsed = flags.Parse(argc, argv);
  if (flags.help_requested()) {
    std::cout << flags.Usage();
    return 0;
  }
  int provided = 0;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  if (servers) common.overrides.push_back("cluster.servers=" + std::to_string(*servers));
  // Every rank loads the same config and so fails the same way; rank 0 says why.
  Result<RunSetup> setup = parsed.ok() ? PrepareRun(common, /*reporter=*/false)
                                       : Result<RunSetup>(parsed);
  if (setup.ok()) {
    int num_servers = setup->job.cluster().servers();
    if (size <= num_servers) {
      setup = Status::InvalidArgument(
          "this job has " + std::to_string(size) + " processes but " +
          std::to_string(num_servers) + " servers: start at least " +
          std::to_string(num_servers + 1) + " (mpirun -np S+W)");
    }
  }
  // Every rank takes part (setup fails alike on all of them, so all or none get here).
  Result<std::string> secret =
      setup.ok() ? ShareJobSecret(rank, setup->job.cluster()) : Result<std::string>(setup.status());
  if (!setup.ok() || !secret.ok()) {
    const Status& why = setup.ok() ? secret.status() : setup.status();
    if (rank == 0) std::cerr << "psrec train: " << why.message() << "\n";
    MPI_Finalize();
    return 2;
  }
  if (rank == 0) {
    const std::string warning = NoTestSetWarning(setup->job.data());
    if (!warning.empty()) std::cerr << "psrec train: warning: " << warning << "\n";
  }
  config::JobConfig& job = setup->job;
  const int num_servers = job.cluster().servers();
  const int num_workers = size - num_servers;
  job.mutable_cluster()->set_workers(num_workers);
  const bool is_server = rank < num_servers;
  const bool is_reporter = rank == num_servers;
  if (is_reporter) {
    Result<RunSetup> with_report = PrepareRun(common, /*reporter=*/true);
    if (!with_report.ok()) Fail(rank, with_report.status().message());
    setup->report = std::move(with_report->report);
  }
  // Every rank: a server rank must not die of the first signal while the workers finish.
  InstallStopSignalHandlers("psrec train");
  MPI_Comm role_comm;
  MPI_Comm_split(MPI_COMM_WORLD, is_server ? 0 : 1, rank, &role_comm);

  std::unique_ptr<ps::Server> server;
  char endpoint[kEndpointBytes] = {0};
  if (is_server) {
    ps::ServerOptions options;
    options.job = job;
    options.secret = *secret;
    options.tables = setup->tables;
    options.server_id = rank;
    options.num_servers = num_servers;
    options.num_workers = num_workers;
    options.bind_address = job.cluster().bind_address();
    options.port = job.cluster().base_port() == 0 ? 0 : job.cluster().base_port() + rank;
    options.resume_from = setup->resume_from;
    options.start_clock = static_cast<int32_t>(setup->resume_clock);
    if (setup->resume_from.empty()) {
      // A fresh start from pretrained models: this server reads its rows of both checkpoints.
      Result<train::InitialRows> initial = train::InitialRowsFor(job);
      if (!initial.ok()) Fail(rank, "server " + std::to_string(rank) + ": " + initial.status().message());
      options.initial_rows = std::move(initial).value();
    }
    Result<std::unique_ptr<ps::Server>> started = ps::Server::Start(options);
    if (!started.ok()) Fail(rank, "server " + std::to_string(rank) + ": " + started.status().message());
    server = std::move(started).value();
    std::string text = AdvertisedHost(job.cluster()) + ":" + std::to_string(server->port());
    std::strncpy(endpoint, text.c_str(), kEndpointBytes - 1);
  }
  std::vector<char> all(static_cast<size_t>(kEndpointBytes) * size);
  MPI_Allgather(endpoint, kEndpointBytes, MPI_CHAR, all.data(), kEndpointBytes, MPI_CHAR,
                MPI_COMM_WORLD);
  std::vector<std::string> endpoints;
  for (int i = 0; i < num_servers; ++i) endpoints.emplace_back(&all[static_cast<size_t>(i) * kEndpointBytes]);

  std::optional<int> stopped_after_epoch;  // a graceful stop (the same on every worker)
  if (!is_server) {
    MpiCollective collective(role_comm);
    role_comm = MPI_COMM_NULL;  // owned by collective
    WorkerRunOptions options;
    options.job = &job;
    options.worker = rank - num_servers;
    options.num_workers = num_workers;
    options.servers = endpoints;
    options.secret = *secret;
    options.collective = &collective;
    options.report = setup->report.get();
    options.progress = is_reporter && setup->progress;
    options.print_epochs = !setup->quiet;
    options.resume_from = setup->resume_from;
    options.stop = StopRequested();
    options.stopped_after_epoch = &stopped_after_epoch;
    Status status = RunWorker(options);
    if (!status.ok()) Fail(rank, "worker " + std::to_string(options.worker) + ": " + status.message());
  }
  // Servers keep serving until every worker is done.
  QuietBarrier(MPI_COMM_WORLD);
  if (server != nullptr) server->Stop();
  if (role_comm != MPI_COMM_NULL) MPI_Comm_free(&role_comm);
  if (is_reporter && stopped_after_epoch) {
    std::cout << StoppedLine("psrec train", job, *stopped_after_epoch) << std::endl;
  }
  if (is_reporter) PrintRunFooter(*setup);
  MPI_Finalize();
  return 0;
}

}  // namespace psrec::cli
