#include "table/row_initializer.h"

#include <cmath>
#include <vector>

#include <gtest/gtest.h>

namespace psrec::table {
namespace {

// Two table ids, as a model with a user and an item table numbers them.
constexpr TableId kUserTable = 0;
constexpr TableId kItemTable = 1;

TableSpec Spec(TableId id, int dim, float init_std) {
  TableSpec spec;
  spec.id = id;
  spec.dim = dim;
  spec.init_std = init_std;
  spec.zero_tail = 1;
  return spec;
}

std::vector<float> Row(const TableSpec& spec, uint64_t seed, uint64_t key) {
  std::vector<float> row(spec.dim, -7.0f);
  InitializeRow(spec, seed, key, row.data());
  return row;
}

TEST(RowInitializerTest, SameInputsSameRow) {
  TableSpec spec = Spec(kItemTable, 9, 0.1f);
  EXPECT_EQ(Row(spec, 42, 1234), Row(spec, 42, 1234));
}

TEST(RowInitializerTest, DependsOnSeedTableAndKey) {
  TableSpec item = Spec(kItemTable, 9, 0.1f);
  TableSpec user = Spec(kUserTable, 9, 0.1f);
  EXPECT_NE(Row(item, 42, 1), Row(item, 42, 2));
  EXPECT_NE(Row(item, 42, 1), Row(item, 43, 1));
  EXPECT_NE(Row(item, 42, 1), Row(user, 42, 1));
}

TEST(RowInitializerTest, BiasIsZeroAndFactorsAreNot) {
  TableSpec spec = Spec(kItemTable, 5, 0.1f);
  spec.zero_tail = 2;
  std::vector<float> row = Row(spec, 1, 99);
  EXPECT_EQ(row[3], 0.0f);
  EXPECT_EQ(row[4], 0.0f);
  for (int i = 0; i < 3; ++i) EXPECT_NE(row[i], 0.0f) << i;
}

TEST(RowInitializerTest, ZeroStdGivesZeros) {
  TableSpec spec = Spec(kItemTable, 6, 0.0f);
  EXPECT_EQ(Row(spec, 1, 5), std::vector<float>(6, 0.0f));
}

TEST(RowInitializerTest, MomentsMatchInitStd) {
  // 2000 rows x 32 factors = 64000 draws: the sample std is within ~0.3% of sigma (1 s.e.).
  TableSpec spec = Spec(kUserTable, 33, 0.25f);
  double sum = 0, sum_sq = 0, sum_4 = 0;
  int n = 0, beyond_2sigma = 0;
  for (uint64_t key = 0; key < 2000; ++key) {
    std::vector<float> row = Row(spec, 7, key);
    EXPECT_EQ(row[32], 0.0f);
    for (int i = 0; i < 32; ++i) {
      double z = row[i];
      sum += z;
      sum_sq += z * z;
      sum_4 += z * z * z * z;
      beyond_2sigma += std::abs(z) > 2 * 0.25;
      ++n;
    }
  }
  double mean = sum / n;
  double var = sum_sq / n - mean * mean;
  EXPECT_NEAR(mean, 0.0, 0.005);
  EXPECT_NEAR(std::sqrt(var), 0.25, 0.0025);
  // Normal: kurtosis 3, P(|z| > 2 sigma) = 4.55%.
  EXPECT_NEAR(sum_4 / n / (var * var), 3.0, 0.1);
  EXPECT_NEAR(static_cast<double>(beyond_2sigma) / n, 0.0455, 0.004);
}

TEST(RowInitializerTest, OddFactorCount) {
  TableSpec spec = Spec(kItemTable, 4, 1.0f);  // 3 factors: the last pair is half used
  std::vector<float> row = Row(spec, 3, 11);
  EXPECT_NE(row[2], 0.0f);
  EXPECT_EQ(row[3], 0.0f);
}

}  // namespace
}  // namespace psrec::table
