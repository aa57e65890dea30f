// NcfNetwork: the maths of the NCF models (He et al., "Neural Collaborative Filtering",
// WWW 2017) over a mini-batch of gathered embeddings, forward and backward, as Eigen
// matrix-matrix products: one column per example, never a per-example loop.
//
//   GMF    a = p_u * q_i                       (element-wise, `gmf_dim` floats each)
//   MLP    h_0 = [m_u; m_i], h_l = relu(W_l h_{l-1} + b_l) for the tower's layers,
//          a = h_L                             (mlp_layers "64,32,16,8": m_u, m_i 32 floats,
//                                               W_1 32x64, W_2 16x32, W_3 8x16)
//   NeuMF  a = [p_u * q_i; h_L]                (separate GMF and MLP embeddings)
//   z = w_out . a + b_out (the logit), loss softplus(z) - y z (log loss, y in {0, 1}).
//
// An embedding row is [gmf | mlp] (NeuMF both segments, GMF or MLP one). The dense weights
// are one flat vector of DenseParams (row-major, weight rows = outputs as in PyTorch's
// Linear): mlp.<l>.weight, mlp.<l>.bias for each tower layer, then out.weight, out.bias.
//
// Thread safety: immutable after construction; const methods may run on several threads,
// each with its own Activations.
#pragma once

#include <span>
#include <vector>

#include <Eigen/Core>

#include "models/model.h"

namespace psrec::models {

enum class NcfKind { kGmf, kMlp, kNeuMf };

struct NcfShape {
  NcfKind kind = NcfKind::kGmf;
  int gmf_dim = 0;          // GMF embedding floats (0 for MLP)
  std::vector<int> layers;  // MLP tower widths, layers[0] = 2 * MLP embedding floats (empty for GMF)

  int mlp_dim() const { return layers.empty() ? 0 : layers[0] / 2; }
  int row_floats() const { return gmf_dim + mlp_dim(); }
  int out_inputs() const { return gmf_dim + (layers.empty() ? 0 : layers.back()); }
};

using NcfMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic>;  // column-major

// A mini-batch's intermediate values, kept from Forward for Backward.
struct NcfActivations {
  NcfMatrix gmf;                 // p * q, gmf_dim x n
  std::vector<NcfMatrix> tower;  // tower[0] = [m_u; m_i], tower[l] = h_l
  Eigen::RowVectorXf logits;     // z, 1 x n
};

class NcfNetwork {
 public:
  explicit NcfNetwork(NcfShape shape);

  const NcfShape& shape() const { return shape_; }
  // The dense parameters (names, shapes, offsets, initializers) in the flat vector's order.
  const std::vector<DenseParam>& params() const { return params_; }
  size_t dense_floats() const { return dense_floats_; }

  // Logits of the n examples whose user and item rows are the columns of `users` and
  // `items` (row_floats x n each), intermediate values into `acts`.
  void Forward(const float* dense, const NcfMatrix& users, const NcfMatrix& items,
               NcfActivations* acts) const;

  // Given d loss / d z (1 x n) for the batch Forward saw: adds the dense weights' gradient
  // to dense_grad (dense_floats floats) and writes the rows' gradients into grad_users and
  // grad_items (row_floats x n). No regularization: callers add their L2 terms.
  void Backward(const float* dense, const NcfMatrix& users, const NcfMatrix& items,
                const NcfActivations& acts, const Eigen::RowVectorXf& grad_logits,
                float* dense_grad, NcfMatrix* grad_users, NcfMatrix* grad_items) const;

  // Logits of n_users x n_items pairs, out[u * n_items + i] (Model::ScoreBlock). The
  // tower's first layer splits into a user part and an item part, each computed once.
  void ScoreBlock(const float* dense, const float* user_rows, size_t user_stride,
                  size_t n_users, const float* item_rows, size_t item_stride, size_t n_items,
                  float* out) const;

  // Adds n * l2 * W to the gradient of every weight matrix (not the biases) for a batch
  // of n examples.
  void AddWeightDecay(const float* dense, float l2, size_t n, float* dense_grad) const;

 private:
  NcfShape shape_;
  std::vector<DenseParam> params_;  // mlp.0.weight, mlp.0.bias, ..., out.weight, out.bias
  size_t dense_floats_ = 0;
};

}  // namespace psrec::models
