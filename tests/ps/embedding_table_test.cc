#include "ps/embedding_table.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "ps/row_initializer.h"

namespace psrec::ps {
namespace {

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

}  // namespace
}  // namespace psrec::ps
