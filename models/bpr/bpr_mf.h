// BprMf: Bayesian personalized ranking over matrix factorization (Rendle et al. 2009) for
// implicit feedback: x_ui = p_u . q_i (+ b_i with model.item_bias), and per (user u,
// positive i, sampled negative j)
//   loss = -log sigmoid(x_ui - x_uj) = softplus(-(x_ui - x_uj))
// with L2 in the gradient, per triple (d = x_ui - x_uj, g = -sigmoid(-d)):
//   g(p_u) = g (q_i - q_j) + l2_factors p_u
//   g(q_i) = g p_u + l2_factors q_i        g(q_j) = -g p_u + l2_factors q_j
//   g(b_i) = g + l2_bias b_i               g(b_j) = -g + l2_bias b_j
// The bias carries what all users share (popularity), which factors learn only through a
// common direction of the user rows.
// Tables: "user" (keyed by user, may be LOCAL), `dim` factors, and "item", `dim` factors
// (+ the bias, starting at 0), factors ~ N(0, init_std^2). Fields: user, pos, neg (pos
// and neg read the item table). Examples:
// kPairwise (train/implicit_batches.h). No scalars. Cold start: a zero row (score 0).
// The loss each call returns is the summed softplus term, without the L2 terms.
//
// Thread safety: as Model.
#pragma once

#include <span>
#include <vector>

#include "common/proto/config.pb.h"
#include "models/model.h"

namespace psrec::models {

class BprMf final : public Model {
 public:
  explicit BprMf(const config::ModelConfig& config);

  std::string_view name() const override { return "bpr_mf"; }
  std::string_view description() const override { return "BPR-MF"; }
  std::span<const TableDecl> tables() const override { return tables_; }
  std::span<const FieldDecl> fields() const override { return fields_; }
  Evaluation evaluation() const override { return Evaluation::kRanking; }
  Examples examples() const override { return Examples::kPairwise; }
  std::string_view loss_name() const override { return "BPR log loss"; }

  Status Fit(std::span<const float>, const ReduceSum&) override { return Status::OK(); }
  ModelScalars scalars() const override { return {}; }
  Status RestoreScalars(const ModelScalars& scalars) override;

  double AccumulateGradients(const ExampleBatch& batch) const override;
  double Step(const ExampleBatch& batch, std::vector<float>* scratch) const override;
  // rows: the user's row and one item's row (fields user, pos): x_ui.
  float Score(std::span<const float* const> rows) const override;
  // Scores as Score (user row, item row), one matrix product per block.
  void ScoreBlock(const float* user_rows, size_t user_stride, size_t n_users,
                  const float* item_rows, size_t item_stride, size_t n_items,
                  float* out) const override;
  std::optional<DotForm> dot_form() const override {
    return DotForm{factors_, -1, item_bias_ ? factors_ : -1, 0.0f};
  }
  void ColdStartRow(int table, float* row) const override;

 private:
  int factors_;
  bool item_bias_;
  float l2_;
  float l2_bias_;
  std::vector<TableDecl> tables_;
  std::vector<FieldDecl> fields_;
};

}  // namespace psrec::models
