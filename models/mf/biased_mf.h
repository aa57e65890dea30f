// BiasedMf: biased matrix factorization, r^ = mu + b_u + b_i + p_u . q_i, squared loss.
//
// Tables: "user" (keyed by user, may be LOCAL) and "item" (keyed by item), each row
// `factors` floats then the bias (payload factors + 1), factors ~ N(0, init_std^2), bias 0.
// Fields: the user's row, the item's row. Scalar: "global_mean" (mu), the mean training
// rating over every worker (0 with model.use_global_mean false).
// Cold start: a missing row is all zeros (no factors, no bias), so an unknown item scores
// mu + b_u, an unknown user mu + b_i, and both unknown mu.
//
// Gradients of 1/2 (r^ - r)^2 with L2 in the gradient, per rating:
//   e = r^ - r
//   g(p_u) = e q_i + l2_factors p_u       g(b_u) = e + l2_bias b_u
//   g(q_i) = e p_u + l2_factors q_i       g(b_i) = e + l2_bias b_i
// AccumulateGradients sums them per row over the batch (a row seen n times gets n terms);
// Step applies both of a rating's gradients, computed from the rows before either step,
// with each table's optimizer (SGD inlined), rating after rating. With SGD on both tables
// and dim 16, 32 or 64 it runs the fused kernel (models/mf/fused_sgd_step.h) for the widest
// instruction set the CPU runs, unless model.step_kernel asks otherwise.
//
// Thread safety: as Model.
#pragma once

#include <optional>
#include <span>
#include <vector>

#include "common/keys.h"
#include "common/proto/config.pb.h"
#include "models/mf/fused_sgd_step.h"
#include "models/model.h"

namespace psrec::models {

// BiasedMf's table ids (positions in tables()), for its tests and benchmarks.
inline constexpr TableId kUserTable = 0;
inline constexpr TableId kItemTable = 1;

class BiasedMf final : public Model {
 public:
  explicit BiasedMf(const config::ModelConfig& config);

  std::string_view name() const override { return "biased_mf"; }
  std::string_view description() const override { return "biased MF"; }
  std::span<const TableDecl> tables() const override { return tables_; }
  std::span<const FieldDecl> fields() const override { return fields_; }

  Status Fit(std::span<const float> train_labels, const ReduceSum& reduce_sum) override;
  ModelScalars scalars() const override { return {{"global_mean", global_mean_}}; }
  Status RestoreScalars(const ModelScalars& scalars) override;

  double AccumulateGradients(const ExampleBatch& batch) const override;
  double Step(const ExampleBatch& batch, std::vector<float>* scratch) const override;
  float Score(std::span<const float* const> rows) const override;
  // mean + b_u + b_i + P Q^T as one matrix product.
  // (p . q + (global_mean + user bias)) + item bias, as ScoreBlock.
  std::optional<DotForm> dot_form() const override {
    return DotForm{factors_, factors_, factors_, global_mean_};
  }
  void ScoreBlock(const float* user_rows, size_t user_stride, size_t n_users,
                  const float* item_rows, size_t item_stride, size_t n_items,
                  float* out) const override;
  void ColdStartRow(int table, float* row) const override;

  float global_mean() const { return global_mean_; }
  // The instruction set of the fused SGD step; nullopt: Step never fuses.
  std::optional<mf::StepIsa> fused_step_isa() const { return fused_isa_; }

 private:
  int factors_;
  float l2_factors_;
  float l2_bias_;
  bool use_global_mean_;
  float global_mean_ = 0;
  std::optional<mf::StepIsa> fused_isa_;
  std::vector<TableDecl> tables_;
  std::vector<FieldDecl> fields_;
};

}  // namespace psrec::models
