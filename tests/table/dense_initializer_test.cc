// The initial values of a dense table's blocks (table/row_initializer.h): each float a pure
// function of (seed, table, position in the flat vector), drawn from its run's distribution.
#include <algorithm>
#include <cmath>
#include <vector>

#include <gtest/gtest.h>

#include "table/row_initializer.h"

namespace psrec::table {
namespace {

using Distribution = DenseInitRun::Distribution;

// A 3x50 uniform weight, a 50-float normal vector, a 3-float zero bias: 203 floats.
TableSpec DenseSpec(int block) {
  TableSpec spec;
  spec.id = 2;
  spec.name = "dense";
  spec.dim = block;
  spec.dense = {{0, 150, Distribution::kUniform, 0.25f},
                {150, 50, Distribution::kNormal, 0.5f},
                {200, 3, Distribution::kZero, 0}};
  spec.dense_floats = 203;
  return spec;
}

// The flat vector as the blocks 0..blocks()-1 hold it, padding included.
std::vector<float> Blocks(const TableSpec& spec, uint64_t seed) {
  std::vector<float> flat(spec.blocks() * static_cast<size_t>(spec.dim), -7.0f);
  for (uint64_t b = 0; b < spec.blocks(); ++b) {
    InitializeRow(spec, seed, b, flat.data() + b * static_cast<size_t>(spec.dim));
  }
  return flat;
}

TEST(DenseInitializerTest, BlockCountCoversTheVector) {
  EXPECT_EQ(DenseSpec(1024).blocks(), 1u);
  EXPECT_EQ(DenseSpec(64).blocks(), 4u);
  EXPECT_EQ(DenseSpec(203).blocks(), 1u);
  EXPECT_EQ(DenseSpec(7).blocks(), 29u);
}

TEST(DenseInitializerTest, ValuesDoNotDependOnTheBlockSize) {
  const std::vector<float> one_block = Blocks(DenseSpec(1024), 42);
  for (int block : {1, 7, 64, 203}) {
    std::vector<float> flat = Blocks(DenseSpec(block), 42);
    ASSERT_GE(flat.size(), 203u);
    EXPECT_TRUE(std::equal(flat.begin(), flat.begin() + 203, one_block.begin())) << block;
    // Padding past the vector is zero.
    for (size_t p = 203; p < flat.size(); ++p) EXPECT_EQ(flat[p], 0.0f) << block << " " << p;
  }
}

TEST(DenseInitializerTest, DependsOnSeedAndTable) {
  TableSpec other = DenseSpec(64);
  other.id = 3;
  EXPECT_NE(Blocks(DenseSpec(64), 42), Blocks(DenseSpec(64), 43));
  EXPECT_NE(Blocks(DenseSpec(64), 42), Blocks(other, 42));
  EXPECT_EQ(Blocks(DenseSpec(64), 42), Blocks(DenseSpec(64), 42));
}

TEST(DenseInitializerTest, RunsFollowTheirDistributions) {
  const std::vector<float> flat = Blocks(DenseSpec(1024), 5);
  // Uniform(-0.25, 0.25): in range, mean ~0, variance a^2/3 (150 draws: loose bounds).
  double sum = 0, sum_sq = 0;
  for (int p = 0; p < 150; ++p) {
    EXPECT_LE(std::abs(flat[p]), 0.25f) << p;
    sum += flat[p];
    sum_sq += flat[p] * flat[p];
  }
  EXPECT_NEAR(sum / 150, 0.0, 0.04);
  EXPECT_NEAR(std::sqrt(sum_sq / 150), 0.25 / std::sqrt(3.0), 0.03);
  // Normal(0, 0.5^2): some values beyond the uniform's range, std near 0.5.
  double normal_sq = 0;
  for (int p = 150; p < 200; ++p) normal_sq += flat[p] * flat[p];
  EXPECT_NEAR(std::sqrt(normal_sq / 50), 0.5, 0.15);
  EXPECT_TRUE(std::any_of(flat.begin() + 150, flat.begin() + 200,
                          [](float v) { return std::abs(v) > 0.25f; }));
  // Zeros: the bias.
  for (int p = 200; p < 203; ++p) EXPECT_EQ(flat[p], 0.0f);
}

TEST(DenseInitializerTest, UncoveredFloatsAreZero) {
  TableSpec spec = DenseSpec(16);
  spec.dense = {{4, 4, Distribution::kUniform, 1.0f}};
  spec.dense_floats = 12;
  std::vector<float> flat = Blocks(spec, 9);
  for (int p : {0, 1, 2, 3, 8, 9, 10, 11}) EXPECT_EQ(flat[p], 0.0f) << p;
  for (int p = 4; p < 8; ++p) EXPECT_NE(flat[p], 0.0f) << p;
}

}  // namespace
}  // namespace psrec::table
