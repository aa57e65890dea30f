// The model registry: builds the model a job config names (model.type).
//
// Thread safety: pure functions.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/proto/config.pb.h"
#include "common/status.h"
#include "models/model.h"

namespace psrec::models {

// The model of `config.type`, unfitted. An error names a type no model registered.
Result<std::unique_ptr<Model>> CreateModel(const config::ModelConfig& config);

// The registered models' names, for help texts and messages.
std::vector<std::string> RegisteredModelNames();

}  // namespace psrec::models
