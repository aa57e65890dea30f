#include "train/privacy/update_clipping.h"

#include <cmath>

#include <glog/logging.h>

namespace psrec::train::privacy {

namespace {
template <typename Row>
double NormOf(std::span<const Row> rows) {
  double sum = 0.0;
  for (const auto& row : rows) {
    for (float v : row) sum += static_cast<double>(v) * v;
  }
  return std::sqrt(sum);
}
}  // namespace

double UpdateNorm(std::span<const std::span<const float>> rows) { return NormOf(rows); }
double UpdateNorm(std::span<const std::span<float>> rows) { return NormOf(rows); }

double ClipUpdate(std::span<const std::span<float>> rows, double clip_norm) {
  CHECK(clip_norm > 0.0 && std::isfinite(clip_norm)) << "clip norm " << clip_norm;
  double norm = UpdateNorm(rows);
  if (norm <= clip_norm) return 1.0;
  double scale = clip_norm / norm;
  for (const auto& row : rows) {
    for (float& v : row) v = static_cast<float>(v * scale);
  }
  return scale;
}

}  // namespace psrec::train::privacy
