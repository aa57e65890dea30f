#include "cli/simulation.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include <glog/logging.h>

#include "wire/fault_transport.h"

#include "cli/job_secret.h"
#include "cli/worker_runner.h"
#include "checkpoint/checkpoint_reader.h"
#include "models/model_tables.h"
#include "ps/server.h"
#include "train/pretrained_rows.h"
#include "train/thread_collective.h"

namespace psrec::cli {
namespace {

class FirstError {
 public:
  void Record(const Status& s) {
    std::lock_guard<std::mutex> lock(mu_);
    if (first_.ok()) first_ = s;
  }
  Status Get() {
    std::lock_guard<std::mutex> lock(mu_);
    return first_;
  }

 private:
  std::mutex mu_;
  Status first_;
};

}  // namespace

Status CheckStragglerWorker(int index, int num_workers, const std::string& source) {
  if (index == -1 || (index >= 0 && index < num_workers)) return Status::OK();
  const std::string workers =
      std::to_string(num_workers) + (num_workers == 1 ? " worker" : " workers");
  return Status::InvalidArgument(source + ": " + std::to_string(index) +
                                 " is not a worker of this job: expected -1 (none) or 0.." +
                                 std::to_string(num_workers - 1) + " (" + workers + ")");
}

Result<SimulationResult> RunSimulation(const SimulationOptions& options) {
  const config::JobConfig& job = options.job;
  const int num_servers = job.cluster().servers();
  const int num_workers = job.cluster().workers();
  RETURN_IF_ERROR(CheckStragglerWorker(job.simulation().straggler_worker(), num_workers,
                                       "simulation.straggler_worker"));
  const auto start = std::chrono::steady_clock::now();
  ASSIGN_OR_RETURN(const std::vector<TableSpec> tables, models::TableSpecsForJob(job));
  int64_t start_clock = 0;
  if (!options.resume_from.empty()) {
    checkpoint::ReadCheckpointOptions quick;
    quick.verify_checksums = false;
    ASSIGN_OR_RETURN(checkpoint::LoadedCheckpoint checkpoint,
                     checkpoint::ReadCheckpoint(options.resume_from, quick));
    start_clock = checkpoint.manifest.clock();
  }
  // A fresh start from pretrained models: the servers' first rows (read by each server).
  train::InitialRows initial_rows;
  if (options.resume_from.empty()) {
    ASSIGN_OR_RETURN(initial_rows, train::InitialRowsFor(job));
  }

  // Shared by the threads of this process only: an outsider on the host cannot join.
  ASSIGN_OR_RETURN(const std::string secret, ConfiguredOrDrawnJobSecret(job.cluster()));

  std::vector<std::unique_ptr<ps::Server>> servers;
  std::vector<std::string> endpoints;
  std::once_flag stopped;
  std::mutex stop_mu;  // Server::Stop must not run twice at once (an injected crash)
  auto stop_all = [&servers, &stopped, &stop_mu] {
    std::call_once(stopped, [&servers, &stop_mu] {
      std::lock_guard<std::mutex> lock(stop_mu);
      for (auto& server : servers) server->Stop();
    });
  };
  for (int i = 0; i < num_servers; ++i) {
    ps::ServerOptions server_options;
    server_options.job = job;
    server_options.secret = secret;
    server_options.tables = tables;
    server_options.server_id = i;
    server_options.num_servers = num_servers;
    server_options.num_workers = num_workers;
    server_options.bind_address = "127.0.0.1";
    server_options.port = 0;
    server_options.resume_from = options.resume_from;
    server_options.start_clock = static_cast<int32_t>(start_clock);
    server_options.initial_rows = initial_rows;
    if (i == options.checkpoint_fault_server) {
      server_options.checkpoint_faults = options.checkpoint_faults;
    }
    Result<std::unique_ptr<ps::Server>> server = ps::Server::Start(server_options);
    if (!server.ok()) {
      stop_all();
      return server.status().WithContext("server " + std::to_string(i));
    }
    endpoints.push_back("127.0.0.1:" + std::to_string((*server)->port()));
    servers.push_back(std::move(server).value());
  }

  // An injected server crash (options.crash): the crasher thread below waits for the run's
  // end or for the crash's moment (server_crash_due, set by worker 0 for a step-timed one).
  std::mutex crash_mu;
  std::condition_variable crash_cv;
  bool workers_done = false;
  bool server_crash_due = false;

  std::optional<wire::FaultInjector> injector;
  if (options.network_faults) injector.emplace(*options.network_faults);
  train::ThreadCollectiveGroup group(num_workers);
  std::atomic<bool> cancel{false};
  FirstError first_error;
  SimulationResult result;
  std::vector<std::thread> threads;
  threads.reserve(static_cast<size_t>(num_workers));
  if (injector) injector->Restart();  // partitions are timed from here
  for (int w = 0; w < num_workers; ++w) {
    threads.emplace_back([&, w] {
      std::unique_ptr<train::Collective> member = group.Member(w);
      std::optional<wire::FaultyTransport> faulty;
      if (injector) {
        wire::Transport* inner = options.worker_transport != nullptr ? options.worker_transport
                                                                     : wire::Transport::Default();
        faulty.emplace(inner, &*injector, w, endpoints);
      }
      WorkerRunOptions run;
      run.job = &job;
      run.worker = w;
      run.num_workers = num_workers;
      run.servers = endpoints;
      run.secret = secret;
      run.collective = member.get();
      run.report = w == 0 ? options.report : nullptr;
      run.progress = options.progress;
      run.print_epochs = options.print_epochs;
      run.compute_slowdown =
          w == job.simulation().straggler_worker() ? job.simulation().straggler_factor() : 1.0;
      run.faults.latency_us = job.simulation().latency_us();
      run.faults.bandwidth_mbps = job.simulation().bandwidth_mbps();
      run.cancel = &cancel;
      run.stop = options.stop;
      run.reconnect_budget = options.reconnect_budget;
      run.transport = options.worker_transport;
      if (faulty) {
        run.transport = &*faulty;
        run.use_local_socket = false;  // the faults name servers by their TCP address
      }
      const bool crashes = options.crash && !options.crash->server && options.crash->index == w;
      // Worker 0's steps time a step-timed server crash.
      const bool times_server_crash =
          options.crash && options.crash->server && options.crash->at_step > 0 && w == 0;
      if (options.after_batch || crashes || times_server_crash) {
        run.after_batch = [&, w, crashes, times_server_crash](int64_t step) {
          const bool due = options.crash && (options.crash->at_step > 0
                               ? step >= options.crash->at_step
                               : std::chrono::steady_clock::now() - start >=
                                     std::chrono::milliseconds(options.crash->after_ms));
          if (crashes && due && !options.crash->fired->exchange(true)) {
            return Status::Aborted("injected crash of worker " + std::to_string(w));
          }
          if (times_server_crash && due) {
            std::lock_guard<std::mutex> lock(crash_mu);
            if (!server_crash_due) {
              server_crash_due = true;
              crash_cv.notify_all();
            }
          }
          return options.after_batch ? options.after_batch(w, step) : Status::OK();
        };
      }
      if (options.client_update_tap) {
        run.client_update_tap = [&options, w](const train::ClientUpdate& update) {
          options.client_update_tap(w, update);
        };
      }
      run.stopped_after_epoch = w == 0 ? &result.stopped_after_epoch : nullptr;
      run.history = w == 0 ? &result.history : nullptr;
      run.resume_from = options.resume_from;
      Status status = RunWorker(run);
      if (!status.ok()) {
        first_error.Record(status.WithContext("worker " + std::to_string(w)));
        cancel = true;
        group.Abort();
        // A worker parked in a BSP/SSP pull waits for the failed one forever otherwise:
        // stopping the servers fails those pulls at once.
        stop_all();
      }
    });
  }
  std::thread crasher;
  if (options.crash && options.crash->server) {
    // The server is stopped from its own thread, not from worker 0's batch callback, which
    // would then wait on its own failed requests.
    crasher = std::thread([&] {
      std::unique_lock<std::mutex> lock(crash_mu);
      if (options.crash->at_step > 0) {
        crash_cv.wait(lock, [&] { return workers_done || server_crash_due; });
        if (workers_done) return;
      } else {
        const auto at = start + std::chrono::milliseconds(options.crash->after_ms);
        if (crash_cv.wait_until(lock, at, [&] { return workers_done; })) return;
      }
      lock.unlock();  // worker 0 may still be signalling
      if (options.crash->fired->exchange(true)) return;
      std::lock_guard<std::mutex> stopping(stop_mu);
      servers[static_cast<size_t>(options.crash->index)]->Stop();
    });
  }
  for (auto& t : threads) t.join();
  if (crasher.joinable()) {
    {
      std::lock_guard<std::mutex> lock(crash_mu);
      workers_done = true;
    }
    crash_cv.notify_all();
    crasher.join();
  }
  stop_all();
  if (injector) LOG(INFO) << "network faults applied: " << injector->Summary();
  RETURN_IF_ERROR(first_error.Get());
  if (injector) result.faults_applied = injector->Summary();
  result.wall_sec =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

}  // namespace psrec::cli
