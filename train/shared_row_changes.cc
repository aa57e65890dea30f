#include "train/shared_row_changes.h"

#include <cmath>

#include <glog/logging.h>

namespace psrec::train {

SharedRowScaler::SharedRowScaler(config::TrainingConfig::SharedRowChanges rule, int workers)
    : rule_(rule), active_(workers > 1 && rule != config::TrainingConfig::SUM),
      workers_(workers) {}

float SharedRowScaler::ScaleFor(config::TrainingConfig::SharedRowChanges rule,
                                uint32_t examples, int workers, float step) {
  const double m = examples;
  const double writers = 1.0 + static_cast<double>(workers - 1) * -std::expm1(-m);
  switch (rule) {
    case config::TrainingConfig::SUM:
      return 1.0f;
    case config::TrainingConfig::AVERAGE_BY_EXPECTED_WRITERS:
      return static_cast<float>(1.0 / writers);
    case config::TrainingConfig::SEQUENTIAL_EQUIVALENT: {
      const double x = static_cast<double>(step) * m;  // -log of one batch's contraction
      if (!(x > 1e-9)) return 1.0f;                    // no step, or none measurable
      // (1 - c^n) / (n (1 - c)) with c = e^-x, through expm1 for small x.
      return static_cast<float>(std::expm1(-x * writers) / (writers * std::expm1(-x)));
    }
    case config::TrainingConfig::NO_OVERSHOOT: {
      const double x = static_cast<double>(step) * m;
      const double together = writers * -std::expm1(-x);  // n (1 - c)
      return together > 1.0 ? static_cast<float>(1.0 / together) : 1.0f;
    }
  }
  LOG(FATAL) << "unknown shared_row_changes rule " << static_cast<int>(rule);
  return 1.0f;
}

void SharedRowScaler::Scale(std::initializer_list<std::span<const uint32_t>> slots, size_t rows,
                            size_t stride, size_t scaled_floats, std::span<const float> step,
                            std::span<float> values) {
  DCHECK(active_);
  DCHECK_EQ(values.size(), rows * stride);
  DCHECK_LE(scaled_floats, stride);
  DCHECK(step.size() == 1 || step.size() == rows);
  examples_.assign(rows, 0);
  for (const std::span<const uint32_t> field : slots) {
    for (const uint32_t slot : field) ++examples_[slot];
  }
  for (size_t r = 0; r < rows; ++r) {
    const float scale =
        ScaleFor(rule_, examples_[r], workers_, step.size() == 1 ? step[0] : step[r]);
    float* row = values.data() + r * stride;
    for (size_t f = 0; f < scaled_floats; ++f) row[f] *= scale;
  }
}

}  // namespace psrec::train
