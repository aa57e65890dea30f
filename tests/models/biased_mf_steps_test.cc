#include "tests/models/mf_test_adapters.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

namespace psrec::models {
namespace {

constexpr int kFactors = 4;
constexpr int kDim = kFactors + 1;

std::vector<float> RandomRows(size_t rows, int state_floats, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0, 0.3f);
  std::vector<float> out(rows * (kDim + state_floats));
  for (size_t r = 0; r < rows; ++r) {
    float* row = &out[r * (kDim + state_floats)];
    for (int j = 0; j < kDim; ++j) row[j] = normal(rng);
    for (int j = 0; j < state_floats; ++j) row[kDim + j] = 0.1f + 0.01f * j;  // accumulators
  }
  return out;
}

// Payload-only copy of rows with state (what the gradient kernel reads).
std::vector<float> Payloads(const std::vector<float>& rows, int state_floats) {
  std::vector<float> out;
  for (size_t r = 0; r < rows.size() / (kDim + state_floats); ++r) {
    const float* row = &rows[r * (kDim + state_floats)];
    out.insert(out.end(), row, row + kDim);
  }
  return out;
}

// When every user and item occurs once in a batch, a step per rating is exactly the
// gradient mode's summed gradient applied once by the row's optimizer.
void ExpectStepsMatchGradientsOnDistinctRows(const config::OptimizerConfig& user_config,
                                             const config::OptimizerConfig& item_config) {
  MfParams params{kFactors, 3.5f, 0.05f, 0.01f};
  auto user_opt = table::MakeOptimizer(user_config);
  auto item_opt = table::MakeOptimizer(item_config);
  const int us = user_opt->state_floats(kDim), is = item_opt->state_floats(kDim);
  std::vector<float> users = RandomRows(3, us, 1), items = RandomRows(3, is, 2);
  const std::vector<uint32_t> user_slot = {2, 0, 1}, item_slot = {1, 2, 0};
  const std::vector<float> rating = {4, 2, 5};

  // Gradient mode: sum, then one optimizer step per row.
  std::vector<float> pu = Payloads(users, us), qi = Payloads(items, is);
  std::vector<float> gu(pu.size(), 0), gi(qi.size(), 0);
  const double sse_gradients = AccumulateMfGradients(params, user_slot, item_slot, rating,
                                                     pu.data(), qi.data(), gu.data(), gi.data());
  std::vector<float> expected_users = users, expected_items = items;
  for (int r = 0; r < 3; ++r) {
    float* u = &expected_users[r * (kDim + us)];
    float* i = &expected_items[r * (kDim + is)];
    user_opt->UpdateRow(u, u + kDim, &gu[r * kDim], kDim, 0.02f);
    item_opt->UpdateRow(i, i + kDim, &gi[r * kDim], kDim, 0.03f);
  }

  std::vector<float> scratch;
  const RowStep user_step{user_opt.get(), 0.02f, us}, item_step{item_opt.get(), 0.03f, is};
  const double sse_steps = StepMfRatings(params, user_step, item_step, users.data(), user_slot,
                                         item_slot, rating, items.data(), &scratch);
  EXPECT_NEAR(sse_steps, sse_gradients, 1e-5);
  for (size_t j = 0; j < users.size(); ++j) EXPECT_NEAR(users[j], expected_users[j], 1e-6) << j;
  for (size_t j = 0; j < items.size(); ++j) EXPECT_NEAR(items[j], expected_items[j], 1e-6) << j;
}

config::OptimizerConfig Sgd() {
  config::OptimizerConfig c;
  c.set_kind(config::OptimizerConfig::SGD);
  return c;
}

config::OptimizerConfig AdaGrad() {
  config::OptimizerConfig c;
  c.set_kind(config::OptimizerConfig::ADAGRAD);
  c.set_initial_accumulator(0.1f);
  return c;
}

TEST(MfStepsTest, SgdStepsOnDistinctRowsEqualOneGradientStep) {
  ExpectStepsMatchGradientsOnDistinctRows(Sgd(), Sgd());
}

TEST(MfStepsTest, AdaGradStepsUpdateStateLikeTheServerOptimizer) {
  ExpectStepsMatchGradientsOnDistinctRows(AdaGrad(), AdaGrad());
  ExpectStepsMatchGradientsOnDistinctRows(Sgd(), AdaGrad());
}

TEST(MfStepsTest, ARepeatedRowSeesItsEarlierStep) {
  // Two equal ratings of one (user, item): the second step starts from the first step's
  // rows, so its error is smaller; a summed gradient would use the same error twice.
  MfParams params{kFactors, 3.0f, 0.0f, 0.0f};
  auto sgd = table::MakeOptimizer(Sgd());
  std::vector<float> users = RandomRows(1, 0, 3), items = RandomRows(1, 0, 4);
  const std::vector<uint32_t> slots = {0, 0};
  const std::vector<float> rating = {5, 5};
  std::vector<float> scratch;
  const RowStep step{sgd.get(), 0.1f, 0};
  std::vector<float> once_users = users, once_items = items;
  const double first = StepMfRatings(params, step, step, once_users.data(),
                                     std::span(slots).first(1), std::span(slots).first(1),
                                     std::span(rating).first(1), once_items.data(), &scratch);
  const double both = StepMfRatings(params, step, step, users.data(), slots, slots, rating,
                                    items.data(), &scratch);
  const double second = both - first;
  EXPECT_GT(first, 0);
  EXPECT_LT(second, first);
}

TEST(MfStepsTest, RowsByAddressAreSteppedInPlace) {
  MfParams params{kFactors, 3.0f, 0.02f, 0.01f};
  auto sgd = table::MakeOptimizer(Sgd());
  std::vector<float> contiguous = RandomRows(2, 0, 5), items = RandomRows(2, 0, 6);
  std::vector<float> by_address = contiguous, items_copy = items;
  std::vector<float*> rows = {&by_address[kDim], &by_address[0]};  // dense 0 -> row 1
  // Dense users 1, 0, 1 (rows 0, 1, 0).
  const std::vector<data::PackedRating> packed = {{1, 0, 1}, {0, 1, 4}, {1, 1, 3}};
  const std::vector<uint32_t> slot = {0, 1, 0}, item_slot = {0, 1, 1};
  const std::vector<float> rating = {1, 4, 3};
  std::vector<float> scratch;
  const RowStep step{sgd.get(), 0.05f, 0};
  const double a = StepMfRatings(params, step, step, rows, packed, item_slot, items.data(),
                                 &scratch);
  const double b = StepMfRatings(params, step, step, contiguous.data(), slot, item_slot, rating,
                                 items_copy.data(), &scratch);
  EXPECT_DOUBLE_EQ(a, b);
  EXPECT_EQ(by_address, contiguous);
  EXPECT_EQ(items, items_copy);
}

TEST(MfStepsTest, PackedRatingsStepLikeSlotsAndValues) {
  MfParams params{kFactors, 3.0f, 0.02f, 0.01f};
  auto sgd = table::MakeOptimizer(Sgd());
  auto adagrad = table::MakeOptimizer(AdaGrad());
  const RowStep users{sgd.get(), 0.05f, 0}, items{adagrad.get(), 0.1f, kDim};
  const std::vector<float> users0 = RandomRows(3, 0, 7), items0 = RandomRows(2, kDim, 8);
  const std::vector<data::PackedRating> packed = {{2, 0, 4}, {2, 1, 1}, {0, 1, 5}, {1, 0, 3}};
  const std::vector<uint32_t> dense = {2, 2, 0, 1}, item_slot = {0, 1, 1, 0};
  const std::vector<float> rating = {4, 1, 5, 3};
  std::vector<float> scratch;

  std::vector<float> u_slots = users0, i_slots = items0;
  const double a = StepMfRatings(params, users, items, u_slots.data(), dense, item_slot, rating,
                                 i_slots.data(), &scratch);
  std::vector<float> u_packed = users0, i_packed = items0;
  const double b = StepMfRatings(params, users, items, u_packed.data(), packed, item_slot,
                                 i_packed.data(), &scratch);
  std::vector<float> u_address = users0, i_address = items0;
  std::vector<float*> rows = {&u_address[0], &u_address[kDim], &u_address[2 * kDim]};
  const double c = StepMfRatings(params, users, items, rows, packed, item_slot,
                                 i_address.data(), &scratch);
  EXPECT_DOUBLE_EQ(a, b);
  EXPECT_DOUBLE_EQ(a, c);
  EXPECT_EQ(u_slots, u_packed);
  EXPECT_EQ(u_slots, u_address);
  EXPECT_EQ(i_slots, i_packed);
  EXPECT_EQ(i_slots, i_address);
  EXPECT_NE(u_slots, users0);
}

}  // namespace
}  // namespace psrec::models
