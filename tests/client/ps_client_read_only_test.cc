// Read-only pulls (evaluation) against real servers on loopback: keys without a row come
// back flagged, with zero rows, and no server creates a row; pulls that create rows still do.
#include <algorithm>
#include <atomic>
#include <memory>
#include <random>
#include <set>
#include <unordered_map>
#include <vector>

#include <gtest/gtest.h>

#include "client/ps_client.h"
#include "models/mf/biased_mf.h"
#include "models/model_tables.h"
#include "tests/client/ps_test_cluster.h"

namespace psrec::client {
namespace {

// Rows of `table` over every server of the cluster.
size_t RowsOnServers(TestCluster& cluster, int num_servers, TableId table) {
  size_t rows = 0;
  for (int s = 0; s < num_servers; ++s) {
    EXPECT_TRUE(cluster.server(s)
                    .RunOnTableThread([&](ps::ServedTables& tables) {
                      rows += tables[table]->size();
                    })
                    .ok());
  }
  return rows;
}

// `known` keys first, then `unknown` ones (disjoint from them), shuffled together.
struct Keys {
  std::vector<uint64_t> known, unknown, all;
  std::set<uint64_t> unknown_set;
};

// Keys from [base, base + 10M), so that calls with different bases never share a key.
Keys MakeKeys(size_t known, size_t unknown, uint64_t seed, uint64_t base = 0) {
  std::mt19937_64 rng(seed);
  std::set<uint64_t> seen;
  Keys keys;
  while (keys.known.size() < known) {
    const uint64_t k = base + rng() % 10'000'000;
    if (seen.insert(k).second) keys.known.push_back(k);
  }
  while (keys.unknown.size() < unknown) {
    const uint64_t k = base + rng() % 10'000'000;
    if (seen.insert(k).second) keys.unknown.push_back(k);
  }
  keys.unknown_set.insert(keys.unknown.begin(), keys.unknown.end());
  keys.all = keys.known;
  keys.all.insert(keys.all.end(), keys.unknown.begin(), keys.unknown.end());
  std::shuffle(keys.all.begin(), keys.all.end(), rng);
  return keys;
}

Status PullAndWait(PsClient& client, std::span<const uint64_t> keys, int dim, float* out) {
  ASSIGN_OR_RETURN(PsClient::Ticket t, client.Pull(models::kItemTable, keys, dim, out, 0));
  return client.Wait(t);
}

// Checks a read-only pull of keys.all against the rows a creating pull returns for the
// known keys: flags, values, zero rows for the unknown ones.
void ExpectReadOnlyResult(PsClient& client, const Keys& keys, int dim,
                          const std::vector<float>& rows, const std::vector<uint8_t>& missing) {
  const size_t row = static_cast<size_t>(dim);
  std::vector<float> known_rows(keys.known.size() * row);
  ASSERT_TRUE(PullAndWait(client, keys.known, dim, known_rows.data()).ok());
  std::unordered_map<uint64_t, size_t> known_at;
  for (size_t i = 0; i < keys.known.size(); ++i) known_at[keys.known[i]] = i;
  size_t flagged = 0;
  for (size_t i = 0; i < keys.all.size(); ++i) {
    const bool unknown = keys.unknown_set.count(keys.all[i]) > 0;
    ASSERT_EQ(missing[i], unknown ? 1 : 0) << "key " << keys.all[i];
    flagged += missing[i];
    const float* got = rows.data() + i * row;
    if (unknown) {
      EXPECT_TRUE(std::all_of(got, got + row, [](float v) { return v == 0.0f; }));
    } else {
      const float* want = known_rows.data() + known_at[keys.all[i]] * row;
      EXPECT_TRUE(std::equal(got, got + row, want)) << "key " << keys.all[i];
    }
  }
  EXPECT_EQ(flagged, keys.unknown.size());
}

class ReadOnlyPullTest : public testing::TestWithParam<int> {
 protected:
  int num_servers() const { return GetParam(); }
};

INSTANTIATE_TEST_SUITE_P(Servers, ReadOnlyPullTest, testing::Values(1, 3),
                         [](const auto& info) { return std::to_string(info.param) + "servers"; });

TEST_P(ReadOnlyPullTest, UnknownKeysAreFlaggedAndNoRowIsCreated) {
  const config::JobConfig job = TestJob();
  TestCluster cluster(job, num_servers(), 1);
  // Small parts: every server answers several, each listing its own missing positions.
  std::unique_ptr<PsClient> client =
      cluster.Connect(0, [](PsClientOptions& o) { o.chunk_bytes = 1024; });
  ASSERT_NE(client, nullptr);
  const int dim = models::TableSpecsForJob(job).value()[models::kItemTable].dim;
  const size_t row = static_cast<size_t>(dim);
  const Keys keys = MakeKeys(500, 300, 7);

  // Rows for the known keys, moved off their initial values by a push.
  std::vector<float> rows(keys.known.size() * row);
  ASSERT_TRUE(PullAndWait(*client, keys.known, dim, rows.data()).ok());
  const std::vector<float> grads(keys.known.size() * row, 0.25f);
  ASSERT_TRUE(client->Push(models::kItemTable, keys.known, dim, grads, 0.1f).ok());
  ASSERT_TRUE(client->Flush().ok());
  ASSERT_EQ(RowsOnServers(cluster, num_servers(), models::kItemTable), keys.known.size());

  rows.assign(keys.all.size() * row, -1.0f);
  std::vector<uint8_t> missing(keys.all.size(), 7);
  Result<PsClient::Ticket> t =
      client->PullReadOnly(models::kItemTable, keys.all, dim, rows.data(), missing.data(), 0);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  ASSERT_TRUE(client->Wait(*t).ok());
  ExpectReadOnlyResult(*client, keys, dim, rows, missing);
  EXPECT_EQ(RowsOnServers(cluster, num_servers(), models::kItemTable), keys.known.size());

  // A pull that creates rows (training) still does.
  rows.assign(keys.unknown.size() * row, 0.0f);
  ASSERT_TRUE(PullAndWait(*client, keys.unknown, dim, rows.data()).ok());
  EXPECT_EQ(RowsOnServers(cluster, num_servers(), models::kItemTable), keys.all.size());
  EXPECT_FALSE(std::all_of(rows.begin(), rows.end(), [](float v) { return v == 0.0f; }));
  ASSERT_TRUE(client->Finish().ok());
}

// One large reply per server (no chunking): the values may be received in place, with the
// missing positions read from the reply's head.
TEST_P(ReadOnlyPullTest, LargeRepliesWithFewOrManyMissingKeys) {
  const config::JobConfig job = TestJob();
  TestCluster cluster(job, num_servers(), 1);
  std::unique_ptr<PsClient> client =
      cluster.Connect(0, [](PsClientOptions& o) { o.chunk_bytes = 0; });
  ASSERT_NE(client, nullptr);
  const int dim = models::TableSpecsForJob(job).value()[models::kItemTable].dim;
  for (const size_t unknown : {size_t{2}, size_t{3000}}) {
    // A key space of its own: the first round's known keys have rows now.
    const Keys keys = MakeKeys(12'000, unknown, 100 + unknown, unknown * 100'000'000);
    std::vector<float> rows(keys.known.size() * static_cast<size_t>(dim));
    ASSERT_TRUE(PullAndWait(*client, keys.known, dim, rows.data()).ok());
    const size_t before = RowsOnServers(cluster, num_servers(), models::kItemTable);
    rows.assign(keys.all.size() * static_cast<size_t>(dim), -1.0f);
    std::vector<uint8_t> missing(keys.all.size(), 7);
    Result<PsClient::Ticket> t =
        client->PullReadOnly(models::kItemTable, keys.all, dim, rows.data(), missing.data(), 0);
    ASSERT_TRUE(t.ok());
    ASSERT_TRUE(client->Wait(*t).ok());
    ExpectReadOnlyResult(*client, keys, dim, rows, missing);
    EXPECT_EQ(RowsOnServers(cluster, num_servers(), models::kItemTable), before);
  }
  ASSERT_TRUE(client->Finish().ok());
}

// Under BSP a read-only pull waits like any other (parked), and creates nothing when it is
// answered later.
TEST(ReadOnlyPullParkedTest, ParkedReadOnlyPullCreatesNoRows) {
  const config::JobConfig job = TestJob(config::BSP);
  TestCluster cluster(job, 2, /*num_workers=*/2);
  std::unique_ptr<PsClient> a = cluster.Connect(0);
  std::unique_ptr<PsClient> b = cluster.Connect(1);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  const int dim = models::TableSpecsForJob(job).value()[models::kItemTable].dim;
  const Keys keys = MakeKeys(40, 25, 3);
  std::vector<float> rows(keys.known.size() * static_cast<size_t>(dim));
  ASSERT_TRUE(PullAndWait(*a, keys.known, dim, rows.data()).ok());

  rows.assign(keys.all.size() * static_cast<size_t>(dim), -1.0f);
  std::vector<uint8_t> missing(keys.all.size(), 7);
  // Clock 1 under BSP: answered once both workers finished clock 0.
  Result<PsClient::Ticket> t =
      a->PullReadOnly(models::kItemTable, keys.all, dim, rows.data(), missing.data(), 1);
  ASSERT_TRUE(t.ok());
  ASSERT_TRUE(a->AdvanceClock(1).ok());
  ASSERT_TRUE(a->Flush().ok());
  ASSERT_TRUE(b->AdvanceClock(1).ok());
  ASSERT_TRUE(a->Wait(*t).ok());
  uint64_t parked = 0;
  for (int s = 0; s < 2; ++s) parked += cluster.server(s).stats().pulls_parked;
  EXPECT_GE(parked, 1u);
  ExpectReadOnlyResult(*a, keys, dim, rows, missing);
  EXPECT_EQ(RowsOnServers(cluster, 2, models::kItemTable), keys.known.size());
  ASSERT_TRUE(a->Finish().ok());
  ASSERT_TRUE(b->Finish().ok());
}

}  // namespace
}  // namespace psrec::client
