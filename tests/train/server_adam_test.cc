// FedAdam's server step (train/server_adam.h) against hand-computed values, and the split of
// rows among workers.
#include "train/server_adam.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace psrec::train {
namespace {

TEST(ServerAdamTest, StepsMatchTheClosedForm) {
  ServerAdamOptions options;
  options.beta1 = 0.9;
  options.beta2 = 0.99;
  options.epsilon = 1e-3;
  ServerAdam adam(options, /*rows=*/2, /*dim=*/2, /*rank=*/0, /*workers=*/1);
  std::vector<uint32_t> rows;
  std::vector<float> steps;
  // Round 1: row 0 gets (0.2, -0.4), row 1 nothing (it does not move).
  adam.Step(std::vector<double>{0.2, -0.4, 0, 0}, 0.5, &rows, &steps);
  ASSERT_EQ(rows, std::vector<uint32_t>{0});
  // m = 0.1 d, v = 0.01 d^2: step = 0.5 * 0.1 d / (0.1 |d| + 1e-3).
  EXPECT_FLOAT_EQ(steps[0], static_cast<float>(0.5 * 0.02 / (0.02 + 1e-3)));
  EXPECT_FLOAT_EQ(steps[1], static_cast<float>(0.5 * -0.04 / (0.04 + 1e-3)));
  // Round 2: no aggregate; row 0 keeps moving on its momentum.
  rows.clear();
  steps.clear();
  adam.Step(std::vector<double>{0, 0, 0, 0}, 0.5, &rows, &steps);
  ASSERT_EQ(rows, std::vector<uint32_t>{0});
  const double m = 0.9 * 0.02, v = 0.99 * 0.01 * 0.04;
  EXPECT_FLOAT_EQ(steps[0], static_cast<float>(0.5 * m / (std::sqrt(v) + 1e-3)));
}

TEST(ServerAdamTest, WorkersStepDisjointRowsThatCoverTheTable) {
  const std::vector<double> aggregate = {1, 2, 3, 4, 5};  // 5 rows of dim 1
  std::vector<int> owner(5, -1);
  for (int rank = 0; rank < 2; ++rank) {
    ServerAdam adam(ServerAdamOptions(), 5, 1, rank, 2);
    std::vector<uint32_t> rows;
    std::vector<float> steps;
    adam.Step(aggregate, 1.0, &rows, &steps);
    for (uint32_t g : rows) {
      EXPECT_EQ(owner[g], -1) << "row " << g << " stepped twice";
      owner[g] = rank;
    }
  }
  for (int g = 0; g < 5; ++g) EXPECT_EQ(owner[g], g % 2) << "row " << g;
}

}  // namespace
}  // namespace psrec::train
