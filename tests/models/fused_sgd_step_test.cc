// The fused SGD step (models/mf/fused_sgd_step.h) against a plain scalar transcription of
// its contract, for every instruction set this CPU runs, k = 16, 32, 64, and each way the
// trainer addresses rows; and BiasedMf::Step's choice of kernel.
#include "models/mf/fused_sgd_step.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "data/packed_rating.h"
#include "models/mf/biased_mf.h"
#include "table/optimizer.h"

namespace psrec::models::mf {
namespace {

// Rows are ~N(0, 0.3^2) and move by ~0.1 over a batch; a step rounds differently from the
// reference by a few ulp (another summation order, FMA), and over ~75 steps per row these
// stay far below 1e-5. A wrong term (a swapped rate, a missing l2, a stale row) moves rows
// by more than 1e-3.
constexpr float kRowTolerance = 1e-5f;

FusedSgdTerms Terms(int factors) {
  // Distinct rates and penalties, so that swapping any two changes the result.
  return FusedSgdTerms{factors, 3.6f, 0.03f, 0.007f, 0.021f, 0.013f};
}

// The contract, one float operation at a time.
double ReferenceStep(const FusedSgdTerms& t, const std::vector<uint32_t>& user_of,
                     const std::vector<uint32_t>& item_of, const std::vector<float>& labels,
                     std::vector<float>* users, std::vector<float>* items) {
  const size_t k = static_cast<size_t>(t.factors);
  double sse = 0;
  std::vector<float> gp(k), gq(k);
  for (size_t i = 0; i < labels.size(); ++i) {
    float* p = users->data() + user_of[i] * (k + 1);
    float* q = items->data() + item_of[i] * (k + 1);
    float dot = 0;
    for (size_t j = 0; j < k; ++j) dot += p[j] * q[j];
    const float e = t.global_mean + p[k] + q[k] + dot - labels[i];
    sse += static_cast<double>(e) * e;
    for (size_t j = 0; j < k; ++j) {
      gp[j] = e * q[j] + t.l2_factors * p[j];
      gq[j] = e * p[j] + t.l2_factors * q[j];
    }
    const float gbu = e + t.l2_bias * p[k];
    const float gbi = e + t.l2_bias * q[k];
    for (size_t j = 0; j < k; ++j) {
      p[j] -= t.user_learning_rate * gp[j];
      q[j] -= t.item_learning_rate * gq[j];
    }
    p[k] -= t.user_learning_rate * gbu;
    q[k] -= t.item_learning_rate * gbi;
  }
  return sse;
}

// A batch that revisits rows: `n` ratings over 40 users and 60 items, labels 1..5.
struct Batch {
  std::vector<uint32_t> user_of, item_of;
  std::vector<float> labels;
  std::vector<float> users, items;  // rows of k + 1 floats, in dense order
};

Batch RandomBatch(int factors, size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 0.3f);
  std::uniform_int_distribution<uint32_t> user(0, 39), item(0, 59), label(1, 5);
  Batch b;
  for (size_t i = 0; i < n; ++i) {
    b.user_of.push_back(user(rng));
    b.item_of.push_back(item(rng));
    b.labels.push_back(static_cast<float>(label(rng)));
  }
  const size_t dim = static_cast<size_t>(factors) + 1;
  b.users.resize(40 * dim);
  b.items.resize(60 * dim);
  for (float& v : b.users) v = normal(rng);
  for (float& v : b.items) v = normal(rng);
  return b;
}

std::vector<StepIsa> IsasThisCpuRuns() {
  std::vector<StepIsa> isas;
  for (StepIsa isa : {StepIsa::kPortable, StepIsa::kAvx2, StepIsa::kAvx512}) {
    if (CpuRuns(isa)) isas.push_back(isa);
  }
  return isas;
}

void ExpectRowsNear(const std::vector<float>& actual, const std::vector<float>& expected,
                    const char* what) {
  ASSERT_EQ(actual.size(), expected.size());
  float worst = 0;
  for (size_t j = 0; j < actual.size(); ++j) {
    worst = std::max(worst, std::fabs(actual[j] - expected[j]));
  }
  EXPECT_LE(worst, kRowTolerance) << what;
}

// Rows by slot at a stride, one float past an aligned start (pulled copies lie anywhere).
TEST(FusedSgdStepTest, StridedRowsMatchTheContractForEveryIsaAndDim) {
  for (const int factors : {16, 32, 64}) {
    for (const StepIsa isa : IsasThisCpuRuns()) {
      SCOPED_TRACE(std::string(StepIsaName(isa)) + ", k = " + std::to_string(factors));
      const Batch b = RandomBatch(factors, 3000, static_cast<uint32_t>(factors));
      const FusedSgdTerms t = Terms(factors);
      std::vector<float> expected_users = b.users, expected_items = b.items;
      const double expected_sse =
          ReferenceStep(t, b.user_of, b.item_of, b.labels, &expected_users, &expected_items);

      const size_t dim = static_cast<size_t>(factors) + 1;
      std::vector<float> users(b.users.size() + 1), items(b.items.size() + 1);
      std::copy(b.users.begin(), b.users.end(), users.begin() + 1);
      std::copy(b.items.begin(), b.items.end(), items.begin() + 1);
      RowLookup fields[2];
      fields[0] = {users.data() + 1, nullptr, dim, b.user_of.data(), 1, nullptr};
      fields[1] = {items.data() + 1, nullptr, dim, b.item_of.data(), 1, nullptr};
      const ExampleBatch batch{b.labels.size(), b.labels.data(), 1, fields, {}, {}};
      const double sse = FusedSgdStep(isa, t, batch);

      EXPECT_NEAR(sse, expected_sse, 1e-5 * expected_sse);
      ExpectRowsNear(std::vector<float>(users.begin() + 1, users.end()), expected_users, "users");
      ExpectRowsNear(std::vector<float>(items.begin() + 1, items.end()), expected_items, "items");
    }
  }
}

// LOCAL users: dense user indices and labels read from packed ratings, rows by address
// (here scattered: user d's row is at slot 39 - d); items by address too.
TEST(FusedSgdStepTest, AddressedRowsFromPackedRatingsMatchTheContract) {
  constexpr int kFactors = 32;
  constexpr size_t kDim = kFactors + 1;
  for (const StepIsa isa : IsasThisCpuRuns()) {
    SCOPED_TRACE(StepIsaName(isa));
    const Batch b = RandomBatch(kFactors, 2000, 11);
    const FusedSgdTerms t = Terms(kFactors);
    std::vector<float> expected_users = b.users, expected_items = b.items;
    const double expected_sse =
        ReferenceStep(t, b.user_of, b.item_of, b.labels, &expected_users, &expected_items);

    std::vector<data::PackedRating> packed;
    for (size_t i = 0; i < b.labels.size(); ++i) {
      packed.push_back({b.user_of[i], b.item_of[i], b.labels[i]});
    }
    std::vector<float> users(b.users.size());
    std::vector<float*> user_address(40), item_address(60);
    for (size_t d = 0; d < 40; ++d) {
      user_address[d] = users.data() + (39 - d) * kDim;
      std::copy_n(b.users.data() + d * kDim, kDim, user_address[d]);
    }
    std::vector<float> items = b.items;
    for (size_t d = 0; d < 60; ++d) item_address[d] = items.data() + d * kDim;
    constexpr size_t kStride = sizeof(data::PackedRating) / sizeof(uint32_t);
    RowLookup fields[2];
    fields[0] = {nullptr, user_address.data(), 0, &packed.data()->user, kStride, nullptr};
    fields[1] = {nullptr, item_address.data(), 0, &packed.data()->item, kStride, nullptr};
    const ExampleBatch batch{packed.size(), &packed.data()->rating, kStride, fields, {}, {}};
    const double sse = FusedSgdStep(isa, t, batch);

    EXPECT_NEAR(sse, expected_sse, 1e-5 * expected_sse);
    std::vector<float> users_dense(users.size());
    for (size_t d = 0; d < 40; ++d) {
      std::copy_n(user_address[d], kDim, users_dense.data() + d * kDim);
    }
    ExpectRowsNear(users_dense, expected_users, "users");
    ExpectRowsNear(items, expected_items, "items");
  }
}

TEST(FusedSgdStepTest, SupportsTheCompiledDimsOnly) {
  EXPECT_TRUE(FusedSgdSupports(16));
  EXPECT_TRUE(FusedSgdSupports(32));
  EXPECT_TRUE(FusedSgdSupports(64));
  EXPECT_FALSE(FusedSgdSupports(4));
  EXPECT_FALSE(FusedSgdSupports(33));
  EXPECT_FALSE(FusedSgdSupports(128));
}

TEST(FusedSgdStepTest, WidestIsaRespectsTheLimitAndTheCpu) {
  EXPECT_EQ(WidestStepIsa(StepIsa::kPortable), StepIsa::kPortable);
  EXPECT_LE(WidestStepIsa(StepIsa::kAvx2), StepIsa::kAvx2);
  EXPECT_TRUE(CpuRuns(WidestStepIsa()));
  EXPECT_TRUE(CpuRuns(StepIsa::kPortable));
}

BiasedMf MakeModel(int dim, config::ModelConfig::StepKernel kernel) {
  config::ModelConfig config;
  config.set_dim(dim);
  config.set_l2_factors(0.03f);
  config.set_l2_bias(0.007f);
  config.set_step_kernel(kernel);
  BiasedMf model(config);
  EXPECT_TRUE(model.RestoreScalars({{"global_mean", 3.6}}).ok());
  return model;
}

// BiasedMf::Step with SGD on both tables runs the fused kernel for the widest instruction
// set (the same floats, bit for bit); UNFUSED runs the Eigen step, equal up to rounding.
TEST(FusedSgdStepTest, BiasedMfStepFusesSgdUnlessConfiguredNot) {
  constexpr int kFactors = 32;
  constexpr size_t kDim = kFactors + 1;
  const BiasedMf fused = MakeModel(kFactors, config::ModelConfig::FUSED);
  const BiasedMf unfused = MakeModel(kFactors, config::ModelConfig::UNFUSED);
  ASSERT_EQ(fused.fused_step_isa(), WidestStepIsa());
  EXPECT_FALSE(unfused.fused_step_isa().has_value());
  EXPECT_EQ(MakeModel(kFactors, config::ModelConfig::FUSED_PORTABLE).fused_step_isa(),
            StepIsa::kPortable);
  EXPECT_FALSE(MakeModel(33, config::ModelConfig::FUSED).fused_step_isa().has_value());

  config::OptimizerConfig sgd;
  sgd.set_kind(config::OptimizerConfig::SGD);
  const auto optimizer = table::MakeOptimizer(sgd);
  const FusedSgdTerms t = Terms(kFactors);
  const RowStepper steppers[2] = {{optimizer.get(), t.user_learning_rate, 0},
                                  {optimizer.get(), t.item_learning_rate, 0}};
  const Batch b = RandomBatch(kFactors, 2000, 5);
  auto step = [&](const Model& model, std::vector<float>* users, std::vector<float>* items) {
    RowLookup fields[2];
    fields[0] = {users->data(), nullptr, kDim, b.user_of.data(), 1, nullptr};
    fields[1] = {items->data(), nullptr, kDim, b.item_of.data(), 1, nullptr};
    const ExampleBatch batch{b.labels.size(), b.labels.data(), 1, fields, steppers, {}};
    std::vector<float> scratch;
    return model.Step(batch, &scratch);
  };
  std::vector<float> fused_users = b.users, fused_items = b.items;
  const double fused_sse = step(fused, &fused_users, &fused_items);
  std::vector<float> kernel_users = b.users, kernel_items = b.items;
  RowLookup fields[2];
  fields[0] = {kernel_users.data(), nullptr, kDim, b.user_of.data(), 1, nullptr};
  fields[1] = {kernel_items.data(), nullptr, kDim, b.item_of.data(), 1, nullptr};
  const double kernel_sse = FusedSgdStep(
      WidestStepIsa(), t, ExampleBatch{b.labels.size(), b.labels.data(), 1, fields, {}, {}});
  EXPECT_EQ(fused_sse, kernel_sse);
  EXPECT_EQ(fused_users, kernel_users);
  EXPECT_EQ(fused_items, kernel_items);

  std::vector<float> unfused_users = b.users, unfused_items = b.items;
  const double unfused_sse = step(unfused, &unfused_users, &unfused_items);
  EXPECT_NEAR(unfused_sse, fused_sse, 1e-5 * fused_sse);
  ExpectRowsNear(unfused_users, fused_users, "users");
  ExpectRowsNear(unfused_items, fused_items, "items");
}

}  // namespace
}  // namespace psrec::models::mf
