#include "models/bpr/bpr_mf.h"

#include <algorithm>
#include <type_traits>

#include <glog/logging.h>

#include "models/dot_score_block.h"
#include "models/implicit_terms.h"

namespace psrec::models {
namespace {

using ConstVec = Eigen::Map<const Eigen::VectorXf>;
constexpr size_t kPrefetchAhead = 4;

// Rows of k floats, k fixed at compile time (kK > 0: Eigen unrolls the dot products and row
// updates, no loop or size checks per triple) or not (Eigen::Dynamic, any dim).
template <int kK>
struct Rows {
  using ConstRow = Eigen::Map<const Eigen::Matrix<float, kK, 1>>;
  using Row = Eigen::Map<Eigen::Matrix<float, kK, 1>>;
};

// The prefetches are written out in each kernel on purpose, as in models/mf/biased_mf.cc
// (a shared helper changed GCC's inlining of the Eigen expressions).
// kBias: item rows end with a bias b (item_bias), x_ui = p_u . q_i + b_i.
template <int kK, bool kBias>
double AccumulateTriples(const ExampleBatch& batch, int k, float l2, float l2_bias) {
  using ConstRow = typename Rows<kK>::ConstRow;
  using Row = typename Rows<kK>::Row;
  const RowLookup& user = batch.fields[0];
  const RowLookup& pos = batch.fields[1];
  const RowLookup& neg = batch.fields[2];
  const size_t item_floats = static_cast<size_t>(k) + (kBias ? 1 : 0);
  const size_t bytes = item_floats * sizeof(float);
  double loss = 0;
  for (size_t i = 0; i < batch.size; ++i) {
    if (i + kPrefetchAhead < batch.size) {
      const char* rows[3] = {reinterpret_cast<const char*>(user.row(i + kPrefetchAhead)),
                             reinterpret_cast<const char*>(pos.row(i + kPrefetchAhead)),
                             reinterpret_cast<const char*>(neg.row(i + kPrefetchAhead))};
      for (size_t offset = 0; offset < bytes; offset += 64) {
        __builtin_prefetch(rows[0] + offset, 1);
        __builtin_prefetch(rows[1] + offset, 1);
        __builtin_prefetch(rows[2] + offset, 1);
      }
    }
    ConstRow p(user.row(i), k), qi(pos.row(i), k), qj(neg.row(i), k);
    // The dot products through runtime-sized maps: Eigen sums a fixed-size dot in another
    // order, and the loss curves stay bit-identical to the runtime-k kernel this replaced.
    const ConstVec pd(p.data(), k);
    float d = pd.dot(ConstVec(qi.data(), k)) - pd.dot(ConstVec(qj.data(), k));
    if constexpr (kBias) d += pos.row(i)[k] - neg.row(i)[k];
    const LogSigmoidTerms t = SoftplusAndSigmoid(-d);
    loss += t.softplus;
    const float g = -t.sigmoid;
    Row(user.grads + static_cast<size_t>(user.index_of(i)) * k, k).noalias() +=
        g * (qi - qj) + l2 * p;
    float* gi = pos.grads + static_cast<size_t>(pos.index_of(i)) * item_floats;
    float* gj = neg.grads + static_cast<size_t>(neg.index_of(i)) * item_floats;
    Row(gi, k).noalias() += g * p + l2 * qi;
    Row(gj, k).noalias() += -g * p + l2 * qj;
    if constexpr (kBias) {
      gi[k] += g + l2_bias * pos.row(i)[k];
      gj[k] += -g + l2_bias * neg.row(i)[k];
    }
  }
  return loss;
}

// One optimizer step: kAllSgd (every field's table steps by SGD, the common case) inline at
// the fixed k, else per field as models/implicit_terms.h StepImplicitRow.
// kBias: the row's payload is k factors and a bias.
template <int kK, bool kAllSgd, bool kBias = false>
void StepRow(const RowStepper& step, float* row, const float* grad, int k) {
  if constexpr (kAllSgd) {
    typename Rows<kK>::Row(row, k) -= step.learning_rate * typename Rows<kK>::ConstRow(grad, k);
    if constexpr (kBias) row[k] -= step.learning_rate * grad[k];
  } else {
    StepImplicitRow(step, IsSgd(step), row, grad, k + (kBias ? 1 : 0));
  }
}

template <int kK, bool kSgd, bool kBias>
double StepTriples(const ExampleBatch& batch, int k, float l2, float l2_bias, float* scratch) {
  using ConstRow = typename Rows<kK>::ConstRow;
  using Row = typename Rows<kK>::Row;
  const RowLookup& user = batch.fields[0];
  const RowLookup& pos = batch.fields[1];
  const RowLookup& neg = batch.fields[2];
  const size_t bytes = (static_cast<size_t>(k) + (kBias ? 1 : 0)) * sizeof(float);
  float* gu = scratch;
  float* gi = gu + k;
  float* gj = gi + k + 1;
  double loss = 0;
  for (size_t i = 0; i < batch.size; ++i) {
    if (i + kPrefetchAhead < batch.size) {
      const char* rows[3] = {reinterpret_cast<const char*>(user.row(i + kPrefetchAhead)),
                             reinterpret_cast<const char*>(pos.row(i + kPrefetchAhead)),
                             reinterpret_cast<const char*>(neg.row(i + kPrefetchAhead))};
      for (size_t offset = 0; offset < bytes; offset += 64) {
        __builtin_prefetch(rows[0] + offset, 1);
        __builtin_prefetch(rows[1] + offset, 1);
        __builtin_prefetch(rows[2] + offset, 1);
      }
    }
    float* pu = user.row(i);
    float* qi_row = pos.row(i);
    float* qj_row = neg.row(i);
    ConstRow p(pu, k), qi(qi_row, k), qj(qj_row, k);
    // The dot products through runtime-sized maps: Eigen sums a fixed-size dot in another
    // order, and the loss curves stay bit-identical to the runtime-k kernel this replaced.
    const ConstVec pd(p.data(), k);
    float d = pd.dot(ConstVec(qi.data(), k)) - pd.dot(ConstVec(qj.data(), k));
    if constexpr (kBias) d += qi_row[k] - qj_row[k];
    const LogSigmoidTerms t = SoftplusAndSigmoid(-d);
    loss += t.softplus;
    const float g = -t.sigmoid;
    // All three gradients from the rows before any step, as AccumulateGradients.
    Row(gu, k).noalias() = g * (qi - qj) + l2 * p;
    Row(gi, k).noalias() = g * p + l2 * qi;
    Row(gj, k).noalias() = -g * p + l2 * qj;
    if constexpr (kBias) {
      gi[k] = g + l2_bias * qi_row[k];
      gj[k] = -g + l2_bias * qj_row[k];
    }
    StepRow<kK, kSgd>(batch.steppers[0], pu, gu, k);
    StepRow<kK, kSgd, kBias>(batch.steppers[1], qi_row, gi, k);
    StepRow<kK, kSgd, kBias>(batch.steppers[2], qj_row, gj, k);
  }
  return loss;
}

// Calls f(std::integral_constant<int, K>) with K = k for the common dims, else Dynamic.
template <typename F>
double WithDim(int k, F&& f) {
  switch (k) {
    case 16: return f(std::integral_constant<int, 16>());
    case 32: return f(std::integral_constant<int, 32>());
    case 64: return f(std::integral_constant<int, 64>());
    default: return f(std::integral_constant<int, Eigen::Dynamic>());
  }
}

}  // namespace

BprMf::BprMf(const config::ModelConfig& config)
    : factors_(config.dim()),
      item_bias_(config.item_bias()),
      l2_(config.l2_factors()),
      l2_bias_(config.l2_bias()) {
  const std::vector<RowSegment> layout = {{"factors", factors_, "f"}};
  std::vector<RowSegment> item_layout = layout;
  if (item_bias_) item_layout.push_back({"bias", 1, "bias"});
  tables_ = {
      {"user", KeyedBy::kUser, factors_, layout, config.init_std(), /*zero_tail=*/0, /*dense=*/{}},
      {"item", KeyedBy::kItem, factors_ + (item_bias_ ? 1 : 0), item_layout, config.init_std(),
       /*zero_tail=*/item_bias_ ? 1 : 0, /*dense=*/{}},
  };
  fields_ = {{"user", 0}, {"pos", 1}, {"neg", 1}};
}

Status BprMf::RestoreScalars(const ModelScalars& scalars) {
  if (!scalars.empty()) {
    return Status::InvalidArgument("bpr_mf has no scalars, got " +
                                   std::to_string(scalars.size()));
  }
  return Status::OK();
}

double BprMf::AccumulateGradients(const ExampleBatch& batch) const {
  CHECK_EQ(batch.fields.size(), 3u);
  return WithDim(factors_, [&](auto dim) {
    constexpr int kK = decltype(dim)::value;
    return item_bias_ ? AccumulateTriples<kK, true>(batch, factors_, l2_, l2_bias_)
                      : AccumulateTriples<kK, false>(batch, factors_, l2_, l2_bias_);
  });
}

double BprMf::Step(const ExampleBatch& batch, std::vector<float>* scratch) const {
  CHECK_EQ(batch.fields.size(), 3u);
  CHECK_EQ(batch.steppers.size(), 3u);
  // One SGD test for all three fields: pos and neg share the item table's stepper.
  const bool sgd = IsSgd(batch.steppers[0]) && IsSgd(batch.steppers[1]) &&
                   IsSgd(batch.steppers[2]);
  scratch->resize(3 * static_cast<size_t>(factors_) + 2);
  return WithDim(factors_, [&](auto dim) {
    constexpr int kK = decltype(dim)::value;
    float* s = scratch->data();
    if (item_bias_) {
      return sgd ? StepTriples<kK, true, true>(batch, factors_, l2_, l2_bias_, s)
                 : StepTriples<kK, false, true>(batch, factors_, l2_, l2_bias_, s);
    }
    return sgd ? StepTriples<kK, true, false>(batch, factors_, l2_, l2_bias_, s)
               : StepTriples<kK, false, false>(batch, factors_, l2_, l2_bias_, s);
  });
}

float BprMf::Score(std::span<const float* const> rows) const {
  return ConstVec(rows[0], factors_).dot(ConstVec(rows[1], factors_)) +
         (item_bias_ ? rows[1][factors_] : 0.0f);
}

void BprMf::ScoreBlock(const float* user_rows, size_t user_stride, size_t n_users,
                       const float* item_rows, size_t item_stride, size_t n_items,
                       float* out) const {
  DotScoreBlock(factors_, item_bias_, user_rows, user_stride, n_users, item_rows,
                item_stride, n_items, out);
}

void BprMf::ColdStartRow(int table, float* row) const {
  std::fill(row, row + tables_[static_cast<size_t>(table)].payload_floats, 0.0f);
}

}  // namespace psrec::models
