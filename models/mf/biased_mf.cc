#include "models/mf/biased_mf.h"

#include <algorithm>

#include <Eigen/Core>
#include <glog/logging.h>

#include "models/mf/row_addressing.h"

namespace psrec::models {
namespace {

using mf::kPrefetchAddressAhead;
using mf::kPrefetchAhead;
using mf::WithAddressing;

using ConstVec = Eigen::Map<const Eigen::VectorXf>;
using Vec = Eigen::Map<Eigen::VectorXf>;

struct MfTerms {
  int k;
  float global_mean, l2_factors, l2_bias;
};

// The prefetches below are written out in each kernel on purpose: moved into a shared helper
// they changed GCC's inlining so that Eigen's dot product and row updates became calls per
// rating (bench train DELTAS LOCAL fell from 13M to 8M ratings/s).
template <typename UserRows, typename ItemRows>
double Accumulate(const MfTerms& mf, const ExampleBatch& batch, const UserRows& users,
                  const ItemRows& items, const RowLookup& user, const RowLookup& item) {
  const int k = mf.k;
  const size_t dim = static_cast<size_t>(k) + 1;
  double sse = 0;
  const size_t n = batch.size;
  for (size_t i = 0; i < n; ++i) {
    if (i + kPrefetchAddressAhead < n) {
      users.PrefetchAddress(i + kPrefetchAddressAhead);
      items.PrefetchAddress(i + kPrefetchAddressAhead);
    }
    if (i + kPrefetchAhead < n) {
      mf::PrefetchRow(users.row(i + kPrefetchAhead), dim);
      mf::PrefetchRow(items.row(i + kPrefetchAhead), dim);
    }
    const float* pu = users.row(i);
    const float* qi = items.row(i);
    float* gu = user.grads + static_cast<size_t>(user.index_of(i)) * dim;
    float* gi = item.grads + static_cast<size_t>(item.index_of(i)) * dim;
    ConstVec p(pu, k), q(qi, k);
    const float e = mf.global_mean + pu[k] + qi[k] + p.dot(q) - batch.label(i);
    sse += static_cast<double>(e) * e;
    Vec(gu, k).noalias() += e * q + mf.l2_factors * p;
    Vec(gi, k).noalias() += e * p + mf.l2_factors * q;
    gu[k] += e + mf.l2_bias * pu[k];
    gi[k] += e + mf.l2_bias * qi[k];
  }
  return sse;
}

// One optimizer step on a row: SGD inline (the common case, two steps per rating, where a
// virtual call per row costs ~10% of the kernel), any other optimizer through the table's.
template <bool kSgd>
void StepRow(const RowStepper& step, float* row, const float* grad, int dim) {
  if constexpr (kSgd) {
    Vec(row, dim) -= step.learning_rate * ConstVec(grad, dim);
  } else {
    step.optimizer->UpdateRow(row, row + dim, grad, dim, step.learning_rate);
  }
}

template <bool kUserSgd, bool kItemSgd, typename UserRows, typename ItemRows>
double StepRatings(const MfTerms& mf, const ExampleBatch& batch, const UserRows& users,
                   const ItemRows& items, std::vector<float>* scratch) {
  const int k = mf.k;
  const int dim = k + 1;
  const RowStepper& user_step = batch.steppers[0];
  const RowStepper& item_step = batch.steppers[1];
  const size_t user_floats = static_cast<size_t>(dim + user_step.state_floats);
  const size_t item_floats = static_cast<size_t>(dim + item_step.state_floats);
  scratch->resize(2 * static_cast<size_t>(dim));
  float* user_grad = scratch->data();
  float* item_grad = user_grad + dim;
  double sse = 0;
  const size_t n = batch.size;
  for (size_t i = 0; i < n; ++i) {
    if (i + kPrefetchAddressAhead < n) {
      users.PrefetchAddress(i + kPrefetchAddressAhead);
      items.PrefetchAddress(i + kPrefetchAddressAhead);
    }
    if (i + kPrefetchAhead < n) {
      mf::PrefetchRow(users.row(i + kPrefetchAhead), user_floats);
      mf::PrefetchRow(items.row(i + kPrefetchAhead), item_floats);
    }
    float* pu = users.row(i);
    float* qi = items.row(i);
    ConstVec p(pu, k), q(qi, k);
    const float e = mf.global_mean + pu[k] + qi[k] + p.dot(q) - batch.label(i);
    sse += static_cast<double>(e) * e;
    // Both gradients from the rows before either step, as AccumulateGradients.
    Vec(user_grad, k).noalias() = e * q + mf.l2_factors * p;
    Vec(item_grad, k).noalias() = e * p + mf.l2_factors * q;
    user_grad[k] = e + mf.l2_bias * pu[k];
    item_grad[k] = e + mf.l2_bias * qi[k];
    StepRow<kUserSgd>(user_step, pu, user_grad, dim);
    StepRow<kItemSgd>(item_step, qi, item_grad, dim);
  }
  return sse;
}

// The fused step's instruction set for model.step_kernel; nullopt: unfused.
std::optional<mf::StepIsa> FusedStepIsa(const config::ModelConfig& config) {
  if (!mf::FusedSgdSupports(config.dim())) return std::nullopt;
  switch (config.step_kernel()) {
    case config::ModelConfig::UNFUSED: return std::nullopt;
    case config::ModelConfig::FUSED_PORTABLE: return mf::StepIsa::kPortable;
    case config::ModelConfig::FUSED_AVX2: return mf::WidestStepIsa(mf::StepIsa::kAvx2);
    default: return mf::WidestStepIsa();
  }
}

}  // namespace

BiasedMf::BiasedMf(const config::ModelConfig& config)
    : factors_(config.dim()),
      l2_factors_(config.l2_factors()),
      l2_bias_(config.l2_bias()),
      use_global_mean_(config.use_global_mean()),
      fused_isa_(FusedStepIsa(config)) {
  const std::vector<RowSegment> layout = {{"factors", factors_, "f"}, {"bias", 1, "bias"}};
  tables_ = {
      {"user", KeyedBy::kUser, factors_ + 1, layout, config.init_std(), /*zero_tail=*/1, /*dense=*/{}},
      {"item", KeyedBy::kItem, factors_ + 1, layout, config.init_std(), /*zero_tail=*/1, /*dense=*/{}},
  };
  fields_ = {{"user", static_cast<int>(kUserTable)}, {"item", static_cast<int>(kItemTable)}};
}

Status BiasedMf::Fit(std::span<const float> train_labels, const ReduceSum& reduce_sum) {
  double sums[2] = {0, static_cast<double>(train_labels.size())};
  for (const float r : train_labels) sums[0] += r;
  RETURN_IF_ERROR(reduce_sum(std::span<double>(sums, 2)));
  if (sums[1] == 0) return Status::InvalidArgument("the training set is empty");
  global_mean_ = use_global_mean_ ? static_cast<float>(sums[0] / sums[1]) : 0.0f;
  return Status::OK();
}

Status BiasedMf::RestoreScalars(const ModelScalars& scalars) {
  auto it = scalars.find("global_mean");
  if (it == scalars.end()) return Status::InvalidArgument("biased_mf needs scalar global_mean");
  if (scalars.size() != 1) {
    return Status::InvalidArgument("biased_mf has one scalar (global_mean), got " +
                                   std::to_string(scalars.size()));
  }
  global_mean_ = static_cast<float>(it->second);
  return Status::OK();
}

double BiasedMf::AccumulateGradients(const ExampleBatch& batch) const {
  CHECK_EQ(batch.fields.size(), 2u);
  const RowLookup& user = batch.fields[0];
  const RowLookup& item = batch.fields[1];
  const MfTerms mf{factors_, global_mean_, l2_factors_, l2_bias_};
  return WithAddressing(user, item, [&](const auto& users, const auto& items) {
    return Accumulate(mf, batch, users, items, user, item);
  });
}

double BiasedMf::Step(const ExampleBatch& batch, std::vector<float>* scratch) const {
  CHECK_EQ(batch.fields.size(), 2u);
  CHECK_EQ(batch.steppers.size(), 2u);
  const MfTerms mf{factors_, global_mean_, l2_factors_, l2_bias_};
  const bool user_sgd = batch.steppers[0].optimizer->kind() == config::OptimizerConfig::SGD;
  const bool item_sgd = batch.steppers[1].optimizer->kind() == config::OptimizerConfig::SGD;
  if (user_sgd && item_sgd && fused_isa_) {
    const mf::FusedSgdTerms terms{factors_, global_mean_, l2_factors_, l2_bias_,
                                  batch.steppers[0].learning_rate,
                                  batch.steppers[1].learning_rate};
    return mf::FusedSgdStep(*fused_isa_, terms, batch);
  }
  return WithAddressing(batch.fields[0], batch.fields[1],
                        [&](const auto& users, const auto& items) {
    if (user_sgd && item_sgd) return StepRatings<true, true>(mf, batch, users, items, scratch);
    if (user_sgd) return StepRatings<true, false>(mf, batch, users, items, scratch);
    if (item_sgd) return StepRatings<false, true>(mf, batch, users, items, scratch);
    return StepRatings<false, false>(mf, batch, users, items, scratch);
  });
}

float BiasedMf::Score(std::span<const float* const> rows) const {
  const int k = factors_;
  const float* pu = rows[0];
  const float* qi = rows[1];
  return global_mean_ + pu[k] + qi[k] + ConstVec(pu, k).dot(ConstVec(qi, k));
}

void BiasedMf::ScoreBlock(const float* user_rows, size_t user_stride, size_t n_users,
                          const float* item_rows, size_t item_stride, size_t n_items,
                          float* out) const {
  using Strided = Eigen::Map<const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic,
                                                 Eigen::RowMajor>,
                             0, Eigen::OuterStride<>>;
  using Column = Eigen::Map<const Eigen::VectorXf, 0, Eigen::InnerStride<>>;
  const Eigen::Index k = factors_;
  const Eigen::Index users = static_cast<Eigen::Index>(n_users);
  const Eigen::Index items = static_cast<Eigen::Index>(n_items);
  Strided p(user_rows, users, k, Eigen::OuterStride<>(static_cast<Eigen::Index>(user_stride)));
  Strided q(item_rows, items, k, Eigen::OuterStride<>(static_cast<Eigen::Index>(item_stride)));
  Column user_bias(user_rows + k, users, Eigen::InnerStride<>(static_cast<Eigen::Index>(user_stride)));
  Column item_bias(item_rows + k, items, Eigen::InnerStride<>(static_cast<Eigen::Index>(item_stride)));
  Eigen::Map<Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>> scores(
      out, users, items);
  scores.noalias() = p * q.transpose();
  scores.colwise() += (user_bias.array() + global_mean_).matrix();
  scores.rowwise() += item_bias.transpose();
}

void BiasedMf::ColdStartRow(int table, float* row) const {
  const int floats = tables_[static_cast<size_t>(table)].payload_floats;
  std::fill(row, row + floats, 0.0f);
}

}  // namespace psrec::models
