#include "models/registry.h"

#include <functional>

#include "models/bpr/bpr_mf.h"
#include "models/logistic/logistic_mf.h"
#include "models/mf/biased_mf.h"
#include "models/weighted_dot/weighted_dot.h"
#include "models/ncf/ncf_model.h"

namespace psrec::models {
namespace {

struct Registration {
  config::ModelConfig::Type type;
  std::function<std::unique_ptr<Model>(const config::ModelConfig&)> create;
};

// One line per model.
const Registration kModels[] = {
    {config::ModelConfig::BIASED_MF,
     [](const config::ModelConfig& c) { return std::make_unique<BiasedMf>(c); }},
    {config::ModelConfig::BPR_MF,
     [](const config::ModelConfig& c) { return std::make_unique<BprMf>(c); }},
    {config::ModelConfig::LOGISTIC_MF,
     [](const config::ModelConfig& c) { return std::make_unique<LogisticMf>(c); }},
    {config::ModelConfig::WEIGHTED_DOT,
     [](const config::ModelConfig& c) { return std::make_unique<WeightedDot>(c); }},
    // NCF: one class, the type picks the network (models/ncf/ncf_model.h).
    {config::ModelConfig::GMF,
     [](const config::ModelConfig& c) { return std::make_unique<NcfModel>(c); }},
    {config::ModelConfig::MLP,
     [](const config::ModelConfig& c) { return std::make_unique<NcfModel>(c); }},
    {config::ModelConfig::NEUMF,
     [](const config::ModelConfig& c) { return std::make_unique<NcfModel>(c); }},
};

}  // namespace

Result<std::unique_ptr<Model>> CreateModel(const config::ModelConfig& config) {
  for (const Registration& model : kModels) {
    if (model.type == config.type()) return model.create(config);
  }
  return Status::InvalidArgument("model.type: no model registered for " +
                                 config::ModelConfig::Type_Name(config.type()));
}

std::vector<std::string> RegisteredModelNames() {
  std::vector<std::string> names;
  for (const Registration& model : kModels) {
    names.push_back(config::ModelConfig::Type_Name(model.type));
  }
  return names;
}

}  // namespace psrec::models
