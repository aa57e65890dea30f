#include "models/ncf/ncf_pretrain.h"

#include <algorithm>
#include <string>

#include <glog/logging.h>

namespace psrec::models {
namespace {

std::string Describe(const NcfShape& shape) {
  std::string layers;
  for (int w : shape.layers) {
    if (!layers.empty()) layers.push_back(',');
    layers.append(std::to_string(w));
  }
  return "gmf " + std::to_string(shape.gmf_dim) + ", mlp_layers \"" + layers + "\"";
}

}  // namespace

Status ComposeNeuMfDense(const NcfNetwork& gmf, std::span<const float> gmf_dense,
                         const NcfNetwork& mlp, std::span<const float> mlp_dense, float alpha,
                         const NcfNetwork& neumf, std::span<float> neumf_dense) {
  const NcfShape& g = gmf.shape();
  const NcfShape& m = mlp.shape();
  const NcfShape& n = neumf.shape();
  if (g.kind != NcfKind::kGmf || m.kind != NcfKind::kMlp || n.kind != NcfKind::kNeuMf) {
    return Status::InvalidArgument("pretraining composes a GMF and an MLP into a NeuMF");
  }
  if (g.gmf_dim != n.gmf_dim || m.layers != n.layers) {
    return Status::InvalidArgument("pretrained GMF (" + Describe(g) + ") and MLP (" + Describe(m) +
                                   ") do not fit NeuMF (" + Describe(n) + ")");
  }
  if (gmf_dense.size() < gmf.dense_floats() || mlp_dense.size() < mlp.dense_floats() ||
      neumf_dense.size() < neumf.dense_floats()) {
    return Status::InvalidArgument("pretraining: a dense vector is shorter than its network's");
  }
  // The tower's parameters come first and are laid out alike in MLP and NeuMF.
  const std::vector<DenseParam>& mp = mlp.params();
  const std::vector<DenseParam>& np = neumf.params();
  const DenseParam& mlp_out = mp[mp.size() - 2];
  std::copy_n(mlp_dense.begin(), mlp_out.offset, neumf_dense.begin());
  const DenseParam& gmf_out = gmf.params()[0];
  const DenseParam& out = np[np.size() - 2];
  for (int f = 0; f < g.gmf_dim; ++f) {
    neumf_dense[out.offset + static_cast<size_t>(f)] = alpha * gmf_dense[gmf_out.offset + static_cast<size_t>(f)];
  }
  for (int f = 0; f < mlp_out.cols; ++f) {
    neumf_dense[out.offset + static_cast<size_t>(g.gmf_dim + f)] =
        (1 - alpha) * mlp_dense[mlp_out.offset + static_cast<size_t>(f)];
  }
  neumf_dense[np.back().offset] = alpha * gmf_dense[gmf.params().back().offset] +
                                  (1 - alpha) * mlp_dense[mp.back().offset];
  return Status::OK();
}

void ComposeNeuMfRow(std::span<const float> gmf_row, std::span<const float> mlp_row,
                     std::span<float> row) {
  CHECK_EQ(row.size(), gmf_row.size() + mlp_row.size());
  std::copy(gmf_row.begin(), gmf_row.end(), row.begin());
  std::copy(mlp_row.begin(), mlp_row.end(), row.begin() + static_cast<std::ptrdiff_t>(gmf_row.size()));
}

}  // namespace psrec::models
