#include "models/logistic/logistic_mf.h"

#include <algorithm>

#include <glog/logging.h>

#include "models/dot_score_block.h"
#include "models/implicit_terms.h"

namespace psrec::models {
namespace {

using ConstVec = Eigen::Map<const Eigen::VectorXf>;
using Vec = Eigen::Map<Eigen::VectorXf>;
constexpr size_t kPrefetchAhead = 4;

}  // namespace

LogisticMf::LogisticMf(const config::ModelConfig& config)
    : factors_(config.dim()),
      item_bias_(config.item_bias()),
      l2_factors_(config.l2_factors()),
      l2_bias_(config.l2_bias()) {
  std::vector<RowSegment> item_layout = {{"factors", factors_, "f"}};
  if (item_bias_) item_layout.push_back({"bias", 1, "bias"});
  tables_ = {
      {"user", KeyedBy::kUser, factors_, {{"factors", factors_, "f"}}, config.init_std(), 0,
       /*dense=*/{}},
      {"item", KeyedBy::kItem, factors_ + (item_bias_ ? 1 : 0), item_layout, config.init_std(),
       item_bias_ ? 1 : 0, /*dense=*/{}},
  };
  fields_ = {{"user", 0}, {"item", 1}};
}

Status LogisticMf::RestoreScalars(const ModelScalars& scalars) {
  if (!scalars.empty()) {
    return Status::InvalidArgument("logistic_mf has no scalars, got " +
                                   std::to_string(scalars.size()));
  }
  return Status::OK();
}

double LogisticMf::AccumulateGradients(const ExampleBatch& batch) const {
  CHECK_EQ(batch.fields.size(), 2u);
  const RowLookup& user = batch.fields[0];
  const RowLookup& item = batch.fields[1];
  const int k = factors_;
  const int item_floats = k + (item_bias_ ? 1 : 0);
  double loss = 0;
  for (size_t i = 0; i < batch.size; ++i) {
    if (i + kPrefetchAhead < batch.size) {
      PrefetchRow(user.row(i + kPrefetchAhead), k);
      PrefetchRow(item.row(i + kPrefetchAhead), item_floats);
    }
    const float* pu = user.row(i);
    const float* qi = item.row(i);
    ConstVec p(pu, k), q(qi, k);
    const float y = batch.label(i);
    const float z = p.dot(q) + (item_bias_ ? qi[k] : 0.0f);
    loss += Softplus(z) - y * z;
    const float g = Sigmoid(z) - y;
    float* gi = item.grads + static_cast<size_t>(item.index_of(i)) * item_floats;
    Vec(user.grads + static_cast<size_t>(user.index_of(i)) * k, k).noalias() +=
        g * q + l2_factors_ * p;
    Vec(gi, k).noalias() += g * p + l2_factors_ * q;
    if (item_bias_) gi[k] += g + l2_bias_ * qi[k];
  }
  return loss;
}

double LogisticMf::Step(const ExampleBatch& batch, std::vector<float>* scratch) const {
  CHECK_EQ(batch.fields.size(), 2u);
  CHECK_EQ(batch.steppers.size(), 2u);
  const RowLookup& user = batch.fields[0];
  const RowLookup& item = batch.fields[1];
  const int k = factors_;
  const int item_floats = k + (item_bias_ ? 1 : 0);
  const bool user_sgd = IsSgd(batch.steppers[0]);
  const bool item_sgd = IsSgd(batch.steppers[1]);
  scratch->resize(static_cast<size_t>(k + item_floats));
  float* gu = scratch->data();
  float* gi = gu + k;
  double loss = 0;
  for (size_t i = 0; i < batch.size; ++i) {
    if (i + kPrefetchAhead < batch.size) {
      PrefetchRow(user.row(i + kPrefetchAhead), k);
      PrefetchRow(item.row(i + kPrefetchAhead), item_floats);
    }
    float* pu = user.row(i);
    float* qi = item.row(i);
    ConstVec p(pu, k), q(qi, k);
    const float y = batch.label(i);
    const float z = p.dot(q) + (item_bias_ ? qi[k] : 0.0f);
    loss += Softplus(z) - y * z;
    const float g = Sigmoid(z) - y;
    // Both gradients from the rows before either step, as AccumulateGradients.
    Vec(gu, k).noalias() = g * q + l2_factors_ * p;
    Vec(gi, k).noalias() = g * p + l2_factors_ * q;
    if (item_bias_) gi[k] = g + l2_bias_ * qi[k];
    StepImplicitRow(batch.steppers[0], user_sgd, pu, gu, k);
    StepImplicitRow(batch.steppers[1], item_sgd, qi, gi, item_floats);
  }
  return loss;
}

float LogisticMf::Score(std::span<const float* const> rows) const {
  const float* qi = rows[1];
  return ConstVec(rows[0], factors_).dot(ConstVec(qi, factors_)) +
         (item_bias_ ? qi[factors_] : 0.0f);
}

void LogisticMf::ScoreBlock(const float* user_rows, size_t user_stride, size_t n_users,
                            const float* item_rows, size_t item_stride, size_t n_items,
                            float* out) const {
  DotScoreBlock(factors_, item_bias_, user_rows, user_stride, n_users, item_rows, item_stride,
                n_items, out);
}

void LogisticMf::ColdStartRow(int table, float* row) const {
  std::fill(row, row + tables_[static_cast<size_t>(table)].payload_floats, 0.0f);
}

}  // namespace psrec::models
