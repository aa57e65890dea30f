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
}  // namespace

void InitializeRow(const TableSpec& spec, uint64_t seed, uint64_t key, float* out) {
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
