#include "common/config.h"
#include "common/config_path.h"
#include "common/config_ranges.h"

#include <algorithm>
#include <cctype>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <limits>
#include <set>
#include <sstream>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/text_format.h>

namespace psrec {
namespace {

namespace pb = google::protobuf;

constexpr double kInf = kRangeUnbounded;

std::string FormatBound(double v) {
  std::ostringstream out;
  out << v;
  return out.str();
}

// Locates a field path in the parse tree of the config file.
using Locator = std::function<std::string(const std::string& path)>;

Status ValidateWithLocator(const config::JobConfig& job, const Locator& locate) {
  auto fail = [&](const std::string& path, const std::string& reason) {
    std::string where = locate ? locate(path) : "";
    return Status::InvalidArgument((where.empty() ? "" : where + ": ") + path + ": " + reason);
  };
  std::set<std::string> table_names;
  for (int t = 0; t < job.tables_size(); ++t) {
    const std::string& name = job.tables(t).name();
    if (name.empty()) return fail("tables", "entry " + std::to_string(t + 1) + " has no name");
    // Field paths (range rules, --set tables.<name>.<field>) address a table by its name
    // between dots, so a name must be one path component (found by fuzz_job_config: a '.'
    // in a name failed a CHECK here).
    const bool component = std::all_of(name.begin(), name.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
    });
    if (!component) {
      return fail("tables", "entry " + std::to_string(t + 1) + " has name '" + name +
                                "': a table name holds only letters, digits, '_' and '-'");
    }
    if (!table_names.insert(name).second) {
      return fail("tables." + name, "named twice (one entry per table)");
    }
  }
  for (const RangeRule& rule : RangeRules()) {
    // A rule on "tables.*" applies to each table the config names.
    std::vector<std::string> paths;
    const std::string rule_path = rule.path;
    const size_t star = rule_path.find(".*.");
    if (star == std::string::npos) {
      paths.push_back(rule_path);
    } else {
      for (const std::string& name : table_names) {
        paths.push_back(rule_path.substr(0, star) + "." + name + rule_path.substr(star + 2));
      }
    }
    for (const std::string& path : paths) {
      pb::Message* holder = nullptr;
      const pb::FieldDescriptor* field = nullptr;
      CHECK(ResolveField(path, const_cast<config::JobConfig*>(&job), false, &holder, &field)
                .ok())
          << "range rule names an unknown field: " << path;
      double v = NumericValue(*holder, field);
      bool low = rule.min_open ? !(v > rule.min) : !(v >= rule.min);
      bool high = rule.max_open ? !(v < rule.max) : !(v <= rule.max);
      if (std::isnan(v) || low || high) {
        std::string range = std::string(rule.min_open ? "(" : "[") + FormatBound(rule.min) +
                            ", " + (rule.max == kInf ? "inf" : FormatBound(rule.max)) +
                            (rule.max_open || rule.max == kInf ? ")" : "]");
        return fail(path, "value " + FormatBound(v) + " is outside " + range);
      }
    }
  }
  for (const config::TableConfig& table : job.tables()) {
    if (table.optimizer().kind() == config::OptimizerConfig::FTRL &&
        table.optimizer().lr_decay() != 1.0f) {
      // FTRL recomputes w from z and n with alpha at every step, and a new row's z holds
      // its initial value for one alpha (table/ftrl_optimizer.h).
      return fail("tables." + table.name() + ".optimizer.lr_decay",
                  "must be 1 with kind FTRL (FTRL's rate alpha / (ftrl_beta + sqrt(n)) is its "
                  "own schedule), got " + FormatBound(table.optimizer().lr_decay()));
    }
  }
  if (job.training().update_mode() == config::DELTAS &&
      job.training().consistency() == config::BSP && job.training().clock_every() > 1) {
    // A BSP server applies a clock's pushes once every worker has finished the clock, and a
    // DELTAS worker must pull rows that hold its own previous changes.
    return fail("training.clock_every",
                "must be 1 for update_mode DELTAS under BSP (a worker would pull rows without "
                "its own changes of the same clock and repeat their steps)");
  }
  if (const auto type = job.model().type();
      job.training().rating_order() == config::BY_TILE &&
      (type == config::ModelConfig::WEIGHTED_DOT || type == config::ModelConfig::GMF ||
       type == config::ModelConfig::MLP || type == config::ModelConfig::NEUMF)) {
    // A batch is stepped tile by tile, and a model's dense table once per step call.
    return fail("training.rating_order",
                "BY_TILE is for models without a dense table (BIASED_MF, BPR_MF, LOGISTIC_MF)");
  }
  if (job.training().compute_threads() > 1) {
    // Concurrent tiles must share no row: only the user and item rows of explicit ratings
    // (no sampled negatives from any item block, no dense table every example steps).
    const config::TrainingConfig& t = job.training();
    if (t.update_mode() != config::DELTAS || t.rating_order() != config::BY_TILE ||
        job.model().type() != config::ModelConfig::BIASED_MF) {
      return fail("training.compute_threads",
                  "more than 1 needs update_mode DELTAS, rating_order BY_TILE and model type "
                  "BIASED_MF (tiles stepped at once must share no row)");
    }
  }
  if (const auto& m = job.model(); m.type() == config::ModelConfig::MLP ||
                                    m.type() == config::ModelConfig::NEUMF) {
    if (Result<std::vector<int>> layers = ParseMlpLayers(m.mlp_layers()); !layers.ok()) {
      return fail("model.mlp_layers", layers.status().message());
    }
  }
  if (job.data().implicit().recency_half_life() > 0 &&
      job.training().update_mode() == config::FEDERATED) {
    // Federated clients train on their own positives directly (train/federated_client.cc),
    // not through the batch expansion that samples by weight.
    return fail("data.implicit.recency_half_life",
                "is not supported with training.update_mode FEDERATED");
  }
  if (const auto& m = job.model(); m.has_pretrain()) {
    if (m.type() != config::ModelConfig::NEUMF) {
      return fail("model.pretrain", "only model.type NEUMF starts from pretrained models, got " +
                                        config::ModelConfig::Type_Name(m.type()));
    }
    if (m.pretrain().gmf_checkpoint().empty()) {
      return fail("model.pretrain.gmf_checkpoint", "must name a GMF job's checkpoint");
    }
    if (m.pretrain().mlp_checkpoint().empty()) {
      return fail("model.pretrain.mlp_checkpoint", "must name an MLP job's checkpoint");
    }
  }
  if (job.data().min_rating() > job.data().max_rating()) {
    return fail("data.min_rating", "greater than data.max_rating");
  }
  if (job.data().train_path().empty() && !job.data().has_synthetic()) {
    return fail("data.train_path", "set data.train_path or data.synthetic");
  }
  const auto& cols = job.data().delimited();
  if (job.data().format() == config::DELIMITED && cols.delimiter().empty()) {
    return fail("data.delimited.delimiter", "must not be empty");
  }
  return Status::OK();
}

class CollectFirstError : public pb::io::ErrorCollector {
 public:
  explicit CollectFirstError(std::string source) : source_(std::move(source)) {}
  void AddError(int line, pb::io::ColumnNumber column, const std::string& message) override {
    if (!first_.empty()) return;
    first_ = source_ + ":" + std::to_string(line + 1) + ":" + std::to_string(column + 1) + ": " +
             message;
  }
  void AddWarning(int, pb::io::ColumnNumber, const std::string&) override {}
  const std::string& first() const { return first_; }

 private:
  std::string source_;
  std::string first_;
};

void FillDefaults(pb::Message* msg) {
  const pb::Descriptor* d = msg->GetDescriptor();
  const pb::Reflection* r = msg->GetReflection();
  for (int i = 0; i < d->field_count(); ++i) {
    const pb::FieldDescriptor* f = d->field(i);
    if (f->is_repeated()) {
      if (f->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE) {
        for (int j = 0; j < r->FieldSize(*msg, f); ++j) {
          FillDefaults(r->MutableRepeatedMessage(msg, f, j));
        }
      }
      continue;
    }
    switch (f->cpp_type()) {
      case pb::FieldDescriptor::CPPTYPE_MESSAGE: FillDefaults(r->MutableMessage(msg, f)); break;
      case pb::FieldDescriptor::CPPTYPE_INT32: r->SetInt32(msg, f, r->GetInt32(*msg, f)); break;
      case pb::FieldDescriptor::CPPTYPE_INT64: r->SetInt64(msg, f, r->GetInt64(*msg, f)); break;
      case pb::FieldDescriptor::CPPTYPE_UINT32: r->SetUInt32(msg, f, r->GetUInt32(*msg, f)); break;
      case pb::FieldDescriptor::CPPTYPE_UINT64: r->SetUInt64(msg, f, r->GetUInt64(*msg, f)); break;
      case pb::FieldDescriptor::CPPTYPE_FLOAT: r->SetFloat(msg, f, r->GetFloat(*msg, f)); break;
      case pb::FieldDescriptor::CPPTYPE_DOUBLE: r->SetDouble(msg, f, r->GetDouble(*msg, f)); break;
      case pb::FieldDescriptor::CPPTYPE_BOOL: r->SetBool(msg, f, r->GetBool(*msg, f)); break;
      case pb::FieldDescriptor::CPPTYPE_ENUM: r->SetEnum(msg, f, r->GetEnum(*msg, f)); break;
      case pb::FieldDescriptor::CPPTYPE_STRING: r->SetString(msg, f, r->GetString(*msg, f)); break;
    }
  }
}

}  // namespace

Status ApplyOverride(const std::string& assignment, config::JobConfig* job) {
  auto eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0) {
    return Status::InvalidArgument("--set " + assignment + ": expected field.path=value");
  }
  std::string path = assignment.substr(0, eq);
  std::string value = assignment.substr(eq + 1);
  pb::Message* holder = nullptr;
  const pb::FieldDescriptor* field = nullptr;
  Status s = ResolveField(path, job, true, &holder, &field);
  if (!s.ok()) return Status::InvalidArgument("--set " + assignment + ": " + s.message());
  if (field->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE) {
    return Status::InvalidArgument("--set " + assignment + ": " + path +
                                   " is a message; set one of its fields");
  }
  // Strings may be given bare on a command line; quote them for the text-format parser.
  if (field->cpp_type() == pb::FieldDescriptor::CPPTYPE_STRING &&
      (value.empty() || value.front() != '"')) {
    std::string quoted = "\"";
    for (char c : value) {
      if (c == '"' || c == '\\') quoted += '\\';
      quoted += c;
    }
    value = quoted + "\"";
  }
  if (!pb::TextFormat::ParseFieldValueFromString(value, field, holder)) {
    return Status::InvalidArgument("--set " + assignment + ": " + path + ": '" +
                                   assignment.substr(eq + 1) + "' is not a valid " +
                                   field->cpp_type_name() + " value");
  }
  return Status::OK();
}

Result<config::JobConfig> ParseJobConfig(const std::string& text, const std::string& source,
                                         const std::vector<std::string>& overrides) {
  config::JobConfig job;
  pb::TextFormat::Parser parser;
  CollectFirstError errors(source);
  parser.RecordErrorsTo(&errors);
  pb::TextFormat::ParseInfoTree tree;
  parser.WriteLocationsTo(&tree);
  if (!parser.ParseFromString(text, &job)) {
    std::string message =
        errors.first().empty() ? source + ": not a valid JobConfig" : errors.first();
    if (message.find("\"user_table\"") != std::string::npos ||
        message.find("\"item_table\"") != std::string::npos) {
      // Configs written before tables were named by the model.
      message += " (tables are named now: write tables { name: \"user\" ... } and "
                 "tables { name: \"item\" ... }; `psrec config print` shows the form)";
    }
    return Status::InvalidArgument(message);
  }
  std::vector<std::string> overridden;
  for (const std::string& o : overrides) {
    RETURN_IF_ERROR(ApplyOverride(o, &job));
    overridden.push_back(o);
  }
  Locator locate = [&](const std::string& path) -> std::string {
    for (auto it = overridden.rbegin(); it != overridden.rend(); ++it) {
      if (it->compare(0, path.size() + 1, path + "=") == 0) return "--set " + *it;
    }
    const pb::TextFormat::ParseInfoTree* node = &tree;
    const pb::Message* msg = &job;
    std::vector<std::string> parts = SplitPath(path);
    for (size_t i = 0; i < parts.size() && node != nullptr; ++i) {
      const pb::FieldDescriptor* f = msg->GetDescriptor()->FindFieldByName(parts[i]);
      if (f == nullptr) return "";
      if (f->is_repeated()) {  // a named entry (tables.<name>): its index in the file
        if (i + 1 >= parts.size() || f->cpp_type() != pb::FieldDescriptor::CPPTYPE_MESSAGE) {
          return "";
        }
        const int index = NamedEntryIndex(*msg, f, parts[i + 1]);
        if (index < 0) return "";
        if (i + 2 == parts.size()) {
          pb::TextFormat::ParseLocation loc = node->GetLocation(f, index);
          if (loc.line < 0) return "";
          return source + ":" + std::to_string(loc.line + 1) + ":" +
                 std::to_string(loc.column + 1);
        }
        node = node->GetTreeForNested(f, index);
        msg = &msg->GetReflection()->GetRepeatedMessage(*msg, f, index);
        ++i;
        continue;
      }
      if (i + 1 == parts.size()) {
        pb::TextFormat::ParseLocation loc = node->GetLocation(f, -1);
        if (loc.line < 0) return "";
        return source + ":" + std::to_string(loc.line + 1) + ":" + std::to_string(loc.column + 1);
      }
      node = node->GetTreeForNested(f, -1);
      msg = &msg->GetReflection()->GetMessage(*msg, f);
    }
    return "";
  };
  RETURN_IF_ERROR(ValidateWithLocator(job, locate));
  return job;
}

Result<config::JobConfig> LoadJobConfig(const std::string& path,
                                        const std::vector<std::string>& overrides) {
  std::string text;
  if (!path.empty()) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return Status::NotFound(path + ": cannot open config file");
    std::stringstream buf;
    buf << in.rdbuf();
    text = buf.str();
  }
  return ParseJobConfig(text, path.empty() ? "<defaults>" : path, overrides);
}

Result<std::vector<int>> ParseMlpLayers(const std::string& text) {
  std::vector<int> widths;
  // Every comma separates two widths ("64,8," has an empty third one).
  for (size_t start = 0; start <= text.size() && !text.empty();) {
    size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    const std::string part = text.substr(start, comma - start);
    start = comma + 1;
    char* end = nullptr;
    const long width = std::strtol(part.c_str(), &end, 10);
    if (part.empty() || *end != '\0' || width < 1 || width > 4096) {
      return Status::InvalidArgument("\"" + text + "\": '" + part +
                                     "' is not a width in [1, 4096]");
    }
    widths.push_back(static_cast<int>(width));
  }
  if (widths.empty()) return Status::InvalidArgument("\"\": expected widths such as 64,32,16,8");
  if (widths[0] % 2 != 0) {
    return Status::InvalidArgument("\"" + text + "\": the first width (the input, user and item " +
                                   "halves concatenated) must be even");
  }
  return widths;
}

Status ValidateJobConfig(const config::JobConfig& job) { return ValidateWithLocator(job, nullptr); }

std::string EffectiveConfigText(const config::JobConfig& job) {
  config::JobConfig full = job;
  FillDefaults(&full);
  // Fields whose presence is a switch stay absent when they were: filled in, the text would
  // turn DP (clip_norm, target_epsilon), the buffered schedule or NCF pretraining on when
  // read back.
  if (!job.model().has_pretrain()) full.mutable_model()->clear_pretrain();
  config::FederatedConfig* federated = full.mutable_training()->mutable_federated();
  const config::FederatedConfig& given = job.training().federated();
  if (!given.has_clip_norm()) federated->clear_clip_norm();
  if (!given.has_target_epsilon()) federated->clear_target_epsilon();
  if (!given.has_buffered()) federated->clear_buffered();
  std::string out;
  pb::TextFormat::PrintToString(full, &out);
  return out;
}

}  // namespace psrec
