// psrec bench pushpull: push and pull throughput and small-request round trip between one
// parameter server and one worker (issue #5).
//
// By default the server runs in a child process (fork) and the worker in this one, over
// loopback TCP, like a real job on one host; --in-process runs the server as threads here.
// The table has --rows rows of --dim floats (model.dim = dim - 1: factors plus bias), all
// created before timing. Requests carry --keys-per-request distinct random keys, sorted;
// --pipeline requests are in flight at once: pulls keep that many tickets outstanding,
// pushes are sent in windows of that many and then flushed (acked). The server applies
// row -= lr * grad (SGD) on push and copies rows on pull. MB/s counts value bytes only
// (keys * dim * 4). The round trip is that of a 1-key pull, one at a time. Each throughput
// phase starts after one untimed window. A worker on the server's host talks to it over
// its Unix-domain socket (client::PsClientOptions::use_local_socket); --tcp keeps it on TCP.
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "common/flags.h"
#include "common/json.h"
#include "common/keys.h"
#include "common/status.h"
#include "cli/commands.h"
#include "ps/server.h"
#include "client/ps_client.h"

namespace psrec::cli {
namespace {

using Clock = std::chrono::steady_clock;

struct BenchOptions {
  int dim = 32;
  int keys_per_request = 10'000;
  int pipeline = 4;
  int64_t rows = 1'000'000;
  double seconds = 2.0;  // per throughput phase
  int rtt_samples = 2000;
  bool json = false;
  bool in_process = false;
  bool tcp = false;
  int64_t chunk_bytes = -1;  // client::PsClientOptions::chunk_bytes; -1: its default
};

struct BenchResult {
  double push_keys_per_sec = 0, pull_keys_per_sec = 0;
  double push_mb_per_sec = 0, pull_mb_per_sec = 0;
  double rtt_us_p50 = 0, rtt_us_p99 = 0;
  uint64_t push_requests = 0, pull_requests = 0;
  double worker_cpu_sec = 0, wall_sec = 0;
  client::ClientStats client;
};

constexpr float kLearningRate = 1e-4f;  // small: rows stay bounded over millions of pushes
constexpr int kKeySets = 8;             // distinct requests, cycled

// The benchmark's one table: rows of o.dim floats, as an embedding table of any model.
constexpr TableId kBenchTable = 0;

config::JobConfig BenchJob() {
  config::JobConfig job;
  job.set_job_id("bench-pushpull");
  job.mutable_cluster()->set_max_frame_bytes(1 << 30);
  return job;
}

TableSpec BenchTable(const BenchOptions& o) {
  TableSpec spec;
  spec.id = kBenchTable;
  spec.name = "rows";
  spec.dim = o.dim;
  spec.init_std = 0.1f;
  spec.zero_tail = 1;
  return spec;
}

Result<std::unique_ptr<ps::Server>> StartBenchServer(const BenchOptions& o) {
  ps::ServerOptions options;
  options.job = BenchJob();
  options.secret = "bench";
  options.tables = {BenchTable(o)};
  ASSIGN_OR_RETURN(std::unique_ptr<ps::Server> server, ps::Server::Start(options));
  // Create every row up front (as a trained model would have them), in key order.
  RETURN_IF_ERROR(server->RunOnTableThread([&](ps::ServedTables& tables) {
    table::EmbeddingTable& table = *tables[kBenchTable];
    table.Reserve(static_cast<size_t>(o.rows));
    constexpr size_t kChunk = 1 << 16;
    std::vector<uint64_t> keys(kChunk);
    std::vector<float> rows(kChunk * static_cast<size_t>(o.dim));
    for (int64_t first = 0; first < o.rows; first += kChunk) {
      const size_t n = static_cast<size_t>(std::min<int64_t>(kChunk, o.rows - first));
      for (size_t i = 0; i < n; ++i) keys[i] = static_cast<uint64_t>(first) + i;
      table.Pull({keys.data(), n}, rows.data());
    }
  }));
  return server;
}

Clock::duration PhaseLength(const BenchOptions& o) {
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.seconds));
}

double CpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto sec = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec * 1e-6; };
  return sec(usage.ru_utime) + sec(usage.ru_stime);
}

// kKeySets requests of distinct random keys in [0, rows), each sorted.
std::vector<std::vector<uint64_t>> MakeKeySets(const BenchOptions& o) {
  std::mt19937_64 rng(42);
  std::vector<std::vector<uint64_t>> sets(kKeySets);
  std::vector<uint8_t> taken(static_cast<size_t>(o.rows));
  for (auto& keys : sets) {
    std::fill(taken.begin(), taken.end(), 0);
    keys.reserve(static_cast<size_t>(o.keys_per_request));
    while (keys.size() < static_cast<size_t>(o.keys_per_request)) {
      const uint64_t k = rng() % static_cast<uint64_t>(o.rows);
      if (!taken[k]) {
        taken[k] = 1;
        keys.push_back(k);
      }
    }
    std::sort(keys.begin(), keys.end());
  }
  return sets;
}

Status MeasurePush(const BenchOptions& o, const std::vector<std::vector<uint64_t>>& sets,
                   client::PsClient& client, BenchResult* r) {
  const size_t k = static_cast<size_t>(o.keys_per_request);
  std::vector<float> grads(k * static_cast<size_t>(o.dim));
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> uniform(-1, 1);
  for (float& g : grads) g = uniform(rng);
  // One untimed window first: the send and receive buffers of both ends grow to their
  // steady size (and fault their pages in) outside the measurement, as after a trainer's
  // first batches.
  for (int i = 0; i < o.pipeline; ++i) {
    RETURN_IF_ERROR(client.Push(kBenchTable, sets[static_cast<size_t>(i) % kKeySets], o.dim,
                                grads, kLearningRate));
  }
  RETURN_IF_ERROR(client.Flush());
  uint64_t requests = 0;
  const Clock::time_point start = Clock::now();
  const Clock::time_point end = start + PhaseLength(o);
  do {
    for (int i = 0; i < o.pipeline; ++i) {
      RETURN_IF_ERROR(client.Push(kBenchTable, sets[requests % kKeySets], o.dim, grads,
                                  kLearningRate));
      ++requests;
    }
    RETURN_IF_ERROR(client.Flush());
  } while (Clock::now() < end);
  const double sec = std::chrono::duration<double>(Clock::now() - start).count();
  r->push_requests = requests;
  r->push_keys_per_sec = static_cast<double>(requests * k) / sec;
  r->push_mb_per_sec = r->push_keys_per_sec * o.dim * sizeof(float) / 1e6;
  return Status::OK();
}

Status MeasurePull(const BenchOptions& o, const std::vector<std::vector<uint64_t>>& sets,
                   client::PsClient& client, BenchResult* r) {
  const size_t k = static_cast<size_t>(o.keys_per_request);
  const auto depth = static_cast<size_t>(o.pipeline);
  std::vector<std::vector<float>> out(depth, std::vector<float>(k * static_cast<size_t>(o.dim)));
  std::vector<client::PsClient::Ticket> tickets(depth);
  for (size_t s = 0; s < depth; ++s) {  // untimed window: see MeasurePush
    ASSIGN_OR_RETURN(tickets[s], client.Pull(kBenchTable, sets[s % kKeySets], o.dim,
                                             out[s].data(), 0));
  }
  for (size_t s = 0; s < depth; ++s) RETURN_IF_ERROR(client.Wait(tickets[s]));
  uint64_t issued = 0, done = 0;
  auto issue = [&](size_t slot) -> Status {
    ASSIGN_OR_RETURN(tickets[slot], client.Pull(kBenchTable, sets[issued % kKeySets], o.dim,
                                                out[slot].data(), 0));
    ++issued;
    return Status::OK();
  };
  const Clock::time_point start = Clock::now();
  const Clock::time_point end = start + PhaseLength(o);
  for (size_t s = 0; s < depth; ++s) RETURN_IF_ERROR(issue(s));
  while (done < issued) {
    const size_t slot = done % depth;
    RETURN_IF_ERROR(client.Wait(tickets[slot]));
    ++done;
    if (Clock::now() < end) RETURN_IF_ERROR(issue(slot));
  }
  const double sec = std::chrono::duration<double>(Clock::now() - start).count();
  r->pull_requests = done;
  r->pull_keys_per_sec = static_cast<double>(done * k) / sec;
  r->pull_mb_per_sec = r->pull_keys_per_sec * o.dim * sizeof(float) / 1e6;
  return Status::OK();
}

Status MeasureRoundTrip(const BenchOptions& o, client::PsClient& client, BenchResult* r) {
  std::vector<float> row(static_cast<size_t>(o.dim));
  std::vector<double> us;
  us.reserve(static_cast<size_t>(o.rtt_samples));
  const int warmup = std::max(50, o.rtt_samples / 10);
  for (int i = 0; i < warmup + o.rtt_samples; ++i) {
    const uint64_t key = static_cast<uint64_t>(i * 7919) % static_cast<uint64_t>(o.rows);
    const Clock::time_point start = Clock::now();
    ASSIGN_OR_RETURN(client::PsClient::Ticket t,
                     client.Pull(kBenchTable, {&key, 1}, o.dim, row.data(), 0));
    RETURN_IF_ERROR(client.Wait(t));
    if (i >= warmup) {
      us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - start).count());
    }
  }
  std::sort(us.begin(), us.end());
  auto at = [&](double q) {
    return us[static_cast<size_t>(q * static_cast<double>(us.size() - 1))];
  };
  r->rtt_us_p50 = at(0.50);
  r->rtt_us_p99 = at(0.99);
  return Status::OK();
}

Status RunWorker(const BenchOptions& o, int port, BenchResult* r) {
  const std::vector<std::vector<uint64_t>> sets = MakeKeySets(o);
  client::PsClientOptions options;
  options.servers = {"127.0.0.1:" + std::to_string(port)};
  options.job_id = "bench-pushpull";
  options.secret = "bench";
  options.max_frame_bytes = size_t{1} << 30;
  options.use_local_socket = !o.tcp;
  if (o.chunk_bytes >= 0) options.chunk_bytes = static_cast<size_t>(o.chunk_bytes);
  ASSIGN_OR_RETURN(std::unique_ptr<client::PsClient> client, client::PsClient::Connect(options));
  const double cpu0 = CpuSeconds();
  const Clock::time_point start = Clock::now();
  RETURN_IF_ERROR(MeasureRoundTrip(o, *client, r));
  RETURN_IF_ERROR(MeasurePush(o, sets, *client, r));
  RETURN_IF_ERROR(MeasurePull(o, sets, *client, r));
  r->wall_sec = std::chrono::duration<double>(Clock::now() - start).count();
  r->worker_cpu_sec = CpuSeconds() - cpu0;
  r->client = client->stats();
  return client->Finish();
}

// Runs the server in a child process. The child reports its port (or -1) through a pipe
// and serves until the parent closes its end of a second pipe, so it never outlives the
// benchmark even when the parent dies.
Status RunWithServerProcess(const BenchOptions& o, BenchResult* r) {
  int port_pipe[2], stop_pipe[2];
  if (pipe(port_pipe) != 0 || pipe(stop_pipe) != 0) return Status::IoError("pipe failed");
  std::cout.flush();
  std::cerr.flush();
  const pid_t child = fork();
  if (child < 0) return Status::IoError("fork failed");
  if (child == 0) {
    close(port_pipe[0]);
    close(stop_pipe[1]);
    Result<std::unique_ptr<ps::Server>> server = StartBenchServer(o);
    int port = -1;
    if (server.ok()) {
      port = (*server)->port();
    } else {
      std::cerr << "psrec bench pushpull: server: " << server.status().ToString() << "\n";
    }
    if (write(port_pipe[1], &port, sizeof(port)) != sizeof(port)) _exit(1);
    char byte;
    while (read(stop_pipe[0], &byte, 1) > 0) {
    }
    if (server.ok()) (*server)->Stop();
    _exit(server.ok() ? 0 : 1);
  }
  close(port_pipe[1]);
  close(stop_pipe[0]);
  int port = -1;
  Status status;
  if (read(port_pipe[0], &port, sizeof(port)) != sizeof(port) || port < 0) {
    status = Status::Unavailable("the server process did not start");
  } else {
    status = RunWorker(o, port, r);
  }
  close(port_pipe[0]);
  close(stop_pipe[1]);
  int wstatus = 0;
  waitpid(child, &wstatus, 0);
  if (status.ok() && !(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0)) {
    status = Status::Internal("the server process failed");
  }
  return status;
}

Status RunInProcess(const BenchOptions& o, BenchResult* r) {
  ASSIGN_OR_RETURN(std::unique_ptr<ps::Server> server, StartBenchServer(o));
  Status status = RunWorker(o, server->port(), r);
  server->Stop();
  return status;
}

void PrintResult(const BenchOptions& o, const BenchResult& r) {
  const char* mode = o.in_process ? (o.tcp ? "in-process tcp" : "in-process")
                                  : (o.tcp ? "process tcp" : "process");
  if (o.json) {
    Json j;
    j["benchmark"] = "pushpull";
    j["mode"] = mode;
    j["dim"] = o.dim;
    j["keys_per_request"] = o.keys_per_request;
    j["pipeline"] = o.pipeline;
    j["rows"] = o.rows;
    j["push_keys_per_sec"] = JsonFixed(r.push_keys_per_sec, 0);
    j["pull_keys_per_sec"] = JsonFixed(r.pull_keys_per_sec, 0);
    j["push_mb_per_sec"] = JsonFixed(r.push_mb_per_sec, 1);
    j["pull_mb_per_sec"] = JsonFixed(r.pull_mb_per_sec, 1);
    j["rtt_us_p50"] = JsonFixed(r.rtt_us_p50, 1);
    j["rtt_us_p99"] = JsonFixed(r.rtt_us_p99, 1);
    j["push_requests"] = r.push_requests;
    j["pull_requests"] = r.pull_requests;
    j["bytes_sent"] = r.client.bytes_sent;
    j["bytes_received"] = r.client.bytes_received;
    j["wall_sec"] = JsonFixed(r.wall_sec, 2);
    j["worker_cpu_sec"] = JsonFixed(r.worker_cpu_sec, 2);
    std::cout << JsonText(j) << "\n";
    return;
  }
  char line[1024];
  std::snprintf(line, sizeof(line),
                "pushpull (%s): dim %d, %d keys/request, %d in flight, %lld rows\n"
                "  push  %8.2f M keys/s  %8.1f MB/s  (%llu requests)\n"
                "  pull  %8.2f M keys/s  %8.1f MB/s  (%llu requests)\n"
                "  1-key pull round trip  p50 %.1f us  p99 %.1f us\n"
                "  worker CPU %.2f s over %.2f s%s\n",
                mode, o.dim, o.keys_per_request, o.pipeline, static_cast<long long>(o.rows),
                r.push_keys_per_sec / 1e6, r.push_mb_per_sec,
                static_cast<unsigned long long>(r.push_requests), r.pull_keys_per_sec / 1e6,
                r.pull_mb_per_sec, static_cast<unsigned long long>(r.pull_requests),
                r.rtt_us_p50, r.rtt_us_p99, r.worker_cpu_sec, r.wall_sec,
                o.in_process ? " (includes the server)" : "");
  std::cout << line;
}

}  // namespace

int RunBenchPushPull(int argc, char** argv) {
  BenchOptions o;
  int64_t rows = o.rows;
  FlagSet flags("psrec bench pushpull",
                "Push/pull throughput (keys/s, MB/s of values) and 1-key round trip between "
                "one server and one worker on loopback.");
  flags.AddInt("dim", &o.dim, "floats per row");
  flags.AddInt("keys-per-request", &o.keys_per_request, "distinct sorted keys per request");
  flags.AddInt("pipeline", &o.pipeline, "requests in flight");
  flags.AddInt("rows", &rows, "rows in the table (created before timing)");
  flags.AddDouble("seconds", &o.seconds, "duration of the push and of the pull phase");
  flags.AddInt("rtt-samples", &o.rtt_samples, "1-key pulls timed for the round trip");
  flags.AddBool("json", &o.json, "print one JSON object");
  flags.AddBool("in-process", &o.in_process, "run the server as threads of this process");
  flags.AddBool("tcp", &o.tcp, "stay on loopback TCP (no Unix-domain socket)");
  flags.AddInt("chunk-bytes", &o.chunk_bytes,
               "values per request part (client::PsClientOptions::chunk_bytes); -1: the default, "
               "0: no chunking");
  Status status = flags.Parse(argc, argv);
  if (flags.help_requested()) {
    std::cout << flags.Usage();
    return 0;
  }
  o.rows = rows;
  if (status.ok() && (o.dim < 2 || o.keys_per_request < 1 || o.pipeline < 1 ||
                      o.rtt_samples < 1 || o.seconds <= 0 || o.rows < 1 ||
                      o.keys_per_request > o.rows || o.chunk_bytes < -1)) {
    status = Status::InvalidArgument(
        "need --dim >= 2, --keys-per-request in [1, rows], --pipeline >= 1, --rtt-samples "
        ">= 1, --seconds > 0, --chunk-bytes >= -1");
  }
  if (!status.ok()) {  // a usage error
    std::cerr << "psrec bench pushpull: " << status.message() << "\n";
    return 2;
  }
  BenchResult result;
  status = o.in_process ? RunInProcess(o, &result) : RunWithServerProcess(o, &result);
  if (!status.ok()) {
    std::cerr << "psrec bench pushpull: " << status.ToString() << "\n";
    return 1;
  }
  PrintResult(o, result);
  return 0;
}

}  // namespace psrec::cli
