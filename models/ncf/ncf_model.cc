#include "models/ncf/ncf_model.h"

#include <algorithm>
#include <utility>

#include <glog/logging.h>

#include "common/config.h"
#include "models/implicit_terms.h"

namespace psrec::models {
namespace {

using ConstVec = Eigen::Map<const Eigen::VectorXf>;
using Vec = Eigen::Map<Eigen::VectorXf>;

NcfShape ShapeOf(const config::ModelConfig& config) {
  NcfShape shape;
  switch (config.type()) {
    case config::ModelConfig::GMF: shape.kind = NcfKind::kGmf; break;
    case config::ModelConfig::MLP: shape.kind = NcfKind::kMlp; break;
    case config::ModelConfig::NEUMF: shape.kind = NcfKind::kNeuMf; break;
    default: LOG(FATAL) << "NcfModel for model type " << config.type();
  }
  if (shape.kind != NcfKind::kMlp) shape.gmf_dim = config.dim();
  if (shape.kind != NcfKind::kGmf) {
    Result<std::vector<int>> layers = ParseMlpLayers(config.mlp_layers());
    CHECK(layers.ok()) << "model.mlp_layers: " << layers.status().message();
    shape.layers = std::move(*layers);
  }
  return shape;
}

// Column j of `out` = the first `floats` floats of field row begin + j.
void Gather(const RowLookup& field, size_t begin, size_t end, int floats, NcfMatrix* out) {
  out->resize(floats, static_cast<Eigen::Index>(end - begin));
  for (size_t i = begin; i < end; ++i) {
    if (i + 4 < end) PrefetchRow(field.row(i + 4), floats);
    out->col(static_cast<Eigen::Index>(i - begin)) = ConstVec(field.row(i), floats);
  }
}

// Steps each distinct row of examples [begin, end) of `field` once, with the sum of its
// examples' gradient columns.
void StepRows(const RowLookup& field, const RowStepper& stepper, size_t begin, size_t end,
              const NcfMatrix& grads, std::vector<std::pair<uint32_t, uint32_t>>* order,
              Eigen::VectorXf* sum) {
  const bool sgd = IsSgd(stepper);
  const int floats = static_cast<int>(grads.rows());
  order->clear();
  for (size_t i = begin; i < end; ++i) {
    order->emplace_back(field.index_of(i), static_cast<uint32_t>(i - begin));
  }
  std::sort(order->begin(), order->end());
  for (size_t a = 0; a < order->size();) {
    size_t b = a + 1;
    *sum = grads.col((*order)[a].second);
    for (; b < order->size() && (*order)[b].first == (*order)[a].first; ++b) {
      *sum += grads.col((*order)[b].second);
    }
    StepImplicitRow(stepper, sgd, field.row(begin + (*order)[a].second), sum->data(), floats);
    a = b;
  }
}

}  // namespace

NcfModel::NcfModel(const config::ModelConfig& config)
    : network_(ShapeOf(config)),
      l2_factors_(config.l2_factors()),
      l2_dense_(config.l2_dense()),
      minibatch_(static_cast<size_t>(std::max(1, config.ncf_minibatch()))) {
  const NcfShape& shape = network_.shape();
  switch (shape.kind) {
    case NcfKind::kGmf: name_ = "gmf"; description_ = "NCF GMF"; break;
    case NcfKind::kMlp: name_ = "mlp"; description_ = "NCF MLP"; break;
    case NcfKind::kNeuMf: name_ = "neumf"; description_ = "NCF NeuMF"; break;
  }
  std::vector<RowSegment> layout;
  if (shape.gmf_dim > 0) layout.push_back({"gmf", shape.gmf_dim, "gmf"});
  if (shape.mlp_dim() > 0) layout.push_back({"mlp", shape.mlp_dim(), "mlp"});
  tables_ = {
      {"user", KeyedBy::kUser, shape.row_floats(), layout, config.init_std(), 0, /*dense=*/{}},
      {"item", KeyedBy::kItem, shape.row_floats(), layout, config.init_std(), 0, /*dense=*/{}},
      {"dense", KeyedBy::kDense, kDenseBlockFloats, {{"weights", kDenseBlockFloats, "w"}}, 0, 0,
       network_.params()},
  };
  fields_ = {{"user", 0}, {"item", 1}};
}

Status NcfModel::RestoreScalars(const ModelScalars& scalars) {
  if (!scalars.empty()) {
    return Status::InvalidArgument(name_ + " has no scalars, got " +
                                   std::to_string(scalars.size()));
  }
  return Status::OK();
}

double NcfModel::ForwardBackward(const ExampleBatch& batch, const float* dense, size_t begin,
                                 size_t end, float* dense_grad, NcfMatrix* grad_users,
                                 NcfMatrix* grad_items) const {
  const int floats = network_.shape().row_floats();
  NcfMatrix users, items;
  Gather(batch.fields[0], begin, end, floats, &users);
  Gather(batch.fields[1], begin, end, floats, &items);
  NcfActivations acts;
  network_.Forward(dense, users, items, &acts);
  Eigen::RowVectorXf grad_logits(acts.logits.size());
  double loss = 0;
  for (size_t i = begin; i < end; ++i) {
    const auto j = static_cast<Eigen::Index>(i - begin);
    const float z = acts.logits[j];
    const float y = batch.label(i);
    const LogSigmoidTerms t = SoftplusAndSigmoid(z);
    loss += t.softplus - y * z;
    grad_logits[j] = t.sigmoid - y;
  }
  network_.Backward(dense, users, items, acts, grad_logits, dense_grad, grad_users, grad_items);
  if (l2_factors_ != 0) {
    *grad_users += l2_factors_ * users;
    *grad_items += l2_factors_ * items;
  }
  network_.AddWeightDecay(dense, l2_dense_, end - begin, dense_grad);
  return loss;
}

double NcfModel::AccumulateGradients(const ExampleBatch& batch) const {
  CHECK_EQ(batch.fields.size(), 2u);
  CHECK_EQ(batch.dense.size(), 1u);
  const DenseView& dense = batch.dense[0];
  CHECK_GE(dense.floats, network_.dense_floats());
  const int floats = network_.shape().row_floats();
  const RowLookup& user = batch.fields[0];
  const RowLookup& item = batch.fields[1];
  NcfMatrix grad_users, grad_items;
  double loss = 0;
  for (size_t begin = 0; begin < batch.size; begin += minibatch_) {
    const size_t end = std::min(batch.size, begin + minibatch_);
    loss += ForwardBackward(batch, dense.params, begin, end, dense.grads, &grad_users,
                            &grad_items);
    for (size_t i = begin; i < end; ++i) {
      const auto j = static_cast<Eigen::Index>(i - begin);
      Vec(user.grads + static_cast<size_t>(user.index_of(i)) * floats, floats) +=
          grad_users.col(j);
      Vec(item.grads + static_cast<size_t>(item.index_of(i)) * floats, floats) +=
          grad_items.col(j);
    }
  }
  return loss;
}

double NcfModel::Step(const ExampleBatch& batch, std::vector<float>* scratch) const {
  CHECK_EQ(batch.fields.size(), 2u);
  CHECK_EQ(batch.steppers.size(), 2u);
  CHECK_EQ(batch.dense.size(), 1u);
  const DenseView& dense = batch.dense[0];
  CHECK_GE(dense.floats, network_.dense_floats());
  const RowStepper& dense_stepper = dense.stepper;
  const bool dense_sgd = IsSgd(dense_stepper);
  scratch->resize(dense.floats);
  float* dense_grad = scratch->data();
  NcfMatrix grad_users, grad_items;
  std::vector<std::pair<uint32_t, uint32_t>> order;
  Eigen::VectorXf sum;
  double loss = 0;
  for (size_t begin = 0; begin < batch.size; begin += minibatch_) {
    const size_t end = std::min(batch.size, begin + minibatch_);
    std::fill(scratch->begin(), scratch->end(), 0.0f);
    loss += ForwardBackward(batch, dense.params, begin, end, dense_grad, &grad_users,
                            &grad_items);
    StepRows(batch.fields[0], batch.steppers[0], begin, end, grad_users, &order, &sum);
    StepRows(batch.fields[1], batch.steppers[1], begin, end, grad_items, &order, &sum);
    // The whole dense vector is one row to its optimizer (DenseView: state at state).
    if (dense_sgd) {
      Vec(dense.params, static_cast<Eigen::Index>(dense.floats)) -=
          dense_stepper.learning_rate * ConstVec(dense_grad, static_cast<Eigen::Index>(dense.floats));
    } else {
      dense_stepper.optimizer->UpdateRow(dense.params, dense.state, dense_grad,
                                         static_cast<int>(dense.floats),
                                         dense_stepper.learning_rate);
    }
  }
  return loss;
}

float NcfModel::Score(std::span<const float* const> rows) const {
  CHECK_GE(scoring_dense_.size(), network_.dense_floats()) << "SetScoringDense first";
  const int floats = network_.shape().row_floats();
  const NcfMatrix users = ConstVec(rows[0], floats);
  const NcfMatrix items = ConstVec(rows[1], floats);
  NcfActivations acts;
  network_.Forward(scoring_dense_.data(), users, items, &acts);
  return acts.logits[0];
}

void NcfModel::ScoreBlock(const float* user_rows, size_t user_stride, size_t n_users,
                          const float* item_rows, size_t item_stride, size_t n_items,
                          float* out) const {
  CHECK_GE(scoring_dense_.size(), network_.dense_floats()) << "SetScoringDense first";
  network_.ScoreBlock(scoring_dense_.data(), user_rows, user_stride, n_users, item_rows,
                      item_stride, n_items, out);
}

void NcfModel::ColdStartRow(int table, float* row) const {
  std::fill(row, row + tables_[static_cast<size_t>(table)].payload_floats, 0.0f);
}

void NcfModel::SetScoringDense(std::vector<std::vector<float>> dense) {
  CHECK_EQ(dense.size(), 1u) << "one dense table";
  CHECK_GE(dense[0].size(), network_.dense_floats());
  scoring_dense_ = std::move(dense[0]);
}

}  // namespace psrec::models
