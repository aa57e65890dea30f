// PsClient::PullWithState and PsClient::PushDelta against real servers on loopback (1 and
// 3 servers): rows with optimizer state, deltas added to payload and state, a worker that
// runs AdaGrad itself reproducing server-side AdaGrad, and the errors of mismatched state.
#include <algorithm>
#include <cmath>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "table/table_spec.h"
#include "models/mf/biased_mf.h"
#include "models/model_tables.h"
#include "table/embedding_table.h"
#include "table/optimizer.h"
#include "tests/client/ps_test_cluster.h"
#include "client/ps_client.h"

namespace psrec::client {
namespace {

std::vector<uint64_t> UniqueKeys(size_t n, uint64_t seed, uint64_t range = 1'000'000) {
  std::mt19937_64 rng(seed);
  std::set<uint64_t> keys;
  while (keys.size() < n) keys.insert(rng() % range);
  std::vector<uint64_t> out(keys.begin(), keys.end());
  std::shuffle(out.begin(), out.end(), rng);
  return out;
}

// Items on AdaGrad (8 payload + 8 accumulator floats per row), users on SGD.
config::JobConfig DeltaJob(config::Consistency consistency = config::ASP) {
  config::JobConfig job = TestJob(consistency);
  config::OptimizerConfig* opt = models::MutableTableConfig(&job, "item")->mutable_optimizer();
  opt->set_kind(config::OptimizerConfig::ADAGRAD);
  opt->set_initial_accumulator(0.1f);
  opt->set_epsilon(1e-6f);
  return job;
}

class PsClientDeltaTest : public testing::TestWithParam<int> {
 protected:
  int num_servers() const { return GetParam(); }
};

INSTANTIATE_TEST_SUITE_P(Servers, PsClientDeltaTest, testing::Values(1, 3),
                         [](const auto& info) { return std::to_string(info.param) + "servers"; });

TEST_P(PsClientDeltaTest, PullWithStateAndPushDeltaMatchALocalTable) {
  const config::JobConfig job = DeltaJob();
  // Small frames on the client side too, so that requests are split into parts.
  for (const size_t max_frame : {size_t{64} << 20, size_t{16} << 10}) {
    SCOPED_TRACE(max_frame);
    TestCluster cluster(job, num_servers(), 1);
    std::unique_ptr<PsClient> client =
        cluster.Connect(0, [&](PsClientOptions& o) { o.max_frame_bytes = max_frame; });
    ASSERT_NE(client, nullptr);
    for (TableId table : {models::kUserTable, models::kItemTable}) {
      SCOPED_TRACE(table);
      const TableSpec spec = models::TableSpecsForJob(job).value()[table];
      table::EmbeddingTable local(spec, job.training().seed());
      const int state = local.state_floats();
      const size_t row = static_cast<size_t>(local.row_floats());
      ASSERT_EQ(state, table == models::kItemTable ? spec.dim : 0);
      for (int step = 0; step < 3; ++step) {
        // 3000 rows of 64 bytes: one server's reply is large enough to be read in place.
        const std::vector<uint64_t> keys = UniqueKeys(3000, 10 * table + step, 5000);
        std::vector<float> got(keys.size() * row, -1), expected(keys.size() * row);
        Result<PsClient::Ticket> t =
            client->PullWithState(table, keys, spec.dim, state, got.data(), step);
        ASSERT_TRUE(t.ok()) << t.status().ToString();
        ASSERT_TRUE(client->Wait(*t).ok());
        local.PullWithState(keys, expected.data());
        ASSERT_EQ(got, expected) << "step " << step;

        std::vector<float> deltas(keys.size() * row);
        std::mt19937 rng(step);
        std::uniform_real_distribution<float> uniform(-0.5f, 0.5f);
        for (float& d : deltas) d = uniform(rng);
        ASSERT_TRUE(client->PushDelta(table, keys, spec.dim, state, deltas).ok());
        local.AddRows(keys, deltas.data());
        std::fill(deltas.begin(), deltas.end(), 1e9f);  // the client copied them
      }
      ASSERT_TRUE(client->Flush().ok());
      const std::vector<uint64_t> all = UniqueKeys(5000, 99, 5000);
      std::vector<float> got(all.size() * row), expected(all.size() * row);
      Result<PsClient::Ticket> t =
          client->PullWithState(table, all, spec.dim, state, got.data(), 0);
      ASSERT_TRUE(t.ok());
      ASSERT_TRUE(client->Wait(*t).ok());
      local.PullWithState(all, expected.data());
      EXPECT_EQ(got, expected);
      // Plain pulls of the same table still return payloads only.
      std::vector<float> plain(all.size() * spec.dim);
      t = client->Pull(table, all, spec.dim, plain.data(), 0);
      ASSERT_TRUE(t.ok());
      ASSERT_TRUE(client->Wait(*t).ok());
      for (size_t i = 0; i < all.size(); i += 97) {
        EXPECT_TRUE(std::equal(plain.begin() + i * spec.dim, plain.begin() + (i + 1) * spec.dim,
                               expected.begin() + i * row))
            << i;
      }
    }
    if (num_servers() == 1 && max_frame > (1 << 20)) {
      EXPECT_GT(client->stats().bytes_in_place, 0u) << "large replies are read in place";
    }
    ASSERT_TRUE(client->Finish().ok());
  }
}

// A worker that applies AdaGrad rating by rating to its pulled copies and pushes the change
// leaves the servers where server-side AdaGrad on the same gradients would.
TEST_P(PsClientDeltaTest, LocalAdaGradDeltasEqualServerAdaGrad) {
  const config::JobConfig job = DeltaJob();
  TestCluster cluster(job, num_servers(), 1);
  std::unique_ptr<PsClient> client = cluster.Connect(0);
  ASSERT_NE(client, nullptr);
  const TableSpec spec = models::TableSpecsForJob(job).value()[models::kItemTable];
  table::EmbeddingTable reference(spec, job.training().seed());
  const int dim = spec.dim;
  const int row = reference.row_floats();
  const float lr = 0.05f, eps = spec.optimizer.epsilon();
  std::mt19937_64 rng(17);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (int batch = 0; batch < 6; ++batch) {
    const std::vector<uint64_t> keys = UniqueKeys(300, batch, 800);  // batches overlap
    std::vector<float> pulled(keys.size() * row);
    Result<PsClient::Ticket> t =
        client->PullWithState(models::kItemTable, keys, dim, dim, pulled.data(), batch);
    ASSERT_TRUE(t.ok());
    ASSERT_TRUE(client->Wait(*t).ok());
    std::vector<float> local = pulled;
    for (size_t i = 0; i < keys.size(); ++i) {
      const int ratings = 1 + static_cast<int>(rng() % 3);
      for (int r = 0; r < ratings; ++r) {
        std::vector<float> g(dim);
        for (float& x : g) x = normal(rng);
        float* w = local.data() + i * row;
        table::AdaGradUpdateRow(w, w + dim, g.data(), dim, lr, eps);
        reference.Push(std::span<const uint64_t>(&keys[i], 1), g.data(), lr);
      }
    }
    std::vector<float> deltas(local.size());
    for (size_t j = 0; j < local.size(); ++j) deltas[j] = local[j] - pulled[j];
    ASSERT_TRUE(client->PushDelta(models::kItemTable, keys, dim, dim, deltas).ok());
  }
  ASSERT_TRUE(client->Flush().ok());
  std::vector<uint64_t> keys;
  reference.ForEachRow([&](uint64_t key, const float*, const float*) { keys.push_back(key); });
  std::vector<float> got(keys.size() * row), expected(keys.size() * row);
  Result<PsClient::Ticket> t = client->PullWithState(models::kItemTable, keys, dim, dim, got.data(), 0);
  ASSERT_TRUE(t.ok());
  ASSERT_TRUE(client->Wait(*t).ok());
  reference.PullWithState(keys, expected.data());
  for (size_t j = 0; j < got.size(); ++j) {
    ASSERT_NEAR(got[j], expected[j], 1e-5f * (1.0f + std::abs(expected[j]))) << j;
  }
  ASSERT_TRUE(client->Finish().ok());
}

// Two workers update the same rows from the same pulled state: the servers' accumulators
// gain both workers' squared gradients, and a delta pushed before a clock is visible to a
// pull that BSP released with that clock.
TEST_P(PsClientDeltaTest, TwoWorkersAccumulatorIncrementsAddUnderBsp) {
  const config::JobConfig job = DeltaJob(config::BSP);
  TestCluster cluster(job, num_servers(), 2);
  std::unique_ptr<PsClient> w0 = cluster.Connect(0);
  std::unique_ptr<PsClient> w1 = cluster.Connect(1);
  ASSERT_NE(w0, nullptr);
  ASSERT_NE(w1, nullptr);
  const int dim = models::TableSpecsForJob(job).value()[models::kItemTable].dim;
  const int row = 2 * dim;
  const std::vector<uint64_t> keys = UniqueKeys(50, 3, 1000);
  std::vector<float> pulled(keys.size() * row);
  for (PsClient* w : {w0.get(), w1.get()}) {
    std::vector<float> rows(keys.size() * row);
    Result<PsClient::Ticket> t = w->PullWithState(models::kItemTable, keys, dim, dim, rows.data(), 0);
    ASSERT_TRUE(t.ok());
    ASSERT_TRUE(w->Wait(*t).ok());
    pulled = rows;
  }
  const float eps = models::TableSpecsForJob(job).value()[models::kItemTable].optimizer.epsilon();
  std::vector<float> sum_sq(keys.size() * dim, 0.0f);
  int worker = 0;
  for (PsClient* w : {w0.get(), w1.get()}) {
    std::vector<float> local = pulled;
    for (size_t i = 0; i < keys.size(); ++i) {
      std::vector<float> g(dim);
      for (int j = 0; j < dim; ++j) g[j] = 0.25f * static_cast<float>((worker + 1) * (j + 1));
      float* r = local.data() + i * row;
      table::AdaGradUpdateRow(r, r + dim, g.data(), dim, 0.1f, eps);
      for (int j = 0; j < dim; ++j) sum_sq[i * dim + j] += g[j] * g[j];
    }
    std::vector<float> deltas(local.size());
    for (size_t j = 0; j < local.size(); ++j) deltas[j] = local[j] - pulled[j];
    ASSERT_TRUE(w->PushDelta(models::kItemTable, keys, dim, dim, deltas).ok());
    ++worker;
  }
  // Worker 0 enters clock 1 and pulls: BSP answers once worker 1 is at clock 1 too, after
  // its deltas (sent before its clock on each connection).
  ASSERT_TRUE(w0->AdvanceClock(1).ok());
  std::vector<float> after(keys.size() * row);
  Result<PsClient::Ticket> t = w0->PullWithState(models::kItemTable, keys, dim, dim, after.data(), 1);
  ASSERT_TRUE(t.ok());
  ASSERT_TRUE(w1->AdvanceClock(1).ok());
  ASSERT_TRUE(w0->Wait(*t).ok());
  for (size_t i = 0; i < keys.size(); ++i) {
    for (int j = 0; j < dim; ++j) {
      EXPECT_FLOAT_EQ(after[i * row + dim + j], pulled[i * row + dim + j] + sum_sq[i * dim + j])
          << i << " " << j;
    }
  }
  ASSERT_TRUE(w1->Finish().ok());
  ASSERT_TRUE(w0->Finish().ok());
}

TEST(PsClientDeltaErrorsTest, WrongSizesAreRejectedWithoutPoisoningTheClient) {
  const config::JobConfig job = DeltaJob();
  TestCluster cluster(job, 2, 1);
  std::unique_ptr<PsClient> client = cluster.Connect(0);
  ASSERT_NE(client, nullptr);
  const int dim = models::TableSpecsForJob(job).value()[models::kItemTable].dim;
  const std::vector<uint64_t> keys = {1, 2, 3};
  std::vector<float> deltas(keys.size() * 2 * dim - 1);
  Status status = client->PushDelta(models::kItemTable, keys, dim, dim, deltas);
  EXPECT_EQ(status.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(status.message().find("floats"), std::string::npos) << status.message();
  EXPECT_EQ(client->PushDelta(models::kItemTable, keys, dim, -1, deltas).code(),
            Status::Code::kInvalidArgument);
  std::vector<float> rows(keys.size() * 2 * dim);
  EXPECT_EQ(client->PullWithState(models::kItemTable, keys, dim, -2, rows.data(), 0).status().code(),
            Status::Code::kInvalidArgument);
  // Still usable.
  deltas.push_back(0.0f);
  ASSERT_TRUE(client->PushDelta(models::kItemTable, keys, dim, dim, deltas).ok());
  ASSERT_TRUE(client->Finish().ok());
}

// The worker believes the item table keeps no state (SGD) while the servers run AdaGrad:
// the client fails, naming the server and the table.
TEST(PsClientDeltaErrorsTest, StateWidthMismatchFailsNamingServerAndTable) {
  const config::JobConfig job = DeltaJob();
  const int dim = models::TableSpecsForJob(job).value()[models::kItemTable].dim;
  const std::vector<uint64_t> keys = {10, 11, 12, 13};
  {
    TestCluster cluster(job, 1, 1);
    std::unique_ptr<PsClient> client = cluster.Connect(0);
    ASSERT_NE(client, nullptr);
    std::vector<float> rows(keys.size() * dim);
    Result<PsClient::Ticket> t = client->PullWithState(models::kItemTable, keys, dim, 0, rows.data(), 0);
    ASSERT_TRUE(t.ok());
    const Status status = client->Wait(*t);
    ASSERT_FALSE(status.ok());
    EXPECT_NE(status.message().find("server 0 (" + cluster.address(0) + ")"), std::string::npos)
        << status.message();
    EXPECT_NE(status.message().find("table item"), std::string::npos) << status.message();
    EXPECT_NE(status.message().find("adagrad"), std::string::npos) << status.message();
  }
  {
    TestCluster cluster(job, 1, 1);
    std::unique_ptr<PsClient> client = cluster.Connect(0);
    ASSERT_NE(client, nullptr);
    const std::vector<float> deltas(keys.size() * dim, 0.5f);
    ASSERT_TRUE(client->PushDelta(models::kItemTable, keys, dim, 0, deltas).ok());  // fire and forget
    const Status status = client->Flush();
    ASSERT_FALSE(status.ok());
    EXPECT_NE(status.message().find("server 0"), std::string::npos) << status.message();
    EXPECT_NE(status.message().find("push of deltas to table item"), std::string::npos)
        << status.message();
    // Nothing was applied.
    size_t rows = 1;
    ASSERT_TRUE(cluster.server(0)
                    .RunOnTableThread([&](ps::ServedTables& tables) {
                      rows = tables[models::kItemTable]->size();
                    })
                    .ok());
    EXPECT_EQ(rows, 0u);
  }
}

}  // namespace
}  // namespace psrec::client
