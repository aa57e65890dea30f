// NcfModel: GMF, MLP and NeuMF (model.type GMF, MLP, NEUMF; He et al., "Neural
// Collaborative Filtering", WWW 2017) on the parameter server: embeddings in sparse tables,
// the network's weights in a dense one, pointwise log loss over positives and sampled
// negatives (Examples::kPointwise, as logistic MF). The maths is NcfNetwork's
// (models/ncf/ncf_network.h), batched over examples.
//
// Tables:
//   "user"   keyed by user (may be LOCAL): [gmf | mlp] segments, model.dim GMF floats and
//            mlp_layers[0] / 2 MLP floats (GMF: gmf only, MLP: mlp only), ~ N(0, init_std^2);
//   "item"   keyed by item, the same layout;
//   "dense"  kDense: the flat vector of NcfNetwork::params() (mlp.<l>.weight, mlp.<l>.bias,
//            out.weight, out.bias) in blocks of kDenseBlockFloats.
// Fields: user, item. No scalars. Cold start: a zero embedding (the score is then the
// network's answer for an unknown user or item).
//
// Update modes (both supported):
//   GRADIENTS  AccumulateGradients: the batch's forward and backward pass (in chunks of
//              model.ncf_minibatch columns), every row's gradient summed into its buffer,
//              the dense gradient into DenseView::grads; the owners apply the optimizers.
//   DELTAS     Step: mini-batches of model.ncf_minibatch examples; each one's rows and the
//              dense vector are stepped once with the summed mini-batch gradient (a row that
//              occurs twice in a mini-batch is stepped once with the sum). So, unlike the MF
//              models, an example does not see the steps of the examples of its own
//              mini-batch; it sees those of every earlier mini-batch.
// Gradients per example (g = sigmoid(z) - y): the network's backward pass, plus
// l2_factors * row for each embedding row it reads, plus l2_dense * W for each weight
// matrix (not the biases). The loss returned is the summed log loss without the L2 terms.
//
// Score and ScoreBlock read the dense vector given to SetScoringDense (REQUIRES: set).
//
// Thread safety: as Model; SetScoringDense must not run concurrently with scoring.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "common/proto/config.pb.h"
#include "models/model.h"
#include "models/ncf/ncf_network.h"

namespace psrec::models {

class NcfModel final : public Model {
 public:
  // Floats per block of the "dense" table.
  static constexpr int kDenseBlockFloats = 1024;

  // REQUIRES: config.type() is GMF, MLP or NEUMF, and mlp_layers parses (ParseMlpLayers;
  // ValidateJobConfig checks it).
  explicit NcfModel(const config::ModelConfig& config);

  std::string_view name() const override { return name_; }
  std::string_view description() const override { return description_; }
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
  // z_ui, the logit of "u interacts with i", from the scoring dense vector.
  float Score(std::span<const float* const> rows) const override;
  void ScoreBlock(const float* user_rows, size_t user_stride, size_t n_users,
                  const float* item_rows, size_t item_stride, size_t n_items,
                  float* out) const override;
  void ColdStartRow(int table, float* row) const override;
  void SetScoringDense(std::vector<std::vector<float>> dense) override;

  const NcfNetwork& network() const { return network_; }

 private:
  // Forward and backward over examples [begin, end): returns their summed log loss, adds
  // the dense gradient to dense_grad and leaves the rows' gradients (L2 included) in
  // grad_users / grad_items, one column per example.
  double ForwardBackward(const ExampleBatch& batch, const float* dense, size_t begin,
                         size_t end, float* dense_grad, NcfMatrix* grad_users,
                         NcfMatrix* grad_items) const;

  std::string name_;
  std::string description_;
  NcfNetwork network_;
  float l2_factors_;
  float l2_dense_;
  size_t minibatch_;
  std::vector<TableDecl> tables_;
  std::vector<FieldDecl> fields_;
  std::vector<float> scoring_dense_;
};

}  // namespace psrec::models
