// Loading, overriding, validating and printing job configs (common/proto/config.proto).
//
// A config is Protobuf text format. Unknown fields, malformed values and out-of-range values
// are errors of the form `path:line:col: field: reason`; overrides given as
// `--set a.b.c=value` are errors of the form `--set a.b.c=value: field: reason`.
// The effective config is the file, then the overrides in order, then the schema defaults.
//
// Thread safety: pure functions.
#pragma once

#include <string>
#include <vector>

#include "common/proto/config.pb.h"
#include "common/status.h"

namespace psrec {

// Parses `text` (named `source` in messages) as a JobConfig, applies `overrides`
// ("a.b.c=value" each) and validates the result.
Result<config::JobConfig> ParseJobConfig(const std::string& text, const std::string& source,
                                         const std::vector<std::string>& overrides);

// Reads the file at `path` (empty: start from the defaults) and calls ParseJobConfig.
Result<config::JobConfig> LoadJobConfig(const std::string& path,
                                        const std::vector<std::string>& overrides);

// Sets field `assignment` = "a.b.c=value" on `job`, creating the enclosing messages.
Status ApplyOverride(const std::string& assignment, config::JobConfig* job);

// Checks ranges and cross-field rules. `locate(field_path)` returns a prefix such as
// "job.textproto:12:3" for a field (or "" when unknown) so that errors point at the line.
Status ValidateJobConfig(const config::JobConfig& job);

// model.mlp_layers ("64,32,16,8") as widths: at least one, each in [1, 4096], the first
// even (the user's and the item's halves). An error quotes the text and says what is wrong.
Result<std::vector<int>> ParseMlpLayers(const std::string& text);

// The config with every field present (defaults filled in), as Protobuf text; fields whose
// presence switches a feature on (training.federated.clip_norm, target_epsilon, buffered)
// stay absent when they are, so the text reads back to the same job.
std::string EffectiveConfigText(const config::JobConfig& job);

}  // namespace psrec
