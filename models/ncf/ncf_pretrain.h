// NeuMF from a trained GMF and a trained MLP (the NCF paper's pretraining, section 3.4.1):
// NeuMF's rows are the GMF row followed by the MLP row of the same user or item, its tower
// is the MLP's, and its output layer weighs the two models' output layers by alpha:
//   out.weight = [alpha w_gmf, (1 - alpha) w_mlp]   out.bias = alpha b_gmf + (1 - alpha) b_mlp
// so that the composed model's logit is alpha z_gmf + (1 - alpha) z_mlp. The paper uses
// alpha 0.5 and then trains NeuMF with plain SGD (Adam's moments are not carried over).
//
// Thread safety: pure functions.
#pragma once

#include <span>

#include "common/status.h"
#include "models/ncf/ncf_network.h"

namespace psrec::models {

// InvalidArgument when the networks do not fit: `gmf` must be a GMF and `mlp` an MLP with
// NeuMF's GMF width and tower, and the spans must hold each network's dense_floats().
Status ComposeNeuMfDense(const NcfNetwork& gmf, std::span<const float> gmf_dense,
                         const NcfNetwork& mlp, std::span<const float> mlp_dense, float alpha,
                         const NcfNetwork& neumf, std::span<float> neumf_dense);

// row = [gmf_row | mlp_row]. REQUIRES: row.size() == gmf_row.size() + mlp_row.size().
void ComposeNeuMfRow(std::span<const float> gmf_row, std::span<const float> mlp_row,
                     std::span<float> row);

}  // namespace psrec::models
