#include "models/ncf/ncf_network.h"

#include <cmath>
#include <string>
#include <utility>

#include <glog/logging.h>

namespace psrec::models {
namespace {

using Eigen::Index;
using RowMajorMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using ConstWeights = Eigen::Map<const RowMajorMatrix>;
using Weights = Eigen::Map<RowMajorMatrix>;
using ConstVector = Eigen::Map<const Eigen::VectorXf>;
using Vector = Eigen::Map<Eigen::VectorXf>;
using ConstRowVector = Eigen::Map<const Eigen::RowVectorXf>;
using StridedRows = Eigen::Map<const RowMajorMatrix, 0, Eigen::OuterStride<>>;

// Tower layer l (1-based) reads params 2(l-1) (weight) and 2(l-1)+1 (bias); out.weight and
// out.bias follow the tower.
size_t TowerLayers(const NcfShape& shape) {
  return shape.layers.empty() ? 0 : shape.layers.size() - 1;
}

}  // namespace

NcfNetwork::NcfNetwork(NcfShape shape) : shape_(std::move(shape)) {
  CHECK(shape_.kind == NcfKind::kMlp || shape_.gmf_dim > 0) << "GMF needs embeddings";
  CHECK(shape_.kind == NcfKind::kGmf || !shape_.layers.empty()) << "MLP needs a tower";
  size_t offset = 0;
  auto add = [&](std::string name, int rows, int cols, DenseInit init, float scale) {
    params_.push_back({std::move(name), rows, cols, offset, init, scale});
    offset += static_cast<size_t>(rows) * static_cast<size_t>(cols);
  };
  // As the paper's code: Glorot-uniform tower layers, zero biases; the output layer with
  // variance 1 / fan_in (LeCun), so that its initial logits are of the order of its inputs.
  for (size_t l = 1; l <= TowerLayers(shape_); ++l) {
    const std::string prefix = "mlp." + std::to_string(l - 1);
    add(prefix + ".weight", shape_.layers[l], shape_.layers[l - 1], DenseInit::kXavierUniform, 0);
    add(prefix + ".bias", shape_.layers[l], 1, DenseInit::kZeros, 0);
  }
  add("out.weight", 1, shape_.out_inputs(), DenseInit::kNormal,
      1.0f / std::sqrt(static_cast<float>(shape_.out_inputs())));
  add("out.bias", 1, 1, DenseInit::kZeros, 0);
  dense_floats_ = offset;
}

void NcfNetwork::Forward(const float* dense, const NcfMatrix& users, const NcfMatrix& items,
                         NcfActivations* acts) const {
  const int g = shape_.gmf_dim;
  const int e = shape_.mlp_dim();
  const Index n = users.cols();
  const size_t tower = TowerLayers(shape_);
  const DenseParam& out_w = params_[2 * tower];
  const float out_b = dense[params_[2 * tower + 1].offset];
  acts->logits.setConstant(n, out_b);
  if (g > 0) {
    acts->gmf.noalias() = users.topRows(g).cwiseProduct(items.topRows(g));
    acts->logits.noalias() += ConstRowVector(dense + out_w.offset, g) * acts->gmf;
  }
  if (e > 0) {
    acts->tower.resize(tower + 1);
    NcfMatrix& input = acts->tower[0];
    input.resize(2 * e, n);
    input.topRows(e) = users.middleRows(g, e);
    input.bottomRows(e) = items.middleRows(g, e);
    for (size_t l = 1; l <= tower; ++l) {
      const DenseParam& w = params_[2 * (l - 1)];
      const ConstVector b(dense + params_[2 * (l - 1) + 1].offset, w.rows);
      NcfMatrix& h = acts->tower[l];
      h.noalias() = ConstWeights(dense + w.offset, w.rows, w.cols) * acts->tower[l - 1];
      h = (h.colwise() + b).cwiseMax(0.0f);
    }
    acts->logits.noalias() +=
        ConstRowVector(dense + out_w.offset + g, shape_.layers.back()) * acts->tower.back();
  }
}

void NcfNetwork::Backward(const float* dense, const NcfMatrix& users, const NcfMatrix& items,
                          const NcfActivations& acts, const Eigen::RowVectorXf& grad_logits,
                          float* dense_grad, NcfMatrix* grad_users,
                          NcfMatrix* grad_items) const {
  const int g = shape_.gmf_dim;
  const int e = shape_.mlp_dim();
  const Index n = users.cols();
  const size_t tower = TowerLayers(shape_);
  const DenseParam& out_w = params_[2 * tower];
  dense_grad[params_[2 * tower + 1].offset] += grad_logits.sum();
  grad_users->resize(shape_.row_floats(), n);
  grad_items->resize(shape_.row_floats(), n);
  if (g > 0) {
    Vector(dense_grad + out_w.offset, g).noalias() += acts.gmf * grad_logits.transpose();
    // d loss / d (p * q) = w_gmf dz, one column per example.
    const NcfMatrix grad_product = ConstVector(dense + out_w.offset, g) * grad_logits;
    grad_users->topRows(g) = grad_product.cwiseProduct(items.topRows(g));
    grad_items->topRows(g) = grad_product.cwiseProduct(users.topRows(g));
  }
  if (e > 0) {
    const int last = shape_.layers.back();
    Vector(dense_grad + out_w.offset + g, last).noalias() +=
        acts.tower.back() * grad_logits.transpose();
    NcfMatrix grad_h = ConstVector(dense + out_w.offset + g, last) * grad_logits;
    for (size_t l = tower; l >= 1; --l) {
      const DenseParam& w = params_[2 * (l - 1)];
      // Through the ReLU: zero where the unit was off.
      grad_h = grad_h.cwiseProduct((acts.tower[l].array() > 0.0f).cast<float>().matrix());
      Weights(dense_grad + w.offset, w.rows, w.cols).noalias() +=
          grad_h * acts.tower[l - 1].transpose();
      Vector(dense_grad + params_[2 * (l - 1) + 1].offset, w.rows) += grad_h.rowwise().sum();
      NcfMatrix below = ConstWeights(dense + w.offset, w.rows, w.cols).transpose() * grad_h;
      grad_h.swap(below);
    }
    grad_users->middleRows(g, e) = grad_h.topRows(e);
    grad_items->middleRows(g, e) = grad_h.bottomRows(e);
  }
}

void NcfNetwork::ScoreBlock(const float* dense, const float* user_rows, size_t user_stride,
                            size_t n_users, const float* item_rows, size_t item_stride,
                            size_t n_items, float* out) const {
  const int g = shape_.gmf_dim;
  const int e = shape_.mlp_dim();
  const auto users = static_cast<Index>(n_users);
  const auto items = static_cast<Index>(n_items);
  const int floats = shape_.row_floats();
  const StridedRows u(user_rows, users, floats, Eigen::OuterStride<>(static_cast<Index>(user_stride)));
  const StridedRows q(item_rows, items, floats, Eigen::OuterStride<>(static_cast<Index>(item_stride)));
  const size_t tower = TowerLayers(shape_);
  const DenseParam& out_w = params_[2 * tower];
  Eigen::Map<RowMajorMatrix> scores(out, users, items);
  scores.setConstant(dense[params_[2 * tower + 1].offset]);
  if (g > 0) {
    // sum_f w_f p_uf q_if = (P diag(w)) Q^T.
    const RowMajorMatrix weighted =
        u.leftCols(g) * ConstVector(dense + out_w.offset, g).asDiagonal();
    scores.noalias() += weighted * q.leftCols(g).transpose();
  }
  if (e == 0) return;
  const ConstRowVector w_tower(dense + out_w.offset + g, shape_.layers.back());
  if (tower == 0) {  // no hidden layer: the output reads [m_u; m_i] directly
    const Eigen::VectorXf user_part = u.middleCols(g, e) * w_tower.head(e).transpose();
    const Eigen::RowVectorXf item_part = w_tower.tail(e) * q.middleCols(g, e).transpose();
    scores.colwise() += user_part;
    scores.rowwise() += item_part;
    return;
  }
  // The first layer is W [m_u; m_i] + b = W_user m_u + (W_item m_i + b): each part once.
  const DenseParam& w1 = params_[0];
  const ConstWeights first(dense + w1.offset, w1.rows, w1.cols);
  const NcfMatrix user_part = first.leftCols(e) * u.middleCols(g, e).transpose();
  NcfMatrix item_part = first.rightCols(e) * q.middleCols(g, e).transpose();
  item_part.colwise() += ConstVector(dense + params_[1].offset, w1.rows);
  NcfMatrix h, next;
  for (Index user = 0; user < users; ++user) {
    h = (item_part.colwise() + user_part.col(user)).cwiseMax(0.0f);
    for (size_t l = 2; l <= tower; ++l) {
      const DenseParam& w = params_[2 * (l - 1)];
      next.noalias() = ConstWeights(dense + w.offset, w.rows, w.cols) * h;
      h = (next.colwise() + ConstVector(dense + params_[2 * (l - 1) + 1].offset, w.rows))
              .cwiseMax(0.0f);
    }
    scores.row(user).noalias() += w_tower * h;
  }
}

void NcfNetwork::AddWeightDecay(const float* dense, float l2, size_t n, float* dense_grad) const {
  if (l2 == 0) return;
  const float scale = l2 * static_cast<float>(n);
  for (size_t p = 0; p < params_.size(); p += 2) {  // weights at even positions, biases odd
    const DenseParam& w = params_[p];
    const Index size = static_cast<Index>(w.rows) * w.cols;
    Vector(dense_grad + w.offset, size) += scale * ConstVector(dense + w.offset, size);
  }
}

}  // namespace psrec::models
