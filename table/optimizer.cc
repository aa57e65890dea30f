#include "table/optimizer.h"

#include <algorithm>

#include <Eigen/Core>
#include <glog/logging.h>

#include "table/adam_optimizer.h"
#include "table/ftrl_optimizer.h"

namespace psrec::table {

namespace {
using ArrayMap = Eigen::Map<Eigen::ArrayXf>;
using ConstArrayMap = Eigen::Map<const Eigen::ArrayXf>;
}  // namespace

void SgdUpdateRow(float* w, const float* g, int dim, float lr) {
  ArrayMap(w, dim) -= lr * ConstArrayMap(g, dim);
}

void AdaGradUpdateRow(float* w, float* a, const float* g, int dim, float lr, float epsilon) {
  ConstArrayMap grad(g, dim);
  ArrayMap acc(a, dim);
  acc += grad.square();
  ArrayMap(w, dim) -= lr * grad / (acc.sqrt() + epsilon);
}

void AdaGradOptimizer::InitState(const float*, float* state, int dim) const {
  std::fill(state, state + dim, initial_accumulator_);
}

std::unique_ptr<Optimizer> MakeOptimizer(const config::OptimizerConfig& config) {
  switch (config.kind()) {
    case config::OptimizerConfig::SGD:
      return std::make_unique<SgdOptimizer>();
    case config::OptimizerConfig::ADAGRAD:
      return std::make_unique<AdaGradOptimizer>(config.initial_accumulator(), config.epsilon());
    case config::OptimizerConfig::ADAM:
      return std::make_unique<AdamOptimizer>(config.beta1(), config.beta2(), config.epsilon());
    case config::OptimizerConfig::FTRL:
      return std::make_unique<FtrlOptimizer>(config.learning_rate(), config.ftrl_beta(),
                                             config.ftrl_l1(), config.ftrl_l2());
  }
  // The enum comes from a parsed, validated config: anything else is a programming error.
  LOG(FATAL) << "unknown optimizer kind " << static_cast<int>(config.kind());
  return nullptr;
}

int OptimizerStateFloats(const config::OptimizerConfig& config, int dim) {
  return MakeOptimizer(config)->state_floats(dim);
}

}  // namespace psrec::table
