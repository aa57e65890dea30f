// Small numerics shared by the implicit-feedback models (models/bpr/, models/logistic/):
// stable log-sigmoid terms and one optimizer step on a row.
//
// Thread safety: pure functions.
#pragma once

#include <cmath>

#include <Eigen/Core>

#include "models/model.h"

namespace psrec::models {

// log(1 + e^x), without overflow for large |x|.
inline float Softplus(float x) {
  return x > 0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x));
}
inline float Sigmoid(float x) {
  return x >= 0 ? 1.0f / (1.0f + std::exp(-x)) : std::exp(x) / (1.0f + std::exp(x));
}

// Softplus(x) and Sigmoid(x) from one exp (the per-example kernels call both): the same
// floats as the two functions above, since both take exp(-|x|) on each branch.
struct LogSigmoidTerms {
  float softplus, sigmoid;
};
inline LogSigmoidTerms SoftplusAndSigmoid(float x) {
  const float e = std::exp(x > 0 ? -x : x);
  return {x > 0 ? x + std::log1p(e) : std::log1p(e),
          x >= 0 ? 1.0f / (1.0f + e) : e / (1.0f + e)};
}

// Reads a batch's rows a few examples ahead (shuffled batches: every row is a cache miss).
inline void PrefetchRow(const float* row, int floats) {
  const char* bytes = reinterpret_cast<const char*>(row);
  for (size_t offset = 0; offset < static_cast<size_t>(floats) * sizeof(float); offset += 64) {
    __builtin_prefetch(bytes + offset, 1);
  }
}

// One step of `row` (payload `dim` floats, optimizer state after it) by `grad`: SGD inline,
// any other optimizer through the table's.
inline void StepImplicitRow(const RowStepper& step, bool sgd, float* row, const float* grad,
                            int dim) {
  if (sgd) {
    Eigen::Map<Eigen::VectorXf>(row, dim) -=
        step.learning_rate * Eigen::Map<const Eigen::VectorXf>(grad, dim);
  } else {
    step.optimizer->UpdateRow(row, row + dim, grad, dim, step.learning_rate);
  }
}

inline bool IsSgd(const RowStepper& step) {
  return step.optimizer->kind() == config::OptimizerConfig::SGD;
}

}  // namespace psrec::models
