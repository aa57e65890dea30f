#include "train/table_access.h"

#include <gtest/gtest.h>

#include <vector>

namespace psrec::train {
namespace {

// Two table ids, as a model with a user and an item table numbers them.
constexpr TableId kUserTable = 0;
constexpr TableId kItemTable = 1;

TableSpec AdaGradSpec() {
  TableSpec spec;
  spec.id = kUserTable;
  spec.name = "user";
  spec.dim = 3;
  spec.init_std = 0.1f;
  spec.optimizer.set_kind(config::OptimizerConfig::ADAGRAD);
  spec.optimizer.set_initial_accumulator(0.5f);
  spec.placement = config::TableConfig::LOCAL;
  return spec;
}

TEST(TableAccessTest, OnlyLocalRowsAreReachableInPlace) {
  LocalTableAccess local(AdaGradSpec(), 7);
  ASSERT_NE(local.local_table(), nullptr);
  EXPECT_EQ(local.local_table()->dim(), 3);
  TableSpec spec = AdaGradSpec();
  spec.placement = config::TableConfig::REMOTE;
  RemoteTableAccess remote(/*client=*/nullptr, spec);  // never called: no pulls, no pushes
  EXPECT_EQ(remote.local_table(), nullptr);
}

TEST(LocalTableAccessTest, PullWithStateReturnsPayloadThenState) {
  LocalTableAccess access(AdaGradSpec(), 7);
  ASSERT_EQ(access.state_floats(), 3);
  const std::vector<uint64_t> keys = {5, 9};
  std::vector<float> plain(2 * 3), with_state(2 * 6);
  Result<TableAccess::Ticket> a = access.BeginPull(keys, plain.data(), 0);
  Result<TableAccess::Ticket> b = access.BeginPullWithState(keys, with_state.data(), 0);
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_TRUE(access.EndPull(*a).ok());
  ASSERT_TRUE(access.EndPull(*b).ok());
  for (int k = 0; k < 2; ++k) {
    for (int j = 0; j < 3; ++j) EXPECT_EQ(with_state[k * 6 + j], plain[k * 3 + j]);
    for (int j = 3; j < 6; ++j) EXPECT_EQ(with_state[k * 6 + j], 0.5f);  // initial accumulator
  }
}

TEST(LocalTableAccessTest, PushDeltaAddsToPayloadAndState) {
  LocalTableAccess access(AdaGradSpec(), 7);
  const std::vector<uint64_t> keys = {5};
  std::vector<float> before(6), after(6);
  Result<TableAccess::Ticket> t = access.BeginPullWithState(keys, before.data(), 0);
  ASSERT_TRUE(t.ok() && access.EndPull(*t).ok());
  const std::vector<float> delta = {0.25f, -1, 0, 2, 0, 0.5f};
  ASSERT_TRUE(access.PushDelta(keys, delta).ok());
  t = access.BeginPullWithState(keys, after.data(), 0);
  ASSERT_TRUE(t.ok() && access.EndPull(*t).ok());
  for (int j = 0; j < 6; ++j) EXPECT_FLOAT_EQ(after[j], before[j] + delta[j]) << j;
}

// The optimizer a worker steps its copies with is the table's: the same step on a copy and
// a pushed change leave the row where a pushed gradient does.
TEST(LocalTableAccessTest, AStepOnACopyPushedAsAChangeEqualsAPushedGradient) {
  LocalTableAccess by_change(AdaGradSpec(), 7), by_gradient(AdaGradSpec(), 7);
  const std::vector<uint64_t> keys = {11};
  const std::vector<float> grad = {0.3f, -0.2f, 0.1f};
  std::vector<float> copy(6), base(6), change(6);
  Result<TableAccess::Ticket> t = by_change.BeginPullWithState(keys, copy.data(), 0);
  ASSERT_TRUE(t.ok() && by_change.EndPull(*t).ok());
  base = copy;
  by_change.optimizer().UpdateRow(copy.data(), copy.data() + 3, grad.data(), 3, 0.1f);
  for (int j = 0; j < 6; ++j) change[j] = copy[j] - base[j];
  ASSERT_TRUE(by_change.PushDelta(keys, change).ok());
  ASSERT_TRUE(by_gradient.Push(keys, grad, 0.1f).ok());
  std::vector<float> a(6), b(6);
  t = by_change.BeginPullWithState(keys, a.data(), 0);
  ASSERT_TRUE(t.ok() && by_change.EndPull(*t).ok());
  t = by_gradient.BeginPullWithState(keys, b.data(), 0);
  ASSERT_TRUE(t.ok() && by_gradient.EndPull(*t).ok());
  for (int j = 0; j < 6; ++j) EXPECT_NEAR(a[j], b[j], 1e-6) << j;
}

}  // namespace
}  // namespace psrec::train

namespace psrec::train {
namespace {

TEST(LocalTableAccessTest, ReadOnlyPullFlagsMissingRowsAndCreatesNone) {
  LocalTableAccess access(AdaGradSpec(), 7);
  const std::vector<uint64_t> known = {5, 9};
  std::vector<float> rows(2 * 3);
  Result<TableAccess::Ticket> t = access.BeginPull(known, rows.data(), 0);
  ASSERT_TRUE(t.ok());
  ASSERT_TRUE(access.EndPull(*t).ok());
  ASSERT_EQ(access.local_table()->size(), 2u);

  const std::vector<uint64_t> keys = {11, 9, 12, 5};
  std::vector<float> got(4 * 3, -1.0f);
  std::vector<uint8_t> missing(4, 7);
  t = access.BeginPullReadOnly(keys, got.data(), missing.data(), 0);
  ASSERT_TRUE(t.ok());
  ASSERT_TRUE(access.EndPull(*t).ok());
  EXPECT_EQ(missing, (std::vector<uint8_t>{1, 0, 1, 0}));
  EXPECT_EQ(access.local_table()->size(), 2u);
  const std::vector<float> zeros(3, 0.0f);
  EXPECT_EQ(std::vector<float>(got.begin(), got.begin() + 3), zeros);
  EXPECT_EQ(std::vector<float>(got.begin() + 3, got.begin() + 6),
            std::vector<float>(rows.begin() + 3, rows.begin() + 6));
  EXPECT_EQ(std::vector<float>(got.begin() + 6, got.begin() + 9), zeros);
  EXPECT_EQ(std::vector<float>(got.begin() + 9, got.end()),
            std::vector<float>(rows.begin(), rows.begin() + 3));
}

}  // namespace
}  // namespace psrec::train
