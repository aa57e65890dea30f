// DotScoreBlock: Model::ScoreBlock for models whose score is a dot product of the user's
// and the item's first `factors` floats, plus optionally a per-item bias stored right after
// the item's factors (logistic MF with item_bias). One Eigen matrix product per block
// instead of one Score call per (user, item) pair: full-ranking evaluation and
// `psrec ckpt topk` score every catalogue item this way.
//
// Thread safety: a pure function of its arguments.
#pragma once

#include <cstddef>

#include <Eigen/Core>

namespace psrec::models {

// out[u * n_items + i] = user_u[0..factors) . item_i[0..factors) (+ item_i[factors] when
// item_bias). REQUIRES: user_stride, item_stride >= factors (+ 1 with item_bias).
inline void DotScoreBlock(int factors, bool item_bias, const float* user_rows,
                          size_t user_stride, size_t n_users, const float* item_rows,
                          size_t item_stride, size_t n_items, float* out) {
  using RowMajor = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  using Strided = Eigen::Map<const RowMajor, 0, Eigen::OuterStride<>>;
  const auto users = static_cast<Eigen::Index>(n_users);
  const auto items = static_cast<Eigen::Index>(n_items);
  const Strided u(user_rows, users, factors, Eigen::OuterStride<>(static_cast<Eigen::Index>(user_stride)));
  const Strided q(item_rows, items, factors, Eigen::OuterStride<>(static_cast<Eigen::Index>(item_stride)));
  Eigen::Map<RowMajor> scores(out, users, items);
  scores.noalias() = u * q.transpose();
  if (item_bias) {
    const Eigen::Map<const Eigen::RowVectorXf, 0, Eigen::InnerStride<>> bias(
        item_rows + factors, items, Eigen::InnerStride<>(static_cast<Eigen::Index>(item_stride)));
    scores.rowwise() += bias;
  }
}

}  // namespace psrec::models
