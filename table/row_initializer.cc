#include "table/row_initializer.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include <Eigen/Core>

#include <glog/logging.h>

#include "common/keys.h"

namespace psrec::table {

namespace {
constexpr uint64_t kGoldenGamma = 0x9e3779b97f4a7c15ULL;
constexpr float kTwoPow24Inv = 1.0f / 16777216.0f;  // 2^-24
constexpr int kPairsPerBlock = 64;
// Bounded size: lives on the stack, no heap allocation per row.
using BlockArray = Eigen::Array<float, Eigen::Dynamic, 1, 0, kPairsPerBlock, 1>;
// Keeps a dense table's float streams apart from the streams of rows keyed by id.
constexpr uint64_t kDenseSalt = 0x64656e7365ULL;  // "dense"

float DenseValue(const DenseInitRun& run, uint64_t base) {
  const uint64_t a = Mix64(base + kGoldenGamma);
  switch (run.distribution) {
    case DenseInitRun::Distribution::kZero:
      return 0.0f;
    case DenseInitRun::Distribution::kUniform:
      return (2.0f * static_cast<float>(a >> 40) * kTwoPow24Inv - 1.0f) * run.scale;
    case DenseInitRun::Distribution::kNormal: {
      const uint64_t b = Mix64(base + 2 * kGoldenGamma);
      const double u1 = static_cast<double>((a >> 11) + 1) * 0x1.0p-53;  // (0, 1]
      const double u2 = static_cast<double>(b >> 11) * 0x1.0p-53;        // [0, 1)
      const double z = std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
      return static_cast<float>(z * run.scale);
    }
  }
  return 0.0f;
}

// The block `key` of a dense table: each float by its position in the flat vector.
void InitializeDenseBlock(const TableSpec& spec, uint64_t seed, uint64_t key, float* out) {
  const size_t dim = static_cast<size_t>(spec.dim);
  const size_t first = static_cast<size_t>(key) * dim;
  std::fill(out, out + dim, 0.0f);
  for (const DenseInitRun& run : spec.dense) {
    const size_t begin = std::max(first, run.offset);
    const size_t end = std::min({first + dim, run.offset + run.floats, spec.dense_floats});
    for (size_t p = begin; p < end; ++p) {
      const uint64_t base = seed ^ Mix64(p ^ TableSeed(spec.id) ^ kDenseSalt);
      out[p - first] = DenseValue(run, base);
    }
  }
}

}  // namespace

void InitializeRow(const TableSpec& spec, uint64_t seed, uint64_t key, float* out) {
  if (spec.is_dense()) {
    InitializeDenseBlock(spec, seed, key, out);
    return;
  }
  DCHECK(spec.zero_tail >= 0 && spec.zero_tail <= spec.dim);
  const int random = spec.dim - spec.zero_tail;
  std::fill(out + random, out + spec.dim, 0.0f);
  if (spec.init_std == 0.0f) {
    std::fill(out, out + random, 0.0f);
    return;
  }
  const uint64_t base = seed ^ Mix64(key ^ TableSeed(spec.id));
  // Box-Muller in float with Eigen's vectorized log/sqrt/sin/cos: creating a row is on the
  // first-pull path of every key, and scalar double libm calls cost ~1 us per 32 floats.
  // 24-bit uniforms bound |z| by sqrt(2 ln 2^24) = 5.8 sigma, harmless for an initializer.
  alignas(64) float u1[kPairsPerBlock], u2[kPairsPerBlock], z0[kPairsPerBlock],
      z1[kPairsPerBlock];
  const int pairs = (random + 1) / 2;
  for (int first = 0; first < pairs; first += kPairsPerBlock) {
    const int n = std::min(kPairsPerBlock, pairs - first);
    for (int j = 0; j < n; ++j) {
      const auto i = static_cast<uint64_t>(2 * (first + j));
      const uint64_t a = Mix64(base + (i + 1) * kGoldenGamma);
      const uint64_t b = Mix64(base + (i + 2) * kGoldenGamma);
      u1[j] = static_cast<float>((a >> 40) + 1) * kTwoPow24Inv;  // (0, 1]: log stays finite
      u2[j] = static_cast<float>(b >> 40) * kTwoPow24Inv;        // [0, 1)
    }
    Eigen::Map<Eigen::ArrayXf> uniform1(u1, n), uniform2(u2, n), normal0(z0, n), normal1(z1, n);
    const BlockArray radius = (-2.0f * uniform1.log()).sqrt() * spec.init_std;
    const BlockArray angle = uniform2 * (2.0f * std::numbers::pi_v<float>);
    normal0 = radius * angle.cos();
    normal1 = radius * angle.sin();
    for (int j = 0; j < n; ++j) {
      const int i = 2 * (first + j);
      out[i] = z0[j];
      if (i + 1 < random) out[i + 1] = z1[j];
    }
  }
}

}  // namespace psrec::table
