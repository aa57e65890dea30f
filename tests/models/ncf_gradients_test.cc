// NCF models (models/ncf/): the batched analytic gradients of AccumulateGradients against
// central finite differences of a per-example double-precision reference (ncf_reference.h),
// for GMF, MLP and NeuMF, on every embedding float and every dense weight.
//
// Tolerance: the model computes in float, the reference in double with h = 1e-4, so the
// finite difference is exact to ~1e-8; a float gradient over a 7-example batch is exact to
// a few ulps. Each float must satisfy |analytic - numeric| <= 1e-3 |numeric| + 1e-5 (1e-3
// relative; the 1e-5 floor is for gradients that are zero or nearly so, where a relative
// bound means nothing in float).
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "models/ncf/ncf_model.h"
#include "tests/models/ncf_reference.h"

namespace psrec::models {
namespace {

std::vector<float> Random(size_t n, uint32_t seed, float std) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0, std);
  std::vector<float> v(n);
  for (float& x : v) x = normal(rng);
  return v;
}

std::vector<double> ToDouble(const std::vector<float>& v) { return {v.begin(), v.end()}; }

config::ModelConfig NcfConfig(config::ModelConfig::Type type) {
  config::ModelConfig config;
  config.set_type(type);
  config.set_dim(4);
  config.set_mlp_layers("8,6,3");
  config.set_l2_factors(0.03f);
  config.set_l2_dense(0.02f);
  return config;
}

// Three users, four items, seven examples: repeated users and items, both labels.
struct NcfBatch {
  std::vector<uint32_t> user = {0, 1, 0, 2, 1, 2, 0};
  std::vector<uint32_t> item = {1, 2, 3, 0, 1, 1, 2};
  std::vector<float> labels = {1, 0, 0, 1, 1, 0, 1};
  std::vector<float> users, items, dense;

  explicit NcfBatch(const NcfModel& model, uint32_t seed = 1) {
    const auto floats = static_cast<size_t>(model.network().shape().row_floats());
    users = Random(3 * floats, seed, 0.5f);
    items = Random(4 * floats, seed + 1, 0.5f);
    dense = Random(model.network().dense_floats(), seed + 2, 0.4f);
  }
};

NcfReference ReferenceOf(const NcfModel& model, const config::ModelConfig& config) {
  return {model.network().shape(), model.network().params(), config.l2_factors(),
          config.l2_dense()};
}

void ExpectGradientsMatch(config::ModelConfig::Type type) {
  const config::ModelConfig config = NcfConfig(type);
  const NcfModel model(config);
  NcfBatch b(model);
  const auto floats = static_cast<size_t>(model.network().shape().row_floats());
  std::vector<float> user_grads(b.users.size(), 0), item_grads(b.items.size(), 0);
  std::vector<float> dense_grads(b.dense.size(), 0);
  RowLookup fields[2];
  fields[0] = {b.users.data(), nullptr, floats, b.user.data(), 1, user_grads.data()};
  fields[1] = {b.items.data(), nullptr, floats, b.item.data(), 1, item_grads.data()};
  const DenseView dense[1] = {{b.dense.data(), dense_grads.data(), nullptr, b.dense.size(), {}}};
  const ExampleBatch batch{b.user.size(), b.labels.data(), 1, fields, {}, dense};
  const double loss = model.AccumulateGradients(batch);

  const NcfReference ref = ReferenceOf(model, config);
  std::vector<double> users = ToDouble(b.users), items = ToDouble(b.items),
                      params = ToDouble(b.dense);
  auto objective = [&] { return ref.Objective(params, users, items, b.user, b.item, b.labels); };
  // The returned loss is the log loss alone.
  NcfReference no_l2 = ref;
  no_l2.l2_factors = no_l2.l2_dense = 0;
  EXPECT_NEAR(loss, no_l2.Objective(params, users, items, b.user, b.item, b.labels), 1e-4);

  const double h = 1e-4;
  struct Tensor {
    const char* what;
    std::vector<double>* values;
    const std::vector<float>* grads;
  };
  size_t checked = 0;
  for (const Tensor& t : {Tensor{"user", &users, &user_grads}, Tensor{"item", &items, &item_grads},
                          Tensor{"dense", &params, &dense_grads}}) {
    for (size_t x = 0; x < t.values->size(); ++x) {
      const double saved = (*t.values)[x];
      (*t.values)[x] = saved + h;
      const double up = objective();
      (*t.values)[x] = saved - h;
      const double down = objective();
      (*t.values)[x] = saved;
      const double numeric = (up - down) / (2 * h);
      EXPECT_NEAR((*t.grads)[x], numeric, 1e-3 * std::abs(numeric) + 1e-5)
          << config::ModelConfig::Type_Name(type) << " " << t.what << " float " << x;
      ++checked;
    }
  }
  EXPECT_EQ(checked, b.users.size() + b.items.size() + model.network().dense_floats());
}

TEST(NcfGradientsTest, GmfMatchesFiniteDifferences) {
  ExpectGradientsMatch(config::ModelConfig::GMF);
}
TEST(NcfGradientsTest, MlpMatchesFiniteDifferences) {
  ExpectGradientsMatch(config::ModelConfig::MLP);
}
TEST(NcfGradientsTest, NeuMfMatchesFiniteDifferences) {
  ExpectGradientsMatch(config::ModelConfig::NEUMF);
}

TEST(NcfGradientsTest, DenseLayoutFollowsTheTower) {
  const NcfModel neumf(NcfConfig(config::ModelConfig::NEUMF));
  std::vector<std::string> names;
  std::vector<std::pair<int, int>> shapes;
  for (const DenseParam& p : neumf.network().params()) {
    names.push_back(p.name);
    shapes.emplace_back(p.rows, p.cols);
  }
  EXPECT_EQ(names, (std::vector<std::string>{"mlp.0.weight", "mlp.0.bias", "mlp.1.weight",
                                             "mlp.1.bias", "out.weight", "out.bias"}));
  // "8,6,3" over dim 4: W 6x8, 3x6; the output reads 4 GMF products and 3 tower units.
  EXPECT_EQ(shapes, (std::vector<std::pair<int, int>>{{6, 8}, {6, 1}, {3, 6}, {3, 1}, {1, 7}, {1, 1}}));
  EXPECT_EQ(neumf.network().dense_floats(), 48u + 6 + 18 + 3 + 7 + 1);
  ASSERT_EQ(neumf.tables().size(), 3u);
  EXPECT_EQ(neumf.tables()[0].payload_floats, 8);  // 4 GMF + 4 MLP
  EXPECT_EQ(neumf.tables()[2].keyed_by, KeyedBy::kDense);
  EXPECT_EQ(neumf.tables()[2].dense_blocks(), 1);
  EXPECT_TRUE(neumf.ScoresUserItem());
}

}  // namespace
}  // namespace psrec::models
