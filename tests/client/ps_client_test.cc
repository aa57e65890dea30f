// Loopback tests of client::PsClient against real ps::Server instances (1 and 3 servers):
// every value is checked against a local table::EmbeddingTable doing the same operations.
#include "client/ps_client.h"
#include "models/mf/biased_mf.h"
#include "models/model_tables.h"

#include <algorithm>
#include <chrono>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "table/table_spec.h"
#include "table/embedding_table.h"
#include "ps/server.h"
#include "tests/client/ps_test_cluster.h"

namespace psrec::client {
namespace {


std::vector<uint64_t> UniqueKeys(size_t n, uint64_t seed, uint64_t range = 1'000'000) {
  std::mt19937_64 rng(seed);
  std::set<uint64_t> keys;
  while (keys.size() < n) keys.insert(rng() % range);
  std::vector<uint64_t> out(keys.begin(), keys.end());
  std::shuffle(out.begin(), out.end(), rng);  // batches are not sorted in general
  return out;
}

std::vector<float> RandomGrads(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0, 1);
  std::vector<float> g(n);
  for (float& x : g) x = normal(rng);
  return g;
}

class PsClientLoopbackTest : public testing::TestWithParam<int> {
 protected:
  int num_servers() const { return GetParam(); }
};

INSTANTIATE_TEST_SUITE_P(Servers, PsClientLoopbackTest, testing::Values(1, 3),
                         [](const auto& info) { return std::to_string(info.param) + "servers"; });

TEST_P(PsClientLoopbackTest, PullPushMatchLocalTables) {
  config::JobConfig job = TestJob();
  models::MutableTableConfig(&job, "item")->mutable_optimizer()->set_kind(config::OptimizerConfig::ADAGRAD);
  TestCluster cluster(job, num_servers(), /*num_workers=*/1);
  std::unique_ptr<PsClient> client = cluster.Connect(0);
  ASSERT_NE(client, nullptr);

  for (TableId table : {models::kUserTable, models::kItemTable}) {
    const TableSpec spec = models::TableSpecsForJob(job).value()[table];
    table::EmbeddingTable local(spec, job.training().seed());
    const size_t row = static_cast<size_t>(spec.dim);
    std::vector<float> expected, got;
    for (int step = 0; step < 5; ++step) {
      const std::vector<uint64_t> keys = UniqueKeys(700, 10 * table + step, 2000);
      expected.assign(keys.size() * row, 0);
      got.assign(keys.size() * row, -1);
      Result<PsClient::Ticket> ticket = client->Pull(table, keys, spec.dim, got.data(), 0);
      ASSERT_TRUE(ticket.ok()) << ticket.status().ToString();
      ASSERT_TRUE(client->Wait(*ticket).ok());
      local.Pull(keys, expected.data());
      ASSERT_EQ(got, expected) << "table " << table << " step " << step;

      const std::vector<float> grads = RandomGrads(keys.size() * row, step);
      ASSERT_TRUE(client->Push(table, keys, spec.dim, grads, 0.05f).ok());
      local.Push(keys, grads.data(), 0.05f);
    }
    ASSERT_TRUE(client->Flush().ok());
    // Every row ever touched, read back after the last push.
    const std::vector<uint64_t> all = UniqueKeys(2000, 99, 2000);
    expected.assign(all.size() * row, 0);
    got.assign(all.size() * row, -1);
    Result<PsClient::Ticket> ticket = client->Pull(table, all, spec.dim, got.data(), 0);
    ASSERT_TRUE(ticket.ok());
    ASSERT_TRUE(client->Wait(*ticket).ok());
    local.Pull(all, expected.data());
    EXPECT_EQ(got, expected) << "table " << table;
  }
  ASSERT_TRUE(client->Finish().ok());
  const ClientStats stats = client->stats();
  EXPECT_GT(stats.bytes_sent, 2000u * 8);
  EXPECT_GT(stats.bytes_received, 2000u * 4 * 5);
  // 2 tables x 6 pulls and 5 pushes, one request per server each, plus a finish per server.
  EXPECT_EQ(stats.requests, static_cast<uint64_t>(num_servers()) * (2 * 11 + 1));
  EXPECT_EQ(stats.max_staleness, 0);

  // A finished client refuses further work.
  std::vector<float> out(5);
  const uint64_t key = 1;
  EXPECT_EQ(client->Pull(models::kItemTable, {&key, 1}, 5, out.data(), 0).status().code(),
            Status::Code::kAborted);
}

TEST_P(PsClientLoopbackTest, PipelinedPullsCompleteInAnyWaitOrder) {
  config::JobConfig job = TestJob();
  TestCluster cluster(job, num_servers(), 1);
  std::unique_ptr<PsClient> client = cluster.Connect(0);
  ASSERT_NE(client, nullptr);
  const TableSpec spec = models::TableSpecsForJob(job).value()[models::kItemTable];
  table::EmbeddingTable local(spec, job.training().seed());
  const size_t row = static_cast<size_t>(spec.dim);

  constexpr int kInFlight = 16;
  std::vector<std::vector<uint64_t>> keys(kInFlight);
  std::vector<std::vector<float>> out(kInFlight);
  std::vector<PsClient::Ticket> tickets;
  for (int i = 0; i < kInFlight; ++i) {
    keys[i] = UniqueKeys(100 + 500 * i, 1000 + i);
    out[i].assign(keys[i].size() * row, -1);
    Result<PsClient::Ticket> t = client->Pull(models::kItemTable, keys[i], spec.dim, out[i].data(), 0);
    ASSERT_TRUE(t.ok());
    tickets.push_back(*t);
  }
  // Reverse order: later pulls have finished long before they are waited for.
  for (int i = kInFlight - 1; i >= 0; --i) {
    ASSERT_TRUE(client->Wait(tickets[i]).ok());
    std::vector<float> expected(out[i].size());
    local.Pull(keys[i], expected.data());
    EXPECT_EQ(out[i], expected) << "pull " << i;
  }
  EXPECT_EQ(client->Wait(tickets[0]).code(), Status::Code::kInvalidArgument)
      << "a ticket is waited for once";
  ASSERT_TRUE(client->Finish().ok());
}

TEST_P(PsClientLoopbackTest, RequestsLargerThanAFrameAreSplit) {
  config::JobConfig job = TestJob();
  job.mutable_cluster()->set_max_frame_bytes(16 << 10);
  TestCluster cluster(job, num_servers(), 1);
  std::unique_ptr<PsClient> client = cluster.Connect(0, [](PsClientOptions& o) {
    o.max_frame_bytes = 16 << 10;
  });
  ASSERT_NE(client, nullptr);
  const TableSpec spec = models::TableSpecsForJob(job).value()[models::kUserTable];
  table::EmbeddingTable local(spec, job.training().seed());
  const size_t row = static_cast<size_t>(spec.dim);
  const std::vector<uint64_t> keys = UniqueKeys(20'000, 5);
  const std::vector<float> grads = RandomGrads(keys.size() * row, 6);
  ASSERT_TRUE(client->Push(models::kUserTable, keys, spec.dim, grads, 0.1f).ok());
  local.Push(keys, grads.data(), 0.1f);
  std::vector<float> got(keys.size() * row), expected(keys.size() * row);
  Result<PsClient::Ticket> t = client->Pull(models::kUserTable, keys, spec.dim, got.data(), 0);
  ASSERT_TRUE(t.ok());
  ASSERT_TRUE(client->Wait(*t).ok());
  local.Pull(keys, expected.data());
  EXPECT_EQ(got, expected);
  EXPECT_GT(client->stats().requests, 2u * 20'000 * (8 + 4 * row) / (16 << 10));
}

// Requests larger than chunk_bytes go out as parts of about that size (each applied or
// answered while the next is on the wire); values are exact either way.
TEST_P(PsClientLoopbackTest, LargeRequestsAreSentInChunks) {
  const config::JobConfig job = TestJob();
  TestCluster cluster(job, num_servers(), 1);
  constexpr size_t kChunk = 32 << 10;
  std::unique_ptr<PsClient> client =
      cluster.Connect(0, [](PsClientOptions& o) { o.chunk_bytes = kChunk; });
  ASSERT_NE(client, nullptr);
  const TableSpec spec = models::TableSpecsForJob(job).value()[models::kItemTable];
  table::EmbeddingTable local(spec, job.training().seed());
  const size_t row = static_cast<size_t>(spec.dim);
  const std::vector<uint64_t> keys = UniqueKeys(30'000, 21);
  const std::vector<float> grads = RandomGrads(keys.size() * row, 22);
  ASSERT_TRUE(client->Push(models::kItemTable, keys, spec.dim, grads, 0.1f).ok());
  local.Push(keys, grads.data(), 0.1f);
  std::vector<float> got(keys.size() * row), expected(keys.size() * row);
  Result<PsClient::Ticket> t = client->Pull(models::kItemTable, keys, spec.dim, got.data(), 0);
  ASSERT_TRUE(t.ok());
  ASSERT_TRUE(client->Wait(*t).ok());
  local.Pull(keys, expected.data());
  EXPECT_EQ(got, expected);
  // 30,000 rows of 32 bytes are 960 KB: about 30 parts each way, whatever the servers.
  const size_t rows_per_part = kChunk / (row * sizeof(float));
  const uint64_t min_parts = 2 * ((keys.size() + rows_per_part - 1) / rows_per_part);
  EXPECT_GE(client->stats().requests, min_parts);
  EXPECT_LE(client->stats().requests, min_parts + 4 * num_servers());
  ASSERT_TRUE(client->Finish().ok());
}

TEST_P(PsClientLoopbackTest, ClocksOrderPushesAndReportStaleness) {
  config::JobConfig job = TestJob(config::SSP, /*staleness=*/2);
  TestCluster cluster(job, num_servers(), /*num_workers=*/2);
  std::unique_ptr<PsClient> fast = cluster.Connect(0);
  std::unique_ptr<PsClient> slow = cluster.Connect(1);
  ASSERT_NE(fast, nullptr);
  ASSERT_NE(slow, nullptr);
  const int dim = models::TableSpecsForJob(job).value()[models::kItemTable].dim;
  const std::vector<uint64_t> keys = UniqueKeys(300, 8);
  std::vector<float> rows(keys.size() * static_cast<size_t>(dim));

  // fast runs 2 clocks ahead of slow: within the staleness bound, answered at once.
  ASSERT_TRUE(fast->AdvanceClock(1).ok());
  ASSERT_TRUE(fast->AdvanceClock(2).ok());
  ASSERT_TRUE(fast->Flush().ok());
  Result<PsClient::Ticket> t = fast->Pull(models::kItemTable, keys, dim, rows.data(), 2);
  ASSERT_TRUE(t.ok());
  ASSERT_TRUE(fast->Wait(*t).ok());
  EXPECT_EQ(fast->stats().max_staleness, 2);

  // At clock 3 it must wait for slow to reach clock 1.
  ASSERT_TRUE(fast->AdvanceClock(3).ok());
  t = fast->Pull(models::kItemTable, keys, dim, rows.data(), 3);
  ASSERT_TRUE(t.ok());
  std::thread release([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    EXPECT_TRUE(slow->AdvanceClock(1).ok());
    EXPECT_TRUE(slow->Flush().ok());
  });
  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(fast->Wait(*t).ok());
  const double waited =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  release.join();
  EXPECT_GE(waited, 0.08);
  const ClientStats stats = fast->stats();
  EXPECT_GE(stats.blocked_sec, 0.08) << "the servers report how long they parked the pull";
  EXPECT_GE(stats.pull_wait_sec, 0.08);
  EXPECT_EQ(stats.max_staleness, 2);

  ASSERT_TRUE(slow->Finish().ok());
  ASSERT_TRUE(fast->Finish().ok());
}

}  // namespace
}  // namespace psrec::client
