#include "checkpoint/job_identity.h"

#include <charconv>
#include <filesystem>
#include <map>
#include <sstream>
#include <vector>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>

#include "common/checksum.h"

namespace psrec::checkpoint {

namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;

std::string AbsolutePath(const std::string& path) {
  if (path.empty()) return path;
  std::error_code ec;
  std::filesystem::path absolute = std::filesystem::absolute(path, ec);
  return ec ? path : absolute.lexically_normal().string();
}

// The shortest text that reads back as the same value ("0.05", not "0.050000000000000003").
template <typename T>
std::string Number(T value) {
  char buf[64];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), value);
  return ec == std::errc() ? std::string(buf, end) : std::string("?");
}

std::string ValueText(const Message& m, const FieldDescriptor* f) {
  const auto* r = m.GetReflection();
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32: return std::to_string(r->GetInt32(m, f));
    case FieldDescriptor::CPPTYPE_INT64: return std::to_string(r->GetInt64(m, f));
    case FieldDescriptor::CPPTYPE_UINT32: return std::to_string(r->GetUInt32(m, f));
    case FieldDescriptor::CPPTYPE_UINT64: return std::to_string(r->GetUInt64(m, f));
    case FieldDescriptor::CPPTYPE_DOUBLE: return Number(r->GetDouble(m, f));
    case FieldDescriptor::CPPTYPE_FLOAT: return Number(r->GetFloat(m, f));
    case FieldDescriptor::CPPTYPE_BOOL: return r->GetBool(m, f) ? "true" : "false";
    case FieldDescriptor::CPPTYPE_ENUM: return std::string(r->GetEnum(m, f)->name());
    case FieldDescriptor::CPPTYPE_STRING: {
      std::string quoted(1, '\'');
      quoted += r->GetString(m, f);
      quoted += '\'';
      return quoted;
    }
    case FieldDescriptor::CPPTYPE_MESSAGE: break;
  }
  return "?";
}

// "prefix.field=value" lines for every singular field, effective values, schema order.
void Describe(const Message& m, const std::string& prefix, std::string* out) {
  const auto* d = m.GetDescriptor();
  for (int i = 0; i < d->field_count(); ++i) {
    const FieldDescriptor* f = d->field(i);
    const std::string name = prefix + "." + std::string(f->name());
    if (f->is_repeated()) continue;  // DataConfig has none; a future one is not data identity
    if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      // Other sub-messages hold settings whose defaults apply when unset; a synthetic
      // generator that is not set is not a data set.
      if (f->name() == "synthetic" && !m.GetReflection()->HasField(m, f)) {
        *out += name + "=unset\n";
        continue;
      }
      Describe(m.GetReflection()->GetMessage(m, f), name, out);
    } else {
      *out += name + "=" + ValueText(m, f) + "\n";
    }
  }
}

// name -> value of a description.
std::map<std::string, std::string> Lines(const std::string& description) {
  std::map<std::string, std::string> lines;
  std::istringstream in(description);
  for (std::string line; std::getline(in, line);) {
    const size_t eq = line.find('=');
    if (eq != std::string::npos) lines[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return lines;
}

}  // namespace

checkpoint::JobIdentity JobIdentityOf(const config::JobConfig& job) {
  config::DataConfig data = job.data();
  data.set_train_path(AbsolutePath(data.train_path()));
  data.set_test_path(AbsolutePath(data.test_path()));
  // The generator's settings are the data only when the job generates it (data/dataset.cc).
  if (!data.train_path().empty()) data.clear_synthetic();
  std::string description;
  Describe(data, "data", &description);

  checkpoint::JobIdentity identity;
  identity.set_job_id(job.job_id());
  identity.set_model_type(config::ModelConfig::Type_Name(job.model().type()));
  identity.set_data_hash(Checksum64::Of(description.data(), description.size()));
  identity.set_data_description(std::move(description));
  return identity;
}

Status CheckSameJob(const checkpoint::JobIdentity& saved, const checkpoint::JobIdentity& current,
                    const std::string& dir) {
  std::vector<std::string> differences;
  if (saved.job_id() != current.job_id()) {
    differences.push_back("job id '" + saved.job_id() + "' (checkpoint) vs '" + current.job_id() +
                          "' (this job)");
  }
  if (saved.model_type() != current.model_type()) {
    differences.push_back("model " + saved.model_type() + " (checkpoint) vs " +
                          current.model_type() + " (this job)");
  }
  if (saved.data_hash() != current.data_hash()) {
    const auto before = Lines(saved.data_description());
    const auto now = Lines(current.data_description());
    std::vector<std::string> fields;
    for (const auto& [name, value] : before) {
      auto it = now.find(name);
      const std::string other = it == now.end() ? "(absent)" : it->second;
      if (other != value) fields.push_back(name + " " + value + " (checkpoint) vs " + other + " (this job)");
    }
    for (const auto& [name, value] : now) {
      if (!before.contains(name)) fields.push_back(name + " (absent) (checkpoint) vs " + value + " (this job)");
    }
    if (fields.empty()) fields.push_back("the data description's hash");  // a damaged field
    std::string text = "data: ";
    for (size_t i = 0; i < fields.size(); ++i) text += (i > 0 ? "; " : "") + fields[i];
    differences.push_back(std::move(text));
  }
  if (differences.empty()) return Status::OK();
  std::string message = dir + " was written by another job: ";
  for (size_t i = 0; i < differences.size(); ++i) {
    message += (i > 0 ? ", " : "") + differences[i];
  }
  return Status::InvalidArgument(
      message + ". Resume it anyway with --resume-other-job (its rows then start this job)");
}

}  // namespace psrec::checkpoint
