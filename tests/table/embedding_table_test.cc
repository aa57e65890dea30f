#include "table/embedding_table.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "table/row_initializer.h"

namespace psrec::table {
namespace {

// The item table's id, as a model with a user (0) and an item table numbers them. (An
// unused user-table constant here failed clang's -Wunused-const-variable in CI's builds.)
constexpr TableId kItemTable = 1;

TableSpec Spec(config::OptimizerConfig::Kind kind, int dim = 5) {
  TableSpec spec;
  spec.id = kItemTable;
  spec.name = "item";
  spec.dim = dim;
  spec.init_std = 0.1f;
  spec.zero_tail = 1;
  spec.optimizer.set_kind(kind);
  spec.optimizer.set_initial_accumulator(0.5f);
  spec.optimizer.set_epsilon(1e-6f);
  return spec;
}

std::vector<float> PullOne(EmbeddingTable& table, uint64_t key) {
  std::vector<float> out(table.dim());
  table.Pull(std::span<const uint64_t>(&key, 1), out.data());
  return out;
}

TEST(EmbeddingTableTest, PullCreatesInitializedRows) {
  TableSpec spec = Spec(config::OptimizerConfig::SGD);
  EmbeddingTable table(spec, 42);
  EXPECT_EQ(table.size(), 0u);
  EXPECT_EQ(table.Find(7), nullptr);
  std::vector<uint64_t> keys = {7, 9, 7};
  std::vector<float> out(keys.size() * 5);
  table.Pull(keys, out.data());
  EXPECT_EQ(table.size(), 2u);
  std::vector<float> expected(5);
  InitializeRow(spec, 42, 7, expected.data());
  EXPECT_TRUE(std::equal(expected.begin(), expected.end(), out.begin()));
  EXPECT_TRUE(std::equal(expected.begin(), expected.end(), out.begin() + 10));
  EXPECT_EQ(out[4], 0.0f);  // bias
  ASSERT_NE(table.Find(7), nullptr);
  EXPECT_TRUE(std::equal(expected.begin(), expected.end(), table.Find(7)));
  EXPECT_EQ(table.FindState(7), nullptr);  // SGD keeps no state
}

TEST(EmbeddingTableTest, RowValueIndependentOfInsertionOrderAndOtherKeys) {
  TableSpec spec = Spec(config::OptimizerConfig::ADAGRAD, 9);
  std::vector<uint64_t> keys(500);
  for (size_t i = 0; i < keys.size(); ++i) keys[i] = i * 7919 + 3;
  EmbeddingTable forward(spec, 1);
  forward.Pull(keys, std::vector<float>(keys.size() * 9).data());

  // Another shard sees the keys in another order, interleaved with keys the first never saw.
  std::vector<uint64_t> shuffled = keys;
  std::mt19937_64 rng(5);
  std::shuffle(shuffled.begin(), shuffled.end(), rng);
  EmbeddingTable other(spec, 1);
  for (uint64_t key : shuffled) {
    PullOne(other, key + 1000000);
    PullOne(other, key);
  }
  for (uint64_t key : keys) {
    ASSERT_NE(forward.Find(key), nullptr);
    ASSERT_NE(other.Find(key), nullptr);
    EXPECT_TRUE(std::equal(forward.Find(key), forward.Find(key) + 9, other.Find(key))) << key;
  }
}

TEST(EmbeddingTableTest, SgdPushByHand) {
  EmbeddingTable table(Spec(config::OptimizerConfig::SGD, 3), 3);
  std::vector<float> before = PullOne(table, 11);
  std::vector<uint64_t> keys = {11, 11};  // a repeated key gets both gradients
  std::vector<float> grads = {1.0f, 2.0f, 3.0f, -1.0f, 0.0f, 1.0f};
  table.Push(keys, grads.data(), 0.1f);
  std::vector<float> after = PullOne(table, 11);
  EXPECT_FLOAT_EQ(after[0], before[0] - 0.1f * (1.0f - 1.0f));
  EXPECT_FLOAT_EQ(after[1], before[1] - 0.1f * 2.0f);
  EXPECT_FLOAT_EQ(after[2], before[2] - 0.1f * 4.0f);
}

TEST(EmbeddingTableTest, AdaGradPushByHandIncludingUnknownKey) {
  EmbeddingTable table(Spec(config::OptimizerConfig::ADAGRAD, 2), 3);
  ASSERT_EQ(table.state_floats(), 2);
  // Push to a key never pulled: the row is created with its initial value first.
  std::vector<float> init(2);
  InitializeRow(table.spec(), 3, 77, init.data());
  uint64_t key = 77;
  std::vector<float> g = {0.3f, -2.0f};
  table.Push(std::span<const uint64_t>(&key, 1), g.data(), 0.2f);
  const float* w = table.Find(77);
  const float* a = table.FindState(77);
  ASSERT_NE(w, nullptr);
  ASSERT_NE(a, nullptr);
  for (int i = 0; i < 2; ++i) {
    double acc = 0.5 + static_cast<double>(g[i]) * g[i];
    EXPECT_NEAR(a[i], acc, 1e-6);
    EXPECT_NEAR(w[i], init[i] - 0.2 * g[i] / (std::sqrt(acc) + 1e-6), 1e-6);
  }
}

TEST(EmbeddingTableTest, GrowthKeepsValues) {
  TableSpec spec = Spec(config::OptimizerConfig::ADAGRAD, 17);
  EmbeddingTable table(spec, 9);
  // Give every row a distinctive value through UpsertRow, then grow far past the first
  // capacity and check all of them.
  const uint64_t n = 100000;
  std::vector<float> payload(17), state(17);
  for (uint64_t k = 0; k < n; ++k) {
    for (int i = 0; i < 17; ++i) {
      payload[i] = static_cast<float>(k) + i * 0.001f;
      state[i] = static_cast<float>(k) * 2 + i;
    }
    table.UpsertRow(k * 31, payload.data(), state.data());
  }
  EXPECT_EQ(table.size(), n);
  EXPECT_GE(table.MemoryBytes(), n * (17 * 2 * 4 + 8));
  for (uint64_t k = 0; k < n; k += 97) {
    const float* w = table.Find(k * 31);
    const float* a = table.FindState(k * 31);
    ASSERT_NE(w, nullptr) << k;
    EXPECT_EQ(w[16], static_cast<float>(k) + 16 * 0.001f) << k;
    EXPECT_EQ(a[3], static_cast<float>(k) * 2 + 3) << k;
  }
  // Aligned for SIMD loads.
  EXPECT_EQ(reinterpret_cast<uintptr_t>(table.rows().rows) % 64, 0u);
}

TEST(EmbeddingTableTest, ForEachRowUpsertRowRoundTrip) {
  TableSpec spec = Spec(config::OptimizerConfig::ADAGRAD, 4);
  EmbeddingTable source(spec, 5);
  std::vector<uint64_t> keys;
  for (uint64_t k = 0; k < 3000; ++k) keys.push_back(Mix64(k));
  std::vector<float> grads(keys.size() * 4, 0.25f);
  source.Pull(keys, std::vector<float>(keys.size() * 4).data());
  source.Push(keys, grads.data(), 0.1f);

  EmbeddingTable restored(spec, /*another seed: values must come from the rows*/ 6);
  restored.Reserve(source.size());
  size_t visited = 0;
  source.ForEachRow([&](uint64_t key, const float* payload, const float* state) {
    ASSERT_NE(state, nullptr);
    EXPECT_EQ(key, keys[visited]);  // creation order
    restored.UpsertRow(key, payload, state);
    ++visited;
  });
  EXPECT_EQ(visited, keys.size());
  ASSERT_EQ(restored.size(), source.size());
  for (uint64_t key : keys) {
    EXPECT_TRUE(std::equal(source.Find(key), source.Find(key) + 4, restored.Find(key)));
    EXPECT_TRUE(std::equal(source.FindState(key), source.FindState(key) + 4,
                           restored.FindState(key)));
  }
  // Further pushes behave the same on both.
  source.Push(keys, grads.data(), 0.1f);
  restored.Push(keys, grads.data(), 0.1f);
  for (uint64_t key : keys) {
    EXPECT_TRUE(std::equal(source.Find(key), source.Find(key) + 4, restored.Find(key)));
  }
}

TEST(EmbeddingTableTest, UpsertWithoutStateUsesInitialState) {
  EmbeddingTable table(Spec(config::OptimizerConfig::ADAGRAD, 3), 5);
  float payload[3] = {1, 2, 3};
  table.UpsertRow(4, payload, nullptr);
  EXPECT_EQ(table.Find(4)[2], 3.0f);
  EXPECT_EQ(table.FindState(4)[0], 0.5f);
}

TEST(EmbeddingTableTest, SnapshotIsIndependentCopy) {
  EmbeddingTable table(Spec(config::OptimizerConfig::ADAGRAD, 3), 5);
  std::vector<uint64_t> keys = {1, 2, 3};
  table.Pull(keys, std::vector<float>(9).data());
  TableSnapshot snapshot = table.Snapshot();
  std::vector<float> before(table.Find(2), table.Find(2) + 3);
  std::vector<float> grads(9, 1.0f);
  table.Push(keys, grads.data(), 0.5f);
  PullOne(table, 4);
  TableRows rows = snapshot.rows();
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows.row_floats(), 6);
  EXPECT_EQ(rows.keys[1], 2u);
  EXPECT_TRUE(std::equal(before.begin(), before.end(), rows.row(1)));
  EXPECT_EQ(rows.row(1)[3], 0.5f);  // accumulator before the push
  EXPECT_NE(table.Find(2)[0], before[0]);
}

TEST(EmbeddingTableTest, PullWithStateReturnsPayloadThenState) {
  EmbeddingTable table(Spec(config::OptimizerConfig::ADAGRAD, 3), 5);
  ASSERT_EQ(table.row_floats(), 6);
  const std::vector<uint64_t> keys = {5, 8, 5};
  std::vector<float> rows(keys.size() * 6, -1.0f);
  table.PullWithState(keys, rows.data());
  EXPECT_EQ(table.size(), 2u);  // missing rows are created
  for (size_t i = 0; i < keys.size(); ++i) {
    std::vector<float> init(3);
    InitializeRow(table.spec(), 5, keys[i], init.data());
    EXPECT_TRUE(std::equal(init.begin(), init.end(), rows.begin() + i * 6)) << i;
    for (int j = 3; j < 6; ++j) EXPECT_EQ(rows[i * 6 + j], 0.5f) << i;  // initial accumulator
  }
  // After a push the state travels as the table holds it.
  const uint64_t key = 8;
  const std::vector<float> g = {1.0f, -2.0f, 0.5f};
  table.Push(std::span<const uint64_t>(&key, 1), g.data(), 0.1f);
  std::vector<float> row(6);
  table.PullWithState(std::span<const uint64_t>(&key, 1), row.data());
  EXPECT_TRUE(std::equal(row.begin(), row.begin() + 3, table.Find(8)));
  EXPECT_TRUE(std::equal(row.begin() + 3, row.end(), table.FindState(8)));
  EXPECT_FLOAT_EQ(row[4], 0.5f + 4.0f);

  // SGD keeps no state: a pull with state is a plain pull.
  EmbeddingTable sgd(Spec(config::OptimizerConfig::SGD, 3), 5);
  ASSERT_EQ(sgd.row_floats(), 3);
  std::vector<float> with_state(9), plain(9);
  sgd.PullWithState(keys, with_state.data());
  sgd.Pull(keys, plain.data());
  EXPECT_EQ(with_state, plain);
}

TEST(EmbeddingTableTest, AddRowsAddsToPayloadAndStateOfRepeatedAndNewKeys) {
  EmbeddingTable table(Spec(config::OptimizerConfig::ADAGRAD, 2), 7);
  const uint64_t old_key = 4;
  std::vector<float> before(4);
  table.PullWithState(std::span<const uint64_t>(&old_key, 1), before.data());
  // Key 4 twice (both deltas count), key 9 never seen (initial row + delta).
  const std::vector<uint64_t> keys = {4, 9, 4};
  const std::vector<float> deltas = {0.5f, -1.0f, 2.0f, 3.0f,    // key 4
                                     0.25f, 0.75f, 1.0f, 0.0f,   // key 9
                                     -0.125f, 1.0f, 0.5f, 4.0f};  // key 4 again
  table.AddRows(keys, deltas.data());
  ASSERT_EQ(table.size(), 2u);
  const float* w4 = table.Find(4);
  const float* a4 = table.FindState(4);
  EXPECT_FLOAT_EQ(w4[0], before[0] + 0.5f - 0.125f);
  EXPECT_FLOAT_EQ(w4[1], before[1] - 1.0f + 1.0f);
  EXPECT_FLOAT_EQ(a4[0], 0.5f + 2.0f + 0.5f);
  EXPECT_FLOAT_EQ(a4[1], 0.5f + 3.0f + 4.0f);
  std::vector<float> init9(2);
  InitializeRow(table.spec(), 7, 9, init9.data());
  EXPECT_FLOAT_EQ(table.Find(9)[0], init9[0] + 0.25f);
  EXPECT_FLOAT_EQ(table.Find(9)[1], init9[1] + 0.75f);
  EXPECT_FLOAT_EQ(table.FindState(9)[0], 1.5f);
  EXPECT_FLOAT_EQ(table.FindState(9)[1], 0.5f);
}

// What a worker that runs AdaGrad itself does: pull rows with their accumulators, apply
// each gradient to its copy with the optimizer kernel, push new - pulled. The table must
// end where applying the same gradients on the server would have left it.
TEST(EmbeddingTableTest, AdaGradDeltasOfLocalStepsEqualServerSteps) {
  constexpr int kDimHere = 8;
  const TableSpec spec = Spec(config::OptimizerConfig::ADAGRAD, kDimHere);
  EmbeddingTable deltas_table(spec, 11), server_table(spec, 11);
  const int rf = deltas_table.row_floats();
  ASSERT_EQ(rf, 2 * kDimHere);
  std::mt19937_64 rng(3);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  const float lr = 0.05f, eps = spec.optimizer.epsilon();
  for (int round = 0; round < 5; ++round) {
    std::vector<uint64_t> keys(40);
    for (size_t i = 0; i < keys.size(); ++i) keys[i] = round * 13 + i * 3;  // overlapping rounds
    std::vector<float> pulled(keys.size() * rf);
    deltas_table.PullWithState(keys, pulled.data());
    std::vector<float> local = pulled;
    // 1 to 4 ratings per row, applied in order to the local copy and pushed one by one to
    // the reference table.
    for (size_t i = 0; i < keys.size(); ++i) {
      const int steps = 1 + static_cast<int>(rng() % 4);
      for (int step = 0; step < steps; ++step) {
        std::vector<float> g(kDimHere);
        for (float& x : g) x = normal(rng);
        float* row = local.data() + i * rf;
        AdaGradUpdateRow(row, row + kDimHere, g.data(), kDimHere, lr, eps);
        server_table.Push(std::span<const uint64_t>(&keys[i], 1), g.data(), lr);
      }
    }
    std::vector<float> deltas(local.size());
    for (size_t j = 0; j < local.size(); ++j) deltas[j] = local[j] - pulled[j];
    deltas_table.AddRows(keys, deltas.data());
  }
  ASSERT_EQ(deltas_table.size(), server_table.size());
  double max_diff = 0;
  server_table.ForEachRow([&](uint64_t key, const float* payload, const float* state) {
    const float* w = deltas_table.Find(key);
    const float* a = deltas_table.FindState(key);
    ASSERT_NE(w, nullptr) << key;
    for (int j = 0; j < kDimHere; ++j) {
      EXPECT_NEAR(w[j], payload[j], 1e-5f * (1.0f + std::abs(payload[j]))) << key << " " << j;
      EXPECT_NEAR(a[j], state[j], 1e-5f * (1.0f + std::abs(state[j]))) << key << " " << j;
      max_diff = std::max(max_diff, static_cast<double>(std::abs(w[j] - payload[j])));
    }
  });
  EXPECT_LT(max_diff, 1e-5);
}

// Two workers start from the same pulled row: their accumulator increments add up.
TEST(EmbeddingTableTest, AdaGradAccumulatorDeltasOfTwoWorkersAdd) {
  constexpr int kDimHere = 4;
  const TableSpec spec = Spec(config::OptimizerConfig::ADAGRAD, kDimHere);
  EmbeddingTable table(spec, 2);
  const uint64_t key = 17;
  const std::span<const uint64_t> one(&key, 1);
  std::vector<float> pulled(2 * kDimHere);
  table.PullWithState(one, pulled.data());
  const std::vector<std::vector<float>> grads = {{1, 2, 3, 4}, {-0.5f, 0.25f, 2, -1}};
  std::vector<float> sum_sq(kDimHere, 0.0f);
  for (const std::vector<float>& g : grads) {  // one worker each
    std::vector<float> local = pulled;
    AdaGradUpdateRow(local.data(), local.data() + kDimHere, g.data(), kDimHere, 0.1f,
                     spec.optimizer.epsilon());
    std::vector<float> delta(local.size());
    for (size_t j = 0; j < local.size(); ++j) delta[j] = local[j] - pulled[j];
    table.AddRows(one, delta.data());
    for (int j = 0; j < kDimHere; ++j) sum_sq[j] += g[j] * g[j];
  }
  for (int j = 0; j < kDimHere; ++j) {
    EXPECT_FLOAT_EQ(table.FindState(key)[j], 0.5f + sum_sq[j]) << j;
  }
}

}  // namespace
}  // namespace psrec::table

namespace psrec::table {
namespace {

TEST(EmbeddingTableFindRowsTest, FindsExistingRowsAndCreatesNone) {
  EmbeddingTable table(Spec(config::OptimizerConfig::ADAGRAD), 3);
  std::vector<uint64_t> present;
  for (uint64_t k = 0; k < 100; ++k) present.push_back(k * 7919);
  std::vector<float> pulled(present.size() * 5);
  table.Pull(present, pulled.data());
  // Interleaved with absent keys, longer than the prefetch distance.
  std::vector<uint64_t> keys;
  for (uint64_t k = 0; k < 100; ++k) {
    keys.push_back(present[k]);
    if (k % 3 == 0) keys.push_back(k * 7919 + 1);
  }
  std::vector<const float*> rows(keys.size());
  EXPECT_EQ(table.FindRows(keys, rows.data()), 34u);
  EXPECT_EQ(table.size(), present.size());
  size_t next_present = 0;
  for (size_t i = 0; i < keys.size(); ++i) {
    if (keys[i] % 7919 != 0) {
      EXPECT_EQ(rows[i], nullptr);
      continue;
    }
    ASSERT_NE(rows[i], nullptr);
    EXPECT_EQ(rows[i], table.Find(keys[i]));
    // Payload, then the optimizer state.
    EXPECT_TRUE(std::equal(rows[i], rows[i] + 5, pulled.data() + next_present * 5));
    EXPECT_EQ(rows[i] + 5, table.FindState(keys[i]));
    ++next_present;
  }
}

}  // namespace
}  // namespace psrec::table
