// BPR-MF and logistic MF kernels (models/bpr/, models/logistic/): analytic gradients against
// finite differences of the loss plus its L2 terms, and Step as one SGD step of the same
// gradients, through the Model interface with the argument shapes the update modes use.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include <Eigen/Core>

#include "models/bpr/bpr_mf.h"
#include "models/logistic/logistic_mf.h"
#include "table/optimizer.h"

namespace psrec::models {
namespace {

double Softplus(double x) { return x > 0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x)); }

std::vector<float> Random(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0, 0.5f);
  std::vector<float> v(n);
  for (float& x : v) x = normal(rng);
  return v;
}

config::ModelConfig Config(int dim, float l2_factors, float l2_bias) {
  config::ModelConfig config;
  config.set_dim(dim);
  config.set_l2_factors(l2_factors);
  config.set_l2_bias(l2_bias);
  return config;
}

struct BprCase {
  explicit BprCase(bool with_bias) : bias(with_bias), I(Random(5 * (4 + with_bias), 2)) {}
  int k = 4;
  bool bias;
  float l2 = 0.03f, l2_bias = 0.02f;
  // Three users, five items; triples by slot (a repeated user, item 2 both pos and neg).
  std::vector<uint32_t> user = {0, 1, 0, 2}, pos = {1, 2, 3, 0}, neg = {4, 0, 2, 2};
  std::vector<float> U = Random(3 * 4, 1);
  std::vector<float> I;  // items: k factors (+ a bias)
  std::vector<float> labels = std::vector<float>(4, 1.0f);

  size_t item_floats() const { return size_t(k) + (bias ? 1 : 0); }
  config::ModelConfig ModelConfig() const {
    config::ModelConfig config = Config(k, l2, l2_bias);
    config.set_item_bias(bias);
    return config;
  }
  void Fields(RowLookup* fields, float* users, float* items, float* gu, float* gi) {
    fields[0] = {users, nullptr, size_t(k), user.data(), 1, gu};
    fields[1] = {items, nullptr, item_floats(), pos.data(), 1, gi};
    fields[2] = {items, nullptr, item_floats(), neg.data(), 1, gi};
  }

  double Objective() const {
    double total = 0;
    for (size_t n = 0; n < user.size(); ++n) {
      const float* p = &U[user[n] * k];
      const float* qi = &I[pos[n] * item_floats()];
      const float* qj = &I[neg[n] * item_floats()];
      double d = 0, reg = 0;
      for (int f = 0; f < k; ++f) {
        d += double(p[f]) * (qi[f] - qj[f]);
        reg += double(p[f]) * p[f] + double(qi[f]) * qi[f] + double(qj[f]) * qj[f];
      }
      if (bias) {
        d += double(qi[k]) - qj[k];
        total += 0.5 * l2_bias * (double(qi[k]) * qi[k] + double(qj[k]) * qj[k]);
      }
      total += Softplus(-d) + 0.5 * l2 * reg;
    }
    return total;
  }
};

class BprMfTest : public ::testing::TestWithParam<bool> {};

TEST_P(BprMfTest, GradientsMatchFiniteDifferences) {
  BprCase c(GetParam());
  BprMf model(c.ModelConfig());
  ASSERT_EQ(model.tables()[1].payload_floats, int(c.item_floats()));
  std::vector<float> gu(c.U.size(), 0), gi(c.I.size(), 0);
  RowLookup fields[3];
  c.Fields(fields, c.U.data(), c.I.data(), gu.data(), gi.data());
  ExampleBatch batch{c.user.size(), c.labels.data(), 1, fields, {}, {}};
  const double loss = model.AccumulateGradients(batch);
  EXPECT_GT(loss, 0);
  const double h = 1e-3;
  for (auto [rows, grads] : {std::pair(&c.U, &gu), std::pair(&c.I, &gi)}) {
    for (size_t x = 0; x < rows->size(); ++x) {
      const float saved = (*rows)[x];
      (*rows)[x] = saved + float(h);
      const double up = c.Objective();
      (*rows)[x] = saved - float(h);
      const double down = c.Objective();
      (*rows)[x] = saved;
      EXPECT_NEAR((*grads)[x], (up - down) / (2 * h), 2e-3) << "float " << x;
    }
  }
}

TEST_P(BprMfTest, StepIsOneSgdStepPerTriple) {
  BprCase c(GetParam());
  c.user = {0};
  c.pos = {1};
  c.neg = {4};
  BprMf model(c.ModelConfig());
  std::vector<float> gu(c.U.size(), 0), gi(c.I.size(), 0);
  RowLookup fields[3];
  c.Fields(fields, c.U.data(), c.I.data(), gu.data(), gi.data());
  ExampleBatch batch{1, c.labels.data(), 1, fields, {}, {}};
  const double loss = model.AccumulateGradients(batch);
  const table::SgdOptimizer sgd;
  const RowStepper steppers[3] = {{&sgd, 0.1f, 0}, {&sgd, 0.1f, 0}, {&sgd, 0.1f, 0}};
  std::vector<float> U = c.U, I = c.I;
  c.Fields(fields, U.data(), I.data(), gu.data(), gi.data());
  batch.steppers = steppers;
  std::vector<float> scratch;
  EXPECT_DOUBLE_EQ(model.Step(batch, &scratch), loss);
  for (size_t x = 0; x < U.size(); ++x) EXPECT_NEAR(U[x], c.U[x] - 0.1f * gu[x], 1e-6);
  for (size_t x = 0; x < I.size(); ++x) EXPECT_NEAR(I[x], c.I[x] - 0.1f * gi[x], 1e-6);
  // Its score is the dot product (+ the bias): after the step the positive gains on the
  // negative.
  const size_t f = c.item_floats();
  const float* before_pos[2] = {&c.U[0], &c.I[1 * f]};
  const float* before_neg[2] = {&c.U[0], &c.I[4 * f]};
  const float* after_pos[2] = {&U[0], &I[1 * f]};
  const float* after_neg[2] = {&U[0], &I[4 * f]};
  EXPECT_GT(model.Score(after_pos) - model.Score(after_neg),
            model.Score(before_pos) - model.Score(before_neg));
  if (c.bias) {
    EXPECT_FLOAT_EQ(model.Score(after_pos) - I[1 * f + c.k],
                    Eigen::Map<const Eigen::VectorXf>(&U[0], c.k)
                        .dot(Eigen::Map<const Eigen::VectorXf>(&I[1 * f], c.k)));
  }
}

INSTANTIATE_TEST_SUITE_P(ItemBias, BprMfTest, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "WithBias" : "NoBias"; });

struct LogisticCase {
  int k = 3;
  float l2 = 0.02f, l2_bias = 0.01f;
  std::vector<uint32_t> user = {0, 0, 1, 2, 1}, item = {1, 3, 3, 0, 2};
  std::vector<float> labels = {1, 0, 1, 0, 0};
  std::vector<float> U = Random(3 * 3, 3), I = Random(4 * 4, 4);  // items: 3 factors + bias

  double Objective() const {
    double total = 0;
    for (size_t n = 0; n < user.size(); ++n) {
      const float* p = &U[user[n] * k];
      const float* q = &I[item[n] * (k + 1)];
      double z = q[k], reg = 0;
      for (int f = 0; f < k; ++f) {
        z += double(p[f]) * q[f];
        reg += double(p[f]) * p[f] + double(q[f]) * q[f];
      }
      total += Softplus(z) - labels[n] * z + 0.5 * l2 * reg + 0.5 * l2_bias * q[k] * q[k];
    }
    return total;
  }
};

TEST(LogisticMfTest, GradientsMatchFiniteDifferences) {
  LogisticCase c;
  LogisticMf model(Config(c.k, c.l2, c.l2_bias));
  ASSERT_EQ(model.tables()[1].payload_floats, c.k + 1);
  std::vector<float> gu(c.U.size(), 0), gi(c.I.size(), 0);
  RowLookup fields[2];
  fields[0] = {c.U.data(), nullptr, size_t(c.k), c.user.data(), 1, gu.data()};
  fields[1] = {c.I.data(), nullptr, size_t(c.k + 1), c.item.data(), 1, gi.data()};
  ExampleBatch batch{c.user.size(), c.labels.data(), 1, fields, {}, {}};
  model.AccumulateGradients(batch);
  const double h = 1e-3;
  for (auto [rows, grads] : {std::pair(&c.U, &gu), std::pair(&c.I, &gi)}) {
    for (size_t x = 0; x < rows->size(); ++x) {
      const float saved = (*rows)[x];
      (*rows)[x] = saved + float(h);
      const double up = c.Objective();
      (*rows)[x] = saved - float(h);
      const double down = c.Objective();
      (*rows)[x] = saved;
      EXPECT_NEAR((*grads)[x], (up - down) / (2 * h), 2e-3) << "float " << x;
    }
  }
}

TEST(LogisticMfTest, WithoutItemBiasTheItemRowIsFactorsOnly) {
  config::ModelConfig config = Config(5, 0.01f, 0.01f);
  config.set_item_bias(false);
  LogisticMf model(config);
  EXPECT_EQ(model.tables()[1].payload_floats, 5);
  const std::vector<float> p = {1, 0, 0, 0, 0}, q = {2, 1, 1, 1, 1};
  const float* rows[2] = {p.data(), q.data()};
  EXPECT_FLOAT_EQ(model.Score(rows), 2.0f);
  EXPECT_EQ(model.evaluation(), Evaluation::kRanking);
}

TEST(LogisticMfTest, StepLowersTheLossOfItsExample) {
  LogisticCase c;
  LogisticMf model(Config(c.k, c.l2, c.l2_bias));
  const table::SgdOptimizer sgd;
  const RowStepper steppers[2] = {{&sgd, 0.5f, 0}, {&sgd, 0.5f, 0}};
  RowLookup fields[2];
  fields[0] = {c.U.data(), nullptr, size_t(c.k), c.user.data(), 1, nullptr};
  fields[1] = {c.I.data(), nullptr, size_t(c.k + 1), c.item.data(), 1, nullptr};
  ExampleBatch batch{1, c.labels.data(), 1, fields, steppers, {}};
  std::vector<float> scratch;
  const double before = model.Step(batch, &scratch);
  const double after = model.Step(batch, &scratch);
  EXPECT_LT(after, before);
}

}  // namespace
}  // namespace psrec::models
