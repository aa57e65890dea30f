// DenseTables (train/dense_tables.h) over a LocalTableAccess, so that the blocks live in an
// EmbeddingTable the test can read: whole-vector pulls, pushed gradients applied per block,
// worker-side steps through DenseBlockOptimizer pushed as changes, carried changes, and the
// scoring pull that creates nothing.
#include "train/dense_tables.h"

#include <cmath>
#include <vector>

#include <gtest/gtest.h>

#include "table/row_initializer.h"

namespace psrec::train {
namespace {

constexpr uint64_t kSeed = 17;

// 10 floats (a 2x4 weight, Xavier-like uniform, then a zero bias of 2) in blocks of 4:
// 3 blocks, the last half padding.
TableSpec Spec(config::OptimizerConfig::Kind kind) {
  TableSpec spec;
  spec.id = 2;
  spec.name = "dense";
  spec.dim = 4;
  spec.dense = {{0, 8, DenseInitRun::Distribution::kUniform, 0.5f},
                {8, 2, DenseInitRun::Distribution::kZero, 0}};
  spec.dense_floats = 10;
  spec.optimizer.set_kind(kind);
  spec.optimizer.set_learning_rate(0.1f);
  spec.optimizer.set_initial_accumulator(0.5f);
  return spec;
}

std::vector<float> Initial(const TableSpec& spec) {
  std::vector<float> flat(12);
  for (uint64_t b = 0; b < 3; ++b) table::InitializeRow(spec, kSeed, b, flat.data() + 4 * b);
  return flat;
}

std::vector<float> Gradient() { return {1, -2, 3, -4, 5, -6, 7, -8, 0.5f, -0.5f}; }

TEST(DenseTablesTest, GradientsArePushedPerBlockAndAppliedByTheOwner) {
  const TableSpec spec = Spec(config::OptimizerConfig::ADAGRAD);
  LocalTableAccess access(spec, kSeed);
  DenseTables dense({&access}, kSeed);
  dense.StartEpoch(0);
  DenseBatch batch;
  ASSERT_TRUE(dense.BeginPull(0, /*with_state=*/false, &batch).ok());
  ASSERT_TRUE(dense.Await(&batch).ok());
  dense.MakeViews(&batch);
  ASSERT_EQ(batch.views.size(), 1u);
  const models::DenseView& view = batch.views[0];
  EXPECT_EQ(view.floats, 10u);
  const std::vector<float> initial = Initial(spec);
  EXPECT_EQ(std::vector<float>(view.params, view.params + 12), initial);
  const std::vector<float> g = Gradient();
  std::copy(g.begin(), g.end(), view.grads);
  ASSERT_TRUE(dense.PushGradients(batch).ok());
  // AdaGrad per float: a = 0.5 + g^2, w -= 0.1 g / (sqrt(a) + eps); padding untouched.
  const table::EmbeddingTable& table = *access.local_table();
  for (size_t p = 0; p < 12; ++p) {
    const float grad = p < 10 ? g[p] : 0.0f;
    const float expected = initial[p] - 0.1f * grad / (std::sqrt(0.5f + grad * grad) + 1e-8f);
    EXPECT_FLOAT_EQ(table.Find(p / 4)[p % 4], expected) << p;
  }
}

// A worker-side step over the whole vector (DenseBlockOptimizer) pushed as changes leaves
// the owner's blocks where pushing the same gradient leaves them.
TEST(DenseTablesTest, WorkerStepsPushedAsChangesMatchTheOwnersStep) {
  const TableSpec spec = Spec(config::OptimizerConfig::ADAGRAD);
  LocalTableAccess by_owner(spec, kSeed), by_worker(spec, kSeed);
  DenseTables owner({&by_owner}, kSeed), worker({&by_worker}, kSeed);
  owner.StartEpoch(0);
  worker.StartEpoch(0);
  const std::vector<float> g = Gradient();
  for (int step = 0; step < 3; ++step) {
    DenseBatch a, b;
    ASSERT_TRUE(owner.BeginPull(0, false, &a).ok());
    ASSERT_TRUE(owner.Await(&a).ok());
    owner.MakeViews(&a);
    std::copy(g.begin(), g.end(), a.views[0].grads);
    ASSERT_TRUE(owner.PushGradients(a).ok());

    ASSERT_TRUE(worker.BeginPull(0, /*with_state=*/true, &b).ok());
    ASSERT_TRUE(worker.Await(&b).ok());
    worker.MakeViews(&b);
    const models::DenseView& view = b.views[0];
    ASSERT_EQ(view.stepper.state_floats, 12);  // 3 blocks x 4 accumulators
    view.stepper.optimizer->UpdateRow(view.params, view.state, g.data(),
                                      static_cast<int>(view.floats), view.stepper.learning_rate);
    ASSERT_TRUE(worker.PushChanges(&b).ok());
  }
  for (uint64_t block = 0; block < 3; ++block) {
    for (int j = 0; j < 4; ++j) {
      EXPECT_NEAR(by_worker.local_table()->Find(block)[j], by_owner.local_table()->Find(block)[j],
                  1e-6) << block << " " << j;
      EXPECT_NEAR(by_worker.local_table()->FindState(block)[j],
                  by_owner.local_table()->FindState(block)[j], 1e-5) << block << " " << j;
    }
  }
}

TEST(DenseTablesTest, CarriedChangesAreAddedToEveryBlock) {
  const TableSpec spec = Spec(config::OptimizerConfig::SGD);
  LocalTableAccess access(spec, kSeed);
  DenseTables dense({&access}, kSeed);
  dense.StartEpoch(0);
  DenseBatch done, next;
  ASSERT_TRUE(dense.BeginPull(0, true, &done).ok());
  ASSERT_TRUE(dense.BeginPull(0, true, &next).ok());
  ASSERT_TRUE(dense.Await(&done).ok());
  // A local pull copies when waited for: this one is answered before done's push, as a
  // remote pull sent ahead may be.
  ASSERT_TRUE(dense.Await(&next).ok());
  dense.MakeViews(&done);
  for (size_t p = 0; p < 10; ++p) done.views[0].params[p] += 1.0f;
  ASSERT_TRUE(dense.PushChanges(&done).ok());
  DenseTables::CarryChanges(done, &next);
  dense.MakeViews(&next);
  for (size_t p = 0; p < 12; ++p) {
    EXPECT_EQ(next.views[0].params[p], access.local_table()->Find(p / 4)[p % 4]) << p;
  }
}

TEST(DenseTablesTest, ScoringPullCreatesNoBlocksAndGivesTheInitialValues) {
  const TableSpec spec = Spec(config::OptimizerConfig::SGD);
  LocalTableAccess access(spec, kSeed);
  DenseTables dense({&access}, kSeed);
  Result<std::vector<std::vector<float>>> vectors = dense.PullForScoring(0);
  ASSERT_TRUE(vectors.ok());
  ASSERT_EQ(vectors->size(), 1u);
  std::vector<float> initial = Initial(spec);
  initial.resize(10);
  EXPECT_EQ((*vectors)[0], initial);
  EXPECT_EQ(access.local_table()->size(), 0u);
}

}  // namespace
}  // namespace psrec::train
