// WeightedDot: r^ = mu + b_u + b_i + w . (p_u * q_i) + b, squared loss: biased matrix
// factorization whose factor products are weighted by a learned vector w and shifted by a
// learned bias b, both in a dense table. The smallest model with dense weights: it exercises everything psrec
// does for them (server blocks, whole-vector pulls, pushed dense gradients, worker-side
// dense steps, scoring, checkpoints) with maths that fit on a page; the NCF models use the
// same paths with an MLP.
//
// Tables: "user" (keyed by user, may be LOCAL) and "item" (keyed by item), `dim` factors
// ~ N(0, init_std^2) then the bias (0); "dense" (kDense) with parameters "weight" (1 x dim, Xavier
// uniform) and "bias" (1 x 1, zeros), in blocks of kBlockFloats floats: small on purpose,
// so that even a few weights spread over several blocks and servers.
// Fields: the user's row, the item's row. Scalar: "global_mean" (mu), as biased MF.
// Cold start: a missing user or item row is zeros (no factors, no bias).
//
// Gradients of 1/2 (r^ - r)^2 per rating, e = r^ - r:
//   g(p_u) = e w * q_i + l2_factors p_u     g(b_u) = e + l2_bias b_u     g(w) = e p_u * q_i
//   g(q_i) = e w * p_u + l2_factors q_i     g(b_i) = e + l2_bias b_i     g(b) = e
// AccumulateGradients sums them over the batch (dense ones into DenseView::grads). Step
// steps the user and item rows rating after rating (as biased MF) with w fixed during the
// batch, summing the dense gradient; then steps the dense vector once, with the dense
// table's optimizer, by that sum: one dense step per batch in both update modes.
//
// Thread safety: as Model; SetScoringDense must not run concurrently with Score.
#pragma once

#include <span>
#include <vector>

#include "common/proto/config.pb.h"
#include "models/model.h"

namespace psrec::models {

class WeightedDot final : public Model {
 public:
  static constexpr int kUserTable = 0;
  static constexpr int kItemTable = 1;
  static constexpr int kDenseTable = 2;
  static constexpr int kBlockFloats = 4;

  explicit WeightedDot(const config::ModelConfig& config);

  std::string_view name() const override { return "weighted_dot"; }
  std::string_view description() const override { return "weighted dot product"; }
  std::span<const TableDecl> tables() const override { return tables_; }
  std::span<const FieldDecl> fields() const override { return fields_; }

  Status Fit(std::span<const float> train_labels, const ReduceSum& reduce_sum) override;
  ModelScalars scalars() const override { return {{"global_mean", global_mean_}}; }
  Status RestoreScalars(const ModelScalars& scalars) override;

  double AccumulateGradients(const ExampleBatch& batch) const override;
  double Step(const ExampleBatch& batch, std::vector<float>* scratch) const override;
  // REQUIRES: SetScoringDense was called.
  float Score(std::span<const float* const> rows) const override;
  void ColdStartRow(int table, float* row) const override;
  void SetScoringDense(std::vector<std::vector<float>> dense) override;

 private:
  // The score from the rows and a dense vector (weight then bias).
  float Predict(const float* pu, const float* qi, const float* dense) const;

  int factors_;
  float l2_factors_;
  float l2_bias_;
  bool use_global_mean_;
  float global_mean_ = 0;
  std::vector<TableDecl> tables_;
  std::vector<FieldDecl> fields_;
  std::vector<float> scoring_dense_;
};

}  // namespace psrec::models
