// psrec bench train: trains a job in one process (the simulation: S server threads and W
// worker threads over loopback TCP, the code `psrec train` runs) and prints throughput,
// epoch time, bytes on the wire per rating, peak RSS and accuracy. Data generation and
// loading are not timed: figures come from the training epochs only.
#include <sys/resource.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "common/config.h"
#include "models/model_tables.h"
#include "common/flags.h"
#include "common/json.h"
#include "cli/commands.h"
#include "cli/job_warnings.h"
#include "cli/simulation.h"

namespace psrec::cli {
namespace {

double Median(std::vector<double> v) {
  if (v.empty()) return std::nan("");
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

int64_t PeakRssBytes() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<int64_t>(usage.ru_maxrss) * 1024;  // Linux reports KiB
}

// User + system CPU time of every thread of the process (servers and workers): on a loaded
// machine a steadier figure than wall time. Includes data loading and evaluation.
double ProcessCpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         1e-6 * static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec);
}

}  // namespace

int RunBenchTrain(int argc, char** argv) {
  std::string config_path = "configs/bench_synth20m.textproto";
  std::vector<std::string> overrides;
  std::string placement;
  // Unset: 1 server, 1 worker (not the config's shape: a benchmark states its own), the
  // config's epochs, no target.
  std::optional<int> servers_flag, workers_flag, epochs;
  std::optional<double> target_flag;
  bool json = false;
  FlagSet flags("psrec bench train",
                "Train in one process (S server and W worker threads over loopback TCP) and\n"
                "print ratings/s, epoch time, wire bytes per rating, peak RSS and test RMSE;\n"
                "implicit models (e.g. GMF, NeuMF) print training examples/s (positives and\n"
                "sampled negatives) and their ranking figures instead. Per-epoch figures are\n"
                "medians over the epochs; data generation and evaluation are not timed.");
  flags.AddString("config", &config_path, "job config");
  flags.AddRepeated("set", &overrides, "override a config field, e.g. --set model.dim=64");
  flags.AddString("placement", &placement, "user table placement: local or remote "
                  "[default: the config's]");
  flags.AddOptionalInt("servers", &servers_flag, "parameter servers [default: 1]", 1, 4096);
  flags.AddOptionalInt("workers", &workers_flag, "workers [default: 1]", 1, 4096);
  flags.AddOptionalInt("epochs", &epochs, "epochs [default: the config's]", 1);
  flags.AddOptionalDouble("target-rmse", &target_flag,
                          "also report the training time until test RMSE <= this (0: off) "
                          "[default: 0]", 0);
  flags.AddBool("json", &json, "print one JSON object instead of a table");
  Status s = flags.Parse(argc, argv);
  if (flags.help_requested()) {
    std::cout << flags.Usage();
    return 0;
  }
  if (s.ok() && !placement.empty() && placement != "local" && placement != "remote") {
    s = Status::InvalidArgument("--placement: expected local or remote, got '" + placement + "'");
  }
  const int servers = servers_flag.value_or(1), workers = workers_flag.value_or(1);
  const double target_rmse = target_flag.value_or(0);
  overrides.push_back("cluster.servers=" + std::to_string(servers));
  overrides.push_back("cluster.workers=" + std::to_string(workers));
  if (epochs) overrides.push_back("training.epochs=" + std::to_string(*epochs));
  overrides.push_back("output.progress=OFF");
  SimulationOptions options;
  if (s.ok()) {
    Result<config::JobConfig> job = LoadJobConfig(config_path, overrides);
    if (job.ok()) options.job = *std::move(job);
    s = job.status();
  }
  bool local = false;  // the placement of the model's table keyed by user, after --placement
  if (s.ok()) {
    Result<models::JobModel> job_model = models::ModelForJob(options.job);
    s = job_model.status();
    const int id = s.ok() ? job_model->model->TableKeyedBy(models::KeyedBy::kUser) : -1;
    if (s.ok() && id < 0 && !placement.empty()) {
      s = Status::InvalidArgument("--placement: the model has no table keyed by user");
    } else if (id >= 0) {
      config::TableConfig* users = models::MutableTableConfig(
          &options.job, job_model->tables[static_cast<size_t>(id)].name);
      if (!placement.empty()) {
        users->set_placement(placement == "local" ? config::TableConfig::LOCAL
                                                  : config::TableConfig::REMOTE);
      }
      local = users->placement() == config::TableConfig::LOCAL;
    }
  }
  if (s.ok()) {
    s = CheckStragglerWorker(options.job.simulation().straggler_worker(), workers,
                             "simulation.straggler_worker");
  }
  if (!s.ok()) {
    std::cerr << "psrec bench train: " << s.message() << "\n";
    return 2;
  }
  if (const std::string warning = NoTestSetWarning(options.job.data()); !warning.empty()) {
    std::cerr << "psrec bench train: warning: " << warning << "\n";
  }
  options.print_epochs = !json;
  const double cpu_start = ProcessCpuSeconds();
  Result<SimulationResult> result = RunSimulation(options);
  if (!result.ok()) {
    std::cerr << "psrec bench train: " << result.status().message() << "\n";
    return 1;
  }
  const auto& history = result->history;
  if (history.empty()) {
    std::cerr << "psrec bench train: no epoch completed\n";
    return 1;
  }
  std::vector<double> rates, epoch_secs;
  double trained = 0, elapsed = 0, time_to_target = -1;
  for (const auto& m : history) {
    rates.push_back(m.ratings_per_sec);
    epoch_secs.push_back(m.epoch_sec);
    trained += static_cast<double>(m.ratings);
    elapsed += m.epoch_sec;
    if (target_rmse > 0 && time_to_target < 0 && m.test_rmse <= target_rmse) {
      time_to_target = elapsed;
    }
  }
  const auto& last = history.back();
  // Implicit models train on positives and their sampled negatives: the rate counts both.
  const bool ranking = !last.ranking.empty();
  const char* unit = ranking ? "examples" : "ratings";
  const double wire_per_rating = (last.bytes_sent + last.bytes_received) / std::max(trained, 1.0);
  const int64_t rss = PeakRssBytes();
  const double cpu_sec = ProcessCpuSeconds() - cpu_start;
  if (json) {
    Json j;
    j["benchmark"] = "train";
    j["servers"] = servers;
    j["workers"] = workers;
    j["placement"] = local ? "local" : "remote";
    j["dim"] = options.job.model().dim();
    j["epochs"] = history.size();
    j["unit"] = unit;  // what ratings_per_sec counts
    j["ratings_per_sec"] = JsonFixed(Median(rates), 0);
    j["cpu_sec"] = JsonFixed(cpu_sec, 3);
    for (const auto& [name, value] : last.ranking) j[name] = JsonFixed(value, 6);
    j["epoch_sec"] = JsonFixed(Median(epoch_secs), 4);
    j["wire_bytes_per_rating"] = JsonFixed(wire_per_rating, 2);
    j["peak_rss_bytes"] = rss;
    j["test_rmse"] = JsonFixed(last.test_rmse, 6);  // null without a test set
    j["pull_wait_sec"] = JsonFixed(last.pull_wait_sec, 3);
    j["time_to_target_sec"] = JsonFixed(time_to_target, 3);  // -1: not reached or no target
    std::cout << JsonText(j) << "\n";
  } else {
    std::printf("bench train: %d server(s), %d worker(s), %s users, dim %d, %zu epochs\n",
                servers, workers, local ? "LOCAL" : "REMOTE", options.job.model().dim(),
                history.size());
    std::printf("  %s/s (median epoch)%s %.3fM\n", unit, ranking ? " " : "  ", Median(rates) / 1e6);
    std::printf("  epoch time (median)        %.3f s\n", Median(epoch_secs));
    std::printf("  wire bytes per rating      %.1f\n", wire_per_rating);
    std::printf("  peak RSS (whole job)       %.1f MB\n", rss / 1e6);
    std::printf("  process CPU time           %.2f s (%.1f us per %s trained)\n", cpu_sec,
                cpu_sec * 1e6 / std::max(trained, 1.0), ranking ? "example" : "rating");
    if (ranking) {
      for (const auto& [name, value] : last.ranking) {
        std::printf("  %-10s (last epoch)    %.4g\n", name.c_str(), value);
      }
    } else {
      std::printf("  test RMSE (last epoch)     %.4f\n", last.test_rmse);
    }
    if (target_rmse > 0) {
      if (time_to_target >= 0) {
        std::printf("  time to RMSE <= %.4f      %.2f s of training\n", target_rmse,
                    time_to_target);
      } else {
        std::printf("  RMSE %.4f not reached\n", target_rmse);
      }
    }
  }
  return 0;
}

}  // namespace psrec::cli
