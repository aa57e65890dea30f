#include "models/weighted_dot/weighted_dot.h"

#include <algorithm>
#include <string>

#include <Eigen/Core>
#include <glog/logging.h>

namespace psrec::models {
namespace {

using ConstVec = Eigen::Map<const Eigen::VectorXf>;
using Vec = Eigen::Map<Eigen::VectorXf>;

}  // namespace

WeightedDot::WeightedDot(const config::ModelConfig& config)
    : factors_(config.dim()),
      l2_factors_(config.l2_factors()),
      l2_bias_(config.l2_bias()),
      use_global_mean_(config.use_global_mean()) {
  const std::vector<RowSegment> layout = {{"factors", factors_, "f"}, {"bias", 1, "bias"}};
  const size_t k = static_cast<size_t>(factors_);
  std::vector<DenseParam> dense = {
      {"weight", 1, factors_, 0, DenseInit::kXavierUniform, 0},
      {"bias", 1, 1, k, DenseInit::kZeros, 0},
  };
  tables_ = {
      {"user", KeyedBy::kUser, factors_ + 1, layout, config.init_std(), /*zero_tail=*/1, {}},
      {"item", KeyedBy::kItem, factors_ + 1, layout, config.init_std(), /*zero_tail=*/1, {}},
      {"dense", KeyedBy::kDense, kBlockFloats, {{"block", kBlockFloats, "w"}}, 0, 0,
       std::move(dense)},
  };
  fields_ = {{"user", kUserTable}, {"item", kItemTable}};
}

Status WeightedDot::Fit(std::span<const float> train_labels, const ReduceSum& reduce_sum) {
  double sums[2] = {0, static_cast<double>(train_labels.size())};
  for (const float r : train_labels) sums[0] += r;
  RETURN_IF_ERROR(reduce_sum(std::span<double>(sums, 2)));
  if (sums[1] == 0) return Status::InvalidArgument("the training set is empty");
  global_mean_ = use_global_mean_ ? static_cast<float>(sums[0] / sums[1]) : 0.0f;
  return Status::OK();
}

Status WeightedDot::RestoreScalars(const ModelScalars& scalars) {
  auto it = scalars.find("global_mean");
  if (it == scalars.end() || scalars.size() != 1) {
    return Status::InvalidArgument("weighted_dot has one scalar, global_mean; got " +
                                   std::to_string(scalars.size()) + " without it");
  }
  global_mean_ = static_cast<float>(it->second);
  return Status::OK();
}

float WeightedDot::Predict(const float* pu, const float* qi, const float* dense) const {
  const int k = factors_;
  const float dot = (ConstVec(dense, k).array() * ConstVec(pu, k).array() *
                     ConstVec(qi, k).array()).sum();
  return global_mean_ + pu[k] + qi[k] + dot + dense[k];
}

double WeightedDot::AccumulateGradients(const ExampleBatch& batch) const {
  CHECK_EQ(batch.fields.size(), 2u);
  CHECK_EQ(batch.dense.size(), 1u);
  const RowLookup& user = batch.fields[0];
  const RowLookup& item = batch.fields[1];
  const DenseView& dense = batch.dense[0];
  const int k = factors_;
  const size_t dim = static_cast<size_t>(k) + 1;
  ConstVec w(dense.params, k);
  Vec gw(dense.grads, k);
  double sse = 0;
  for (size_t i = 0; i < batch.size; ++i) {
    const float* pu = user.row(i);
    const float* qi = item.row(i);
    const float e = Predict(pu, qi, dense.params) - batch.label(i);
    sse += static_cast<double>(e) * e;
    ConstVec p(pu, k), q(qi, k);
    float* gu = user.grads + static_cast<size_t>(user.index_of(i)) * dim;
    float* gi = item.grads + static_cast<size_t>(item.index_of(i)) * dim;
    Vec(gu, k).array() += e * w.array() * q.array() + l2_factors_ * p.array();
    Vec(gi, k).array() += e * w.array() * p.array() + l2_factors_ * q.array();
    gu[k] += e + l2_bias_ * pu[k];
    gi[k] += e + l2_bias_ * qi[k];
    gw.array() += e * p.array() * q.array();
    dense.grads[k] += e;
  }
  return sse;
}

double WeightedDot::Step(const ExampleBatch& batch, std::vector<float>* scratch) const {
  CHECK_EQ(batch.fields.size(), 2u);
  CHECK_EQ(batch.steppers.size(), 2u);
  CHECK_EQ(batch.dense.size(), 1u);
  const RowLookup& user = batch.fields[0];
  const RowLookup& item = batch.fields[1];
  const RowStepper& user_step = batch.steppers[0];
  const RowStepper& item_step = batch.steppers[1];
  const DenseView& dense = batch.dense[0];
  const int k = factors_;
  // The rows' two gradients, then the batch's dense gradient.
  scratch->assign(2 * static_cast<size_t>(k + 1) + dense.floats, 0.0f);
  float* user_grad = scratch->data();
  float* item_grad = user_grad + k + 1;
  float* dense_grad = item_grad + k + 1;
  ConstVec w(dense.params, k);
  double sse = 0;
  for (size_t i = 0; i < batch.size; ++i) {
    float* pu = user.row(i);
    float* qi = item.row(i);
    const float e = Predict(pu, qi, dense.params) - batch.label(i);
    sse += static_cast<double>(e) * e;
    ConstVec p(pu, k), q(qi, k);
    Vec(user_grad, k).array() = e * w.array() * q.array() + l2_factors_ * p.array();
    Vec(item_grad, k).array() = e * w.array() * p.array() + l2_factors_ * q.array();
    user_grad[k] = e + l2_bias_ * pu[k];
    item_grad[k] = e + l2_bias_ * qi[k];
    Vec(dense_grad, k).array() += e * p.array() * q.array();
    dense_grad[k] += e;
    user_step.optimizer->UpdateRow(pu, pu + k + 1, user_grad, k + 1, user_step.learning_rate);
    item_step.optimizer->UpdateRow(qi, qi + k + 1, item_grad, k + 1, item_step.learning_rate);
  }
  const RowStepper& step = dense.stepper;
  step.optimizer->UpdateRow(dense.params, dense.state, dense_grad, static_cast<int>(dense.floats),
                            step.learning_rate);
  return sse;
}

float WeightedDot::Score(std::span<const float* const> rows) const {
  CHECK(!scoring_dense_.empty()) << "weighted_dot: Score before SetScoringDense";
  return Predict(rows[0], rows[1], scoring_dense_.data());
}

void WeightedDot::ColdStartRow(int table, float* row) const {
  const int floats = tables_[static_cast<size_t>(table)].payload_floats;
  std::fill(row, row + floats, 0.0f);
}

void WeightedDot::SetScoringDense(std::vector<std::vector<float>> dense) {
  CHECK_EQ(dense.size(), 1u);
  CHECK_GE(dense[0].size(), tables_[kDenseTable].dense_floats());
  scoring_dense_ = std::move(dense[0]);
}

}  // namespace psrec::models
