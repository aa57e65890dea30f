// The PS client's transports: a worker on the server's host moves to the server's
// Unix-domain socket after the TCP handshake, or stays on TCP when told to; both carry the
// same protocol. Large frames (tens of MB, several in flight) must arrive intact on both.
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "table/table_spec.h"
#include "models/mf/biased_mf.h"
#include "models/model_tables.h"
#include "table/embedding_table.h"
#include "ps/server.h"
#include "tests/client/ps_test_cluster.h"
#include "client/ps_client.h"

namespace psrec::client {
namespace {

class PsClientTransportTest : public testing::TestWithParam<bool> {
 protected:
  bool use_local() const { return GetParam(); }
};

INSTANTIATE_TEST_SUITE_P(Transports, PsClientTransportTest, testing::Bool(),
                         [](const auto& info) { return info.param ? "local" : "tcp"; });

TEST_P(PsClientTransportTest, ChoosesTheTransportAndServesTheSameRows) {
  const config::JobConfig job = TestJob();
  TestCluster cluster(job, 2, 1);
  ASSERT_FALSE(cluster.server(0).local_socket().empty());
  std::unique_ptr<PsClient> client =
      cluster.Connect(0, [&](PsClientOptions& o) { o.use_local_socket = use_local(); });
  ASSERT_NE(client, nullptr);
  const TableSpec spec = models::TableSpecsForJob(job).value()[models::kItemTable];
  std::vector<uint64_t> keys(500);
  for (size_t i = 0; i < keys.size(); ++i) keys[i] = i * 7;
  std::vector<float> got(keys.size() * static_cast<size_t>(spec.dim));
  Result<PsClient::Ticket> t = client->Pull(models::kItemTable, keys, spec.dim, got.data(), 0);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  ASSERT_TRUE(client->Wait(*t).ok());
  table::EmbeddingTable local(spec, job.training().seed());
  std::vector<float> expected(got.size());
  local.Pull(keys, expected.data());
  EXPECT_EQ(got, expected);
  EXPECT_EQ(client->AllServersOnThisHost(), use_local());
  // Simulated network faults count as a network (training.pull_ahead AUTO).
  std::unique_ptr<PsClient> slowed = cluster.Connect(0, [&](PsClientOptions& o) {
    o.use_local_socket = use_local();
    o.faults.latency_us = 50;
  });
  ASSERT_NE(slowed, nullptr);
  EXPECT_FALSE(slowed->AllServersOnThisHost());
  ASSERT_TRUE(slowed->Finish().ok());
  ASSERT_TRUE(client->Finish().ok());
  for (int s = 0; s < 2; ++s) {
    const ps::ServerStats stats = cluster.server(s).stats();
    // The handshake always starts on TCP; the local socket adds a second connection.
    EXPECT_EQ(stats.local_connections_accepted, use_local() ? 2u : 0u) << "server " << s;
    EXPECT_EQ(stats.connections_accepted, use_local() ? 4u : 2u) << "server " << s;
    EXPECT_EQ(stats.handshakes_refused, 0u);
  }
}

TEST(PsClientTransportTest, ServerWithoutLocalSocketKeepsTheWorkerOnTcp) {
  const config::JobConfig job = TestJob();
  ps::ServerOptions options;
  options.job = job;
  options.secret = kTestSecret;
  options.tables = models::TableSpecsForJob(options.job).value();
  options.local_socket = false;
  Result<std::unique_ptr<ps::Server>> server = ps::Server::Start(options);
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  EXPECT_TRUE((*server)->local_socket().empty());
  PsClientOptions client_options;
  client_options.servers = {"127.0.0.1:" + std::to_string((*server)->port())};
  client_options.job_id = job.job_id();
  client_options.secret = kTestSecret;
  Result<std::unique_ptr<PsClient>> client = PsClient::Connect(client_options);
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  EXPECT_FALSE((*client)->AllServersOnThisHost());
  ASSERT_TRUE((*client)->Finish().ok());
  EXPECT_EQ((*server)->stats().local_connections_accepted, 0u);
  EXPECT_EQ((*server)->stats().connections_accepted, 1u);
}

// Pushes of ~26 MB (100k keys of 64 floats), four in flight, then a pull of every row:
// the frames cross many socket reads on both ends, and the result must equal a local
// table's after the same pushes. (bench pushpull's D64 K100k cell, checked for values.)
TEST_P(PsClientTransportTest, LargePipelinedPushesAndPullsAreExact) {
  config::JobConfig job = TestJob();
  job.mutable_model()->set_dim(63);  // rows of 64 floats
  job.mutable_cluster()->set_max_frame_bytes(64 << 20);
  TestCluster cluster(job, 1, 1);
  std::unique_ptr<PsClient> client =
      cluster.Connect(0, [&](PsClientOptions& o) { o.use_local_socket = use_local(); });
  ASSERT_NE(client, nullptr);
  const TableSpec spec = models::TableSpecsForJob(job).value()[models::kItemTable];
  ASSERT_EQ(spec.dim, 64);
  const size_t row = static_cast<size_t>(spec.dim);
  constexpr size_t kKeys = 100'000;
  std::vector<uint64_t> keys(kKeys);
  for (size_t i = 0; i < kKeys; ++i) keys[i] = i * 3 + 1;
  table::EmbeddingTable local(spec, job.training().seed());
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> uniform(-1, 1);
  std::vector<float> grads(kKeys * row);
  for (int i = 0; i < 4; ++i) {
    for (float& g : grads) g = uniform(rng);
    ASSERT_TRUE(client->Push(models::kItemTable, keys, spec.dim, grads, 0.01f).ok());
    local.Push(keys, grads.data(), 0.01f);
  }
  ASSERT_TRUE(client->Flush().ok());
  // Two pulls in flight, into separate buffers.
  std::vector<float> got_a(kKeys * row, -1), got_b(kKeys * row, -2);
  Result<PsClient::Ticket> a = client->Pull(models::kItemTable, keys, spec.dim, got_a.data(), 0);
  Result<PsClient::Ticket> b = client->Pull(models::kItemTable, keys, spec.dim, got_b.data(), 0);
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_TRUE(client->Wait(*b).ok());
  ASSERT_TRUE(client->Wait(*a).ok());
  std::vector<float> expected(kKeys * row);
  local.Pull(keys, expected.data());
  EXPECT_TRUE(got_a == expected);
  EXPECT_TRUE(got_b == expected);
  // One server: the rows of both replies were read straight into got_a and got_b.
  EXPECT_GT(client->stats().bytes_in_place, got_a.size() * sizeof(float));
  ASSERT_TRUE(client->Finish().ok());
  EXPECT_EQ(cluster.server(0).stats().rows_pushed, 4 * kKeys);

  // Requests split by a smaller client frame limit: each ~1 MB part lands at its offset.
  std::unique_ptr<PsClient> small = cluster.Connect(
      0, [&](PsClientOptions& o) {
        o.use_local_socket = use_local();
        o.max_frame_bytes = 1 << 20;
      });
  ASSERT_NE(small, nullptr);
  std::vector<float> got_c(kKeys * row, -3);
  Result<PsClient::Ticket> c = small->Pull(models::kItemTable, keys, spec.dim, got_c.data(), 0);
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(small->Wait(*c).ok());
  EXPECT_TRUE(got_c == expected);
  EXPECT_GT(small->stats().requests, 20u);
  EXPECT_GT(small->stats().bytes_in_place, got_c.size() * sizeof(float) / 2);
}

}  // namespace
}  // namespace psrec::client
