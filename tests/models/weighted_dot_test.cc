// WeightedDot (models/weighted_dot/): analytic gradients of rows and dense weights against
// finite differences of the loss, Step against AccumulateGradients, scoring from the dense
// vector SetScoringDense gave.
#include "models/weighted_dot/weighted_dot.h"

#include <cmath>
#include <vector>

#include <gtest/gtest.h>

#include "table/optimizer.h"

namespace psrec::models {
namespace {

constexpr int kDim = 3;

config::ModelConfig Config(float l2) {
  config::ModelConfig config;
  config.set_type(config::ModelConfig::WEIGHTED_DOT);
  config.set_dim(kDim);
  config.set_l2_factors(l2);
  config.set_l2_bias(0.01f);
  return config;
}

// Two users, two items (3 factors, then the bias), three ratings; w and b in a dense vector
// padded to 2 blocks of 4.
constexpr int kRow = kDim + 1;
struct Batch {
  std::vector<float> users = {0.3f, -0.2f, 0.5f, 0.1f, -0.4f, 0.1f, 0.25f, -0.2f};
  std::vector<float> items = {0.6f, 0.2f, -0.3f, 0.05f, 0.15f, -0.5f, 0.35f, 0.3f};
  std::vector<float> dense = {0.7f, -0.4f, 0.9f, 0.2f, 0, 0, 0, 0};  // w, b, padding
  std::vector<uint32_t> user_slot = {0, 1, 0};
  std::vector<uint32_t> item_slot = {0, 0, 1};
  std::vector<float> labels = {1.0f, -0.5f, 0.3f};
  std::vector<float> user_grads = std::vector<float>(8, 0.0f);
  std::vector<float> item_grads = std::vector<float>(8, 0.0f);
  std::vector<float> dense_grads = std::vector<float>(8, 0.0f);
  RowLookup fields[2];
  DenseView view;

  ExampleBatch Make() {
    fields[0] = {users.data(), nullptr, kRow, user_slot.data(), 1, user_grads.data()};
    fields[1] = {items.data(), nullptr, kRow, item_slot.data(), 1, item_grads.data()};
    view.params = dense.data();
    view.grads = dense_grads.data();
    view.floats = kDim + 1;
    ExampleBatch batch;
    batch.size = labels.size();
    batch.labels = labels.data();
    batch.fields = fields;
    batch.dense = std::span<const DenseView>(&view, 1);
    return batch;
  }
};

// 1/2 the summed squared error plus the L2 terms the gradients carry, in double.
double Loss(const WeightedDot& model, Batch b, float l2, float l2_bias) {
  const double sse = model.AccumulateGradients(b.Make());
  double reg = 0;
  for (size_t i = 0; i < b.labels.size(); ++i) {
    for (int k = 0; k < kDim; ++k) {
      const double p = b.users[b.user_slot[i] * kRow + k], q = b.items[b.item_slot[i] * kRow + k];
      reg += 0.5 * l2 * (p * p + q * q);
    }
    const double bu = b.users[b.user_slot[i] * kRow + kDim];
    const double bi = b.items[b.item_slot[i] * kRow + kDim];
    reg += 0.5 * l2_bias * (bu * bu + bi * bi);
  }
  return 0.5 * sse + reg;
}

TEST(WeightedDotTest, GradientsMatchFiniteDifferences) {
  const float l2 = 0.05f;
  WeightedDot model(Config(l2));
  Batch base;
  const double loss = model.AccumulateGradients(base.Make());
  ASSERT_GT(loss, 0);
  const float eps = 1e-3f;
  auto check = [&](std::vector<float> Batch::*values, std::vector<float> Batch::*grads,
                   size_t n, const char* what) {
    for (size_t j = 0; j < n; ++j) {
      Batch plus, minus;
      (plus.*values)[j] += eps;
      (minus.*values)[j] -= eps;
      const double numeric =
          (Loss(model, plus, l2, 0.01f) - Loss(model, minus, l2, 0.01f)) / (2 * eps);
      EXPECT_NEAR((base.*grads)[j], numeric, 1e-3 * std::max(1.0, std::abs(numeric)))
          << what << " " << j;
    }
  };
  check(&Batch::users, &Batch::user_grads, 8, "user");
  check(&Batch::items, &Batch::item_grads, 8, "item");
  check(&Batch::dense, &Batch::dense_grads, kDim + 1, "dense");
  for (size_t j = kDim + 1; j < 8; ++j) EXPECT_EQ(base.dense_grads[j], 0.0f) << "padding";
}

// One rating, SGD: Step moves every row and the dense vector by -lr times the gradient
// AccumulateGradients gives.
TEST(WeightedDotTest, StepOnOneRatingIsAnSgdStepOfTheGradients) {
  WeightedDot model(Config(0.02f));
  Batch grads, stepped;
  for (Batch* b : {&grads, &stepped}) b->labels.resize(1);
  model.AccumulateGradients(grads.Make());
  const table::SgdOptimizer sgd;
  const float lr = 0.1f;
  const RowStepper steppers[2] = {{&sgd, lr, 0}, {&sgd, lr, 0}};
  ExampleBatch batch = stepped.Make();
  batch.steppers = steppers;
  stepped.view.stepper = {&sgd, lr, 0};
  std::vector<float> scratch;
  model.Step(batch, &scratch);
  const Batch original;
  for (int k = 0; k < kRow; ++k) {
    EXPECT_FLOAT_EQ(stepped.users[k], original.users[k] - lr * grads.user_grads[k]) << k;
    EXPECT_FLOAT_EQ(stepped.items[k], original.items[k] - lr * grads.item_grads[k]) << k;
  }
  for (int j = 0; j <= kDim; ++j) {
    EXPECT_FLOAT_EQ(stepped.dense[j], original.dense[j] - lr * grads.dense_grads[j]) << j;
  }
}

TEST(WeightedDotTest, ScoresWithTheDenseVectorItWasGiven) {
  WeightedDot model(Config(0));
  ASSERT_TRUE(model.RestoreScalars({{"global_mean", 3.0}}).ok());
  model.SetScoringDense({{2.0f, 0.0f, -1.0f, 0.5f}});
  const float user[kRow] = {1, 5, 2, 0.25f}, item[kRow] = {3, 7, 4, -1};
  const float* rows[2] = {user, item};
  // 3 + 0.25 - 1 + (2*1*3 + 0 - 1*2*4) + 0.5
  EXPECT_FLOAT_EQ(model.Score(rows), 0.75f);
  EXPECT_TRUE(model.ScoresUserItem());
  const TableDecl& dense = model.tables()[WeightedDot::kDenseTable];
  EXPECT_EQ(dense.keyed_by, KeyedBy::kDense);
  EXPECT_EQ(dense.dense_floats(), static_cast<size_t>(kDim + 1));
  EXPECT_EQ(dense.dense_blocks(), 1);
}

}  // namespace
}  // namespace psrec::models
