// LogisticMf: pointwise logistic matrix factorization for implicit feedback:
// z_ui = p_u . q_i (+ b_i with model.item_bias), and per example (user u, item i, label y in
// {0, 1}: a positive, or a sampled negative)
//   loss = -y log sigmoid(z) - (1 - y) log(1 - sigmoid(z)) = softplus(z) - y z
// with L2 in the gradient (g = sigmoid(z) - y):
//   g(p_u) = g q_i + l2_factors p_u     g(q_i) = g p_u + l2_factors q_i
//   g(b_i) = g + l2_bias b_i
// Tables: "user" (keyed by user, may be LOCAL): `dim` factors; "item": `dim` factors, then
// the bias when item_bias (starts at 0). Fields: user, item. Examples: kPointwise
// (train/implicit_batches.h). No scalars. Cold start: a zero row. The loss each call
// returns is the summed log loss, without the L2 terms.
//
// Thread safety: as Model.
#pragma once

#include <span>
#include <vector>

#include "common/proto/config.pb.h"
#include "models/model.h"

namespace psrec::models {

class LogisticMf final : public Model {
 public:
  explicit LogisticMf(const config::ModelConfig& config);

  std::string_view name() const override { return "logistic_mf"; }
  std::string_view description() const override { return "logistic MF"; }
  std::span<const TableDecl> tables() const override { return tables_; }
  std::span<const FieldDecl> fields() const override { return fields_; }
  Evaluation evaluation() const override { return Evaluation::kRanking; }
  Examples examples() const override { return Examples::kPointwise; }
  std::string_view loss_name() const override { return "log loss"; }

  Status Fit(std::span<const float>, const ReduceSum&) override { return Status::OK(); }
  ModelScalars scalars() const override { return {}; }
  Status RestoreScalars(const ModelScalars& scalars) override;

  double AccumulateGradients(const ExampleBatch& batch) const override;
  double Step(const ExampleBatch& batch, std::vector<float>* scratch) const override;
  // z_ui, the logit of "u interacts with i".
  float Score(std::span<const float* const> rows) const override;
  // Scores as Score, one matrix product per block (plus the item biases).
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
  float l2_factors_;
  float l2_bias_;
  std::vector<TableDecl> tables_;
  std::vector<FieldDecl> fields_;
};

}  // namespace psrec::models
