#include "ps/row_initializer.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include <glog/logging.h>

#include "common/keys.h"

namespace psrec::ps {

namespace {
constexpr uint64_t kGoldenGamma = 0x9e3779b97f4a7c15ULL;
constexpr double kTwoPow53Inv = 1.0 / 9007199254740992.0;  // 2^-53
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
  const double scale = spec.init_std;
  for (int i = 0; i < random; i += 2) {
    const uint64_t a = Mix64(base + static_cast<uint64_t>(i + 1) * kGoldenGamma);
    const uint64_t b = Mix64(base + static_cast<uint64_t>(i + 2) * kGoldenGamma);
    // u1 in (0, 1] keeps log finite; u2 in [0, 1).
    const double u1 = static_cast<double>((a >> 11) + 1) * kTwoPow53Inv;
    const double u2 = static_cast<double>(b >> 11) * kTwoPow53Inv;
    const double radius = std::sqrt(-2.0 * std::log(u1));
    const double angle = 2.0 * std::numbers::pi * u2;
    out[i] = static_cast<float>(scale * radius * std::cos(angle));
    if (i + 1 < random) out[i + 1] = static_cast<float>(scale * radius * std::sin(angle));
  }
}

}  // namespace psrec::ps
