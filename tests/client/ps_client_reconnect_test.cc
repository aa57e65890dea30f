// Reconnection and idempotent retries (PsClientOptions::reconnect_budget) under scripted
// network faults (wire::FaultyTransport): every fault heals with exact push totals on the
// servers (no push lost, none applied twice), or, when it cannot heal, ends the worker
// with an error naming the server, promptly.
#include <atomic>
#include <cctype>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "models/mf/biased_mf.h"
#include "models/model_tables.h"
#include "tests/client/ps_test_cluster.h"
#include "wire/fault_transport.h"

namespace psrec::client {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kKeys = 24;

config::JobConfig ZeroJob() {
  config::JobConfig job = TestJob();
  job.mutable_model()->set_init_std(0);  // rows start at 0: integer sums are exact
  return job;
}

int RowFloats(const config::JobConfig& job) {
  return models::TableSpecsForJob(job).value()[models::kUserTable].dim;
}

struct WorkerResult {
  Status status;
  int64_t pushes = 0;  // pushes of +1 per float that returned OK (all acked by Finish)
  ClientStats stats;
};

// Worker w pushes +1 to every float of kKeys user rows (and pulls them) until `run_for`
// has passed and it made at least min_steps, advancing its clock each step, then finishes.
WorkerResult RunWorker(const TestCluster& cluster, const config::JobConfig& job, int w,
                       wire::FaultInjector* injector, std::chrono::milliseconds budget,
                       std::chrono::milliseconds run_for, int min_steps) {
  WorkerResult result;
  PsClientOptions options = cluster.ClientOptions(w);
  std::vector<std::string> servers = options.servers;
  wire::FaultyTransport transport(wire::Transport::Default(), injector, w, servers);
  options.transport = &transport;
  options.use_local_socket = false;  // the faults name servers by their TCP address
  options.reconnect_budget = budget;
  options.rpc_timeout = std::chrono::milliseconds(20000);
  Result<std::unique_ptr<PsClient>> connected = PsClient::Connect(options);
  if (!connected.ok()) {
    result.status = connected.status();
    return result;
  }
  PsClient& client = **connected;
  const int dim = RowFloats(job);
  std::vector<uint64_t> keys(kKeys);
  for (int k = 0; k < kKeys; ++k) keys[k] = 1000 + static_cast<uint64_t>(k) * 7919;
  const std::vector<float> ones(keys.size() * static_cast<size_t>(dim), 1.0f);
  std::vector<float> rows(ones.size());
  const Clock::time_point end = Clock::now() + run_for;
  for (int step = 0; step < min_steps || Clock::now() < end; ++step) {
    Status status = client.PushDelta(models::kUserTable, keys, dim, 0, ones);
    if (!status.ok()) {
      result.status = status;
      return result;
    }
    ++result.pushes;
    if (step % 4 == 0) {
      Result<PsClient::Ticket> t = client.Pull(models::kUserTable, keys, dim, rows.data(), step);
      if (t.ok()) status = client.Wait(*t);
      if (!t.ok()) status = t.status();
    }
    if (status.ok()) status = client.AdvanceClock(step + 1);
    if (!status.ok()) {
      result.status = status;
      return result;
    }
  }
  result.status = client.Finish();
  result.stats = client.stats();
  return result;
}

// The user rows of kKeys as the servers hold them, read with a fault-free client.
std::vector<float> ReadRows(const TestCluster& cluster, const config::JobConfig& job,
                            int worker) {
  const int dim = RowFloats(job);
  std::unique_ptr<PsClient> reader = cluster.Connect(worker);
  std::vector<uint64_t> keys(kKeys);
  for (int k = 0; k < kKeys; ++k) keys[k] = 1000 + static_cast<uint64_t>(k) * 7919;
  std::vector<float> rows(keys.size() * static_cast<size_t>(dim), -1);
  std::vector<uint8_t> missing(keys.size());
  if (reader == nullptr) return rows;
  Result<PsClient::Ticket> t =
      reader->PullReadOnly(models::kUserTable, keys, dim, rows.data(), missing.data(), 0);
  EXPECT_TRUE(t.ok());
  if (t.ok()) {
    EXPECT_TRUE(reader->Wait(*t).ok());
  }
  return rows;
}

struct JobOutcome {
  std::vector<WorkerResult> workers;
  std::vector<float> rows;
  int64_t expected = 0;
  uint64_t duplicate_pushes = 0;
};

JobOutcome RunJob(const std::string& spec_text, int num_workers, int num_servers,
                  std::chrono::milliseconds run_for, int min_steps,
                  std::unique_ptr<wire::FaultInjector>* injector_out) {
  const config::JobConfig job = ZeroJob();
  // One more worker id than the job's workers: the fault-free reader at the end.
  TestCluster cluster(job, num_servers, num_workers + 1);
  Result<wire::FaultSpec> spec = wire::FaultSpec::Parse(spec_text);
  EXPECT_TRUE(spec.ok()) << spec.status().ToString();
  std::unique_ptr<wire::FaultInjector>& injector = *injector_out;
  injector = std::make_unique<wire::FaultInjector>(std::move(spec).value());
  JobOutcome outcome;
  outcome.workers.resize(static_cast<size_t>(num_workers));
  std::vector<std::thread> threads;
  for (int w = 0; w < num_workers; ++w) {
    threads.emplace_back([&, w] {
      outcome.workers[static_cast<size_t>(w)] = RunWorker(
          cluster, job, w, injector.get(), std::chrono::milliseconds(10000), run_for, min_steps);
    });
  }
  for (std::thread& t : threads) t.join();
  for (const WorkerResult& r : outcome.workers) {
    EXPECT_TRUE(r.status.ok()) << r.status.ToString();
    outcome.expected += r.pushes;
  }
  outcome.rows = ReadRows(cluster, job, num_workers);
  for (int s = 0; s < num_servers; ++s) outcome.duplicate_pushes += cluster.server(s).stats().duplicate_pushes;
  return outcome;
}

void ExpectExactTotals(const JobOutcome& outcome) {
  ASSERT_FALSE(outcome.rows.empty());
  for (size_t i = 0; i < outcome.rows.size(); ++i) {
    ASSERT_EQ(outcome.rows[i], static_cast<float>(outcome.expected)) << "float " << i;
  }
}

// The acceptance test: 32 workers, duplicates, delays, reorders and partitions (reconnects)
// together; every push lands exactly once.
TEST(PsClientReconnectTest, ThirtyTwoWorkersExactTotalsUnderDuplicatesDelaysAndPartitions) {
  std::unique_ptr<wire::FaultInjector> injector;
  const JobOutcome outcome = RunJob(
      "dup:type=push,p=0.05; dup:type=clock,p=0.05; delay:p=0.01,ms=5; reorder:p=0.02;"
      "partition:worker=3,server=0,at_ms=100,for_ms=150;"
      "partition:worker=17,server=1,at_ms=150,for_ms=100;"
      "partition:server=1,worker=30,at_ms=60,for_ms=60; truncate:worker=9,type=push,frame=6;"
      "seed=11",
      32, 2, std::chrono::milliseconds(600), 12, &injector);
  ExpectExactTotals(outcome);
  EXPECT_GT(outcome.duplicate_pushes, 0u);
  EXPECT_GT(injector->applied(wire::FaultRule::Kind::kDuplicate), 0u);
  EXPECT_GT(injector->applied(wire::FaultRule::Kind::kPartition), 0u);
  uint64_t reconnects = 0;
  for (const WorkerResult& r : outcome.workers) reconnects += r.stats.reconnects;
  EXPECT_GE(reconnects, 3u);  // workers 3, 17 and 30 lost a connection (and 9 by truncation)
}

// A connection the network breaks during the worker's first handshake (in the 32-worker
// test, a partition that begins while a worker is still connecting on a loaded machine)
// heals like a later loss: the first connection is dialed again.
TEST(PsClientReconnectTest, AConnectionBrokenDuringTheFirstHandshakeHeals) {
  std::unique_ptr<wire::FaultInjector> injector;
  const JobOutcome outcome = RunJob("truncate:worker=1,server=0,type=handshake,frame=0", 2, 2,
                                    std::chrono::milliseconds(150), 8, &injector);
  ExpectExactTotals(outcome);
  EXPECT_EQ(injector->applied(wire::FaultRule::Kind::kTruncate), 1u);
}

class PsClientFaultKindTest : public testing::TestWithParam<std::string> {};

INSTANTIATE_TEST_SUITE_P(
    Kinds, PsClientFaultKindTest,
    testing::Values("drop:type=push,frame=5", "drop:type=pull,frame=2",
                    "delay:type=push,frame=3,ms=80", "dup:type=push,frame=4",
                    "dup:type=pull,frame=1", "reorder:type=push,frame=2",
                    "truncate:type=push,frame=6", "corrupt:type=push,frame=7",
                    "corrupt:type=clock,frame=3",
                    "partition:worker=1,server=0,at_ms=40,for_ms=120"),
    [](const auto& info) {
      std::string name;
      for (char c : info.param) name += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
      return name;
    });

TEST_P(PsClientFaultKindTest, HealsWithExactTotals) {
  std::unique_ptr<wire::FaultInjector> injector;
  const JobOutcome outcome =
      RunJob(GetParam(), 4, 2, std::chrono::milliseconds(250), 16, &injector);
  ExpectExactTotals(outcome);
  EXPECT_GT(injector->applied_total(), 0u) << "the fault never happened";
}

TEST(PsClientReconnectTest, APartitionLongerThanTheBudgetEndsTheWorkerNamingTheServer) {
  const config::JobConfig job = ZeroJob();
  TestCluster cluster(job, 2, 1);
  wire::FaultInjector injector(
      wire::FaultSpec::Parse("partition:worker=0,server=1,at_ms=50,for_ms=60000").value());
  const Clock::time_point start = Clock::now();
  const WorkerResult result = RunWorker(cluster, job, 0, &injector,
                                        std::chrono::milliseconds(300),
                                        std::chrono::milliseconds(60000), 1);
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  ASSERT_FALSE(result.status.ok());
  EXPECT_EQ(result.status.code(), Status::Code::kUnavailable) << result.status.ToString();
  EXPECT_NE(result.status.message().find("server 1 (" + cluster.address(1) + ")"),
            std::string::npos)
      << result.status.message();
  EXPECT_NE(result.status.message().find("not back within 300 ms"), std::string::npos)
      << result.status.message();
  EXPECT_LT(seconds, 5.0) << "the worker did not give up promptly";
}

TEST(PsClientReconnectTest, WithoutABudgetAFaultFailsTheWorkerAsBefore) {
  const config::JobConfig job = ZeroJob();
  TestCluster cluster(job, 1, 1);
  wire::FaultInjector injector(wire::FaultSpec::Parse("drop:type=push,frame=3").value());
  const WorkerResult result = RunWorker(cluster, job, 0, &injector, std::chrono::milliseconds(0),
                                        std::chrono::milliseconds(0), 10);
  ASSERT_FALSE(result.status.ok());
  EXPECT_NE(result.status.message().find("server 0 ("), std::string::npos)
      << result.status.message();
}

}  // namespace
}  // namespace psrec::client
