// A per-example double-precision reference of the NCF models (models/ncf/): the loss of
// GMF, MLP and NeuMF written out example by example, straight from the paper's equations,
// for the gradient check and the score tests. Reads the dense parameters' offsets from
// the model's own DenseParams (names and shapes are part of the contract it checks).
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

#include "models/ncf/ncf_network.h"

namespace psrec::models {

struct NcfReference {
  NcfShape shape;
  std::vector<DenseParam> params;  // mlp.<l>.weight, mlp.<l>.bias, ..., out.weight, out.bias
  double l2_factors = 0;
  double l2_dense = 0;

  // z of (user row p, item row q) under the dense vector `dense`.
  double Logit(const std::vector<double>& dense, const double* p, const double* q) const {
    const int g = shape.gmf_dim;
    const int e = shape.mlp_dim();
    std::vector<double> top;  // the output layer's input
    for (int f = 0; f < g; ++f) top.push_back(p[f] * q[f]);
    if (e > 0) {
      std::vector<double> h;
      for (int f = 0; f < e; ++f) h.push_back(p[g + f]);
      for (int f = 0; f < e; ++f) h.push_back(q[g + f]);
      for (size_t l = 0; l + 1 < shape.layers.size(); ++l) {
        const DenseParam& w = params[2 * l];
        const DenseParam& b = params[2 * l + 1];
        std::vector<double> next(static_cast<size_t>(w.rows));
        for (int r = 0; r < w.rows; ++r) {
          double s = dense[b.offset + static_cast<size_t>(r)];
          for (int c = 0; c < w.cols; ++c) {
            s += dense[w.offset + static_cast<size_t>(r * w.cols + c)] * h[static_cast<size_t>(c)];
          }
          next[static_cast<size_t>(r)] = s > 0 ? s : 0;
        }
        h = next;
      }
      top.insert(top.end(), h.begin(), h.end());
    }
    const DenseParam& out_w = params[params.size() - 2];
    double z = dense[params.back().offset];
    for (size_t f = 0; f < top.size(); ++f) z += dense[out_w.offset + f] * top[f];
    return z;
  }

  // Sum over examples of the log loss plus 0.5 l2_factors (|p|^2 + |q|^2) plus
  // 0.5 l2_dense |W|^2 over the weight matrices (per example, as the model's gradient).
  double Objective(const std::vector<double>& dense, const std::vector<double>& users,
                   const std::vector<double>& items, const std::vector<uint32_t>& user,
                   const std::vector<uint32_t>& item, const std::vector<float>& labels) const {
    const auto floats = static_cast<size_t>(shape.row_floats());
    double weights2 = 0;
    for (size_t p = 0; p < params.size(); p += 2) {
      const size_t size = static_cast<size_t>(params[p].rows) * static_cast<size_t>(params[p].cols);
      for (size_t x = 0; x < size; ++x) weights2 += dense[params[p].offset + x] * dense[params[p].offset + x];
    }
    double total = 0;
    for (size_t n = 0; n < user.size(); ++n) {
      const double* p = &users[user[n] * floats];
      const double* q = &items[item[n] * floats];
      const double z = Logit(dense, p, q);
      const double softplus = z > 0 ? z + std::log1p(std::exp(-z)) : std::log1p(std::exp(z));
      double rows2 = 0;
      for (size_t f = 0; f < floats; ++f) rows2 += p[f] * p[f] + q[f] * q[f];
      total += softplus - labels[n] * z + 0.5 * l2_factors * rows2 + 0.5 * l2_dense * weights2;
    }
    return total;
  }
};

}  // namespace psrec::models
