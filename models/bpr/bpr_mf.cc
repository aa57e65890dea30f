#include "models/bpr/bpr_mf.h"

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

BprMf::BprMf(const config::ModelConfig& config)
    : factors_(config.dim()), l2_(config.l2_factors()) {
  const std::vector<RowSegment> layout = {{"factors", factors_, "f"}};
  tables_ = {
      {"user", KeyedBy::kUser, factors_, layout, config.init_std(), /*zero_tail=*/0},
      {"item", KeyedBy::kItem, factors_, layout, config.init_std(), /*zero_tail=*/0},
  };
  fields_ = {{"user", 0}, {"pos", 1}, {"neg", 1}};
}

Status BprMf::RestoreScalars(const ModelScalars& scalars) {
  if (!scalars.empty()) {
    return Status::InvalidArgument("bpr_mf has no scalars, got " +
                                   std::to_string(scalars.size()));
  }
  return Status::OK();
}

double BprMf::AccumulateGradients(const ExampleBatch& batch) const {
  CHECK_EQ(batch.fields.size(), 3u);
  const RowLookup& user = batch.fields[0];
  const RowLookup& pos = batch.fields[1];
  const RowLookup& neg = batch.fields[2];
  const int k = factors_;
  double loss = 0;
  for (size_t i = 0; i < batch.size; ++i) {
    if (i + kPrefetchAhead < batch.size) {
      PrefetchRow(user.row(i + kPrefetchAhead), k);
      PrefetchRow(pos.row(i + kPrefetchAhead), k);
      PrefetchRow(neg.row(i + kPrefetchAhead), k);
    }
    ConstVec p(user.row(i), k), qi(pos.row(i), k), qj(neg.row(i), k);
    const float d = p.dot(qi) - p.dot(qj);
    loss += Softplus(-d);
    const float g = -Sigmoid(-d);
    Vec(user.grads + static_cast<size_t>(user.index_of(i)) * k, k).noalias() +=
        g * (qi - qj) + l2_ * p;
    Vec(pos.grads + static_cast<size_t>(pos.index_of(i)) * k, k).noalias() += g * p + l2_ * qi;
    Vec(neg.grads + static_cast<size_t>(neg.index_of(i)) * k, k).noalias() += -g * p + l2_ * qj;
  }
  return loss;
}

double BprMf::Step(const ExampleBatch& batch, std::vector<float>* scratch) const {
  CHECK_EQ(batch.fields.size(), 3u);
  CHECK_EQ(batch.steppers.size(), 3u);
  const RowLookup& user = batch.fields[0];
  const RowLookup& pos = batch.fields[1];
  const RowLookup& neg = batch.fields[2];
  const int k = factors_;
  const bool sgd[3] = {IsSgd(batch.steppers[0]), IsSgd(batch.steppers[1]),
                       IsSgd(batch.steppers[2])};
  scratch->resize(3 * static_cast<size_t>(k));
  float* gu = scratch->data();
  float* gi = gu + k;
  float* gj = gi + k;
  double loss = 0;
  for (size_t i = 0; i < batch.size; ++i) {
    if (i + kPrefetchAhead < batch.size) {
      PrefetchRow(user.row(i + kPrefetchAhead), k);
      PrefetchRow(pos.row(i + kPrefetchAhead), k);
      PrefetchRow(neg.row(i + kPrefetchAhead), k);
    }
    float* pu = user.row(i);
    float* qi_row = pos.row(i);
    float* qj_row = neg.row(i);
    ConstVec p(pu, k), qi(qi_row, k), qj(qj_row, k);
    const float d = p.dot(qi) - p.dot(qj);
    loss += Softplus(-d);
    const float g = -Sigmoid(-d);
    // All three gradients from the rows before any step, as AccumulateGradients.
    Vec(gu, k).noalias() = g * (qi - qj) + l2_ * p;
    Vec(gi, k).noalias() = g * p + l2_ * qi;
    Vec(gj, k).noalias() = -g * p + l2_ * qj;
    StepImplicitRow(batch.steppers[0], sgd[0], pu, gu, k);
    StepImplicitRow(batch.steppers[1], sgd[1], qi_row, gi, k);
    StepImplicitRow(batch.steppers[2], sgd[2], qj_row, gj, k);
  }
  return loss;
}

float BprMf::Score(std::span<const float* const> rows) const {
  return ConstVec(rows[0], factors_).dot(ConstVec(rows[1], factors_));
}

void BprMf::ScoreBlock(const float* user_rows, size_t user_stride, size_t n_users,
                       const float* item_rows, size_t item_stride, size_t n_items,
                       float* out) const {
  DotScoreBlock(factors_, /*item_bias=*/false, user_rows, user_stride, n_users, item_rows,
                item_stride, n_items, out);
}

void BprMf::ColdStartRow(int table, float* row) const {
  std::fill(row, row + tables_[static_cast<size_t>(table)].payload_floats, 0.0f);
}

}  // namespace psrec::models
