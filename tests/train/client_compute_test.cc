// Simulated client compute time and FedBuff's staleness weight (train/client_compute.h).
#include "train/client_compute.h"

#include <gtest/gtest.h>

#include <cmath>

namespace psrec::train {
namespace {

TEST(ClientComputeTest, UnsetComputeTakesOneUnitPerExampleStep) {
  const config::ClientCompute nominal;
  EXPECT_EQ(ClientSlowdown(7, 123, nominal), 1.0);
  EXPECT_EQ(ClientComputeTime(7, 123, 40, 5, nominal), 200.0);
}

TEST(ClientComputeTest, SlowdownIsADevicePropertyWithTheConfiguredSpread) {
  config::ClientCompute compute;
  compute.set_speed_spread(0.5);
  compute.set_straggler_fraction(0.1);
  compute.set_straggler_slowdown(100);
  const int clients = 20000;
  int stragglers = 0;
  double log_sum = 0, log_square_sum = 0;
  for (uint64_t c = 0; c < clients; ++c) {
    const double slowdown = ClientSlowdown(7, c, compute);
    EXPECT_EQ(slowdown, ClientSlowdown(7, c, compute));  // the same in every round
    double log_speed = std::log(slowdown);
    // Stragglers are 100x slower: log 100 = 4.6 above the log-normal part (|x| < 3 here).
    if (log_speed > std::log(100.0) - 2.5) {
      ++stragglers;
      log_speed -= std::log(100.0);
    }
    log_sum += log_speed;
    log_square_sum += log_speed * log_speed;
  }
  EXPECT_NEAR(stragglers, 0.1 * clients, 0.01 * clients);
  const double mean = log_sum / clients;
  EXPECT_NEAR(mean, 0, 0.02);
  EXPECT_NEAR(std::sqrt(log_square_sum / clients - mean * mean), 0.5, 0.02);
  // Another seed draws other devices.
  EXPECT_NE(ClientSlowdown(7, 3, compute), ClientSlowdown(8, 3, compute));
}

TEST(ClientComputeTest, StalenessWeightIsPolynomial) {
  EXPECT_EQ(StalenessWeight(0, 0.5), 1.0);
  EXPECT_DOUBLE_EQ(StalenessWeight(3, 0.5), 0.5);
  EXPECT_DOUBLE_EQ(StalenessWeight(7, 1.0), 0.125);
  EXPECT_EQ(StalenessWeight(1000, 0.0), 1.0);
}

}  // namespace
}  // namespace psrec::train
