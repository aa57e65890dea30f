// NeuMF composed from a GMF and an MLP (models/ncf/ncf_pretrain.h): its logit is
// alpha z_gmf + (1 - alpha) z_mlp for every pair, and networks that do not fit are refused.
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "models/ncf/ncf_model.h"
#include "models/ncf/ncf_pretrain.h"

namespace psrec::models {
namespace {

std::vector<float> Random(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0, 0.5f);
  std::vector<float> v(n);
  for (float& x : v) x = normal(rng);
  return v;
}

NcfModel Make(config::ModelConfig::Type type, const char* layers = "8,6,3") {
  config::ModelConfig config;
  config.set_type(type);
  config.set_dim(4);
  config.set_mlp_layers(layers);
  return NcfModel(config);
}

TEST(NcfPretrainTest, ComposedLogitIsTheWeightedSumOfBoth) {
  NcfModel gmf = Make(config::ModelConfig::GMF), mlp = Make(config::ModelConfig::MLP);
  NcfModel neumf = Make(config::ModelConfig::NEUMF);
  const std::vector<float> gmf_dense = Random(gmf.network().dense_floats(), 1);
  const std::vector<float> mlp_dense = Random(mlp.network().dense_floats(), 2);
  std::vector<float> neumf_dense(neumf.network().dense_floats(), -7.0f);
  ASSERT_TRUE(ComposeNeuMfDense(gmf.network(), gmf_dense, mlp.network(), mlp_dense, 0.3f,
                                neumf.network(), neumf_dense)
                  .ok());
  gmf.SetScoringDense({gmf_dense});
  mlp.SetScoringDense({mlp_dense});
  neumf.SetScoringDense({neumf_dense});
  const std::vector<float> gmf_rows = Random(2 * 4, 3), mlp_rows = Random(2 * 4, 4);
  std::vector<float> neumf_rows(2 * 8);
  for (size_t r = 0; r < 2; ++r) {
    ComposeNeuMfRow({&gmf_rows[r * 4], 4}, {&mlp_rows[r * 4], 4}, {&neumf_rows[r * 8], 8});
  }
  const float* g[2] = {&gmf_rows[0], &gmf_rows[4]};
  const float* m[2] = {&mlp_rows[0], &mlp_rows[4]};
  const float* n[2] = {&neumf_rows[0], &neumf_rows[8]};
  EXPECT_NEAR(neumf.Score(n), 0.3f * gmf.Score(g) + 0.7f * mlp.Score(m), 1e-5);
}

TEST(NcfPretrainTest, NetworksThatDoNotFitAreRefused) {
  const NcfModel gmf = Make(config::ModelConfig::GMF), mlp = Make(config::ModelConfig::MLP);
  const NcfModel other_tower = Make(config::ModelConfig::MLP, "8,4");
  const NcfModel neumf = Make(config::ModelConfig::NEUMF);
  std::vector<float> g(gmf.network().dense_floats()), m(64), out(neumf.network().dense_floats());
  const Status s = ComposeNeuMfDense(gmf.network(), g, other_tower.network(), m, 0.5f,
                                     neumf.network(), out);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("mlp_layers \"8,4\""), std::string::npos) << s.message();
  EXPECT_FALSE(ComposeNeuMfDense(mlp.network(), m, gmf.network(), g, 0.5f, neumf.network(), out).ok());
}

}  // namespace
}  // namespace psrec::models
