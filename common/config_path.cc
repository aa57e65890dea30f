// Field paths of the job config ("tables.item.optimizer.learning_rate") resolved by
// reflection: common/config_path.h.
#include "common/config_path.h"

#include <sstream>

#include <glog/logging.h>

namespace psrec {

namespace pb = google::protobuf;

namespace {

// The entry of repeated message field `f` of `msg` whose `name` is `name`; created (with
// that name) when `mutate`, else null when there is none.
pb::Message* NamedEntry(pb::Message* msg, const pb::FieldDescriptor* f, const std::string& name,
                        bool mutate) {
  const pb::Reflection* r = msg->GetReflection();
  if (const int j = NamedEntryIndex(*msg, f, name); j >= 0) {
    return r->MutableRepeatedMessage(msg, f, j);
  }
  if (!mutate) return nullptr;
  pb::Message* entry = r->AddMessage(msg, f);
  entry->GetReflection()->SetString(entry, entry->GetDescriptor()->FindFieldByName("name"),
                                    name);
  return entry;
}

}  // namespace

std::vector<std::string> SplitPath(const std::string& path) {
  std::vector<std::string> parts;
  std::stringstream in(path);
  std::string part;
  while (std::getline(in, part, '.')) parts.push_back(part);
  return parts;
}

int NamedEntryIndex(const pb::Message& msg, const pb::FieldDescriptor* f,
                    const std::string& name) {
  const pb::Reflection* r = msg.GetReflection();
  for (int j = 0; j < r->FieldSize(msg, f); ++j) {
    const pb::Message& entry = r->GetRepeatedMessage(msg, f, j);
    const pb::FieldDescriptor* name_field = entry.GetDescriptor()->FindFieldByName("name");
    if (entry.GetReflection()->GetString(entry, name_field) == name) return j;
  }
  return -1;
}

Status ResolveField(const std::string& path, pb::Message* root, bool mutate,
                    pb::Message** holder, const pb::FieldDescriptor** field) {
  std::vector<std::string> parts = SplitPath(path);
  if (parts.empty()) return Status::InvalidArgument("empty field path");
  pb::Message* msg = root;
  for (size_t i = 0; i < parts.size(); ++i) {
    const pb::FieldDescriptor* f = msg->GetDescriptor()->FindFieldByName(parts[i]);
    if (f == nullptr) {
      return Status::InvalidArgument("no field '" + parts[i] + "' in " +
                                     msg->GetDescriptor()->name());
    }
    if (f->is_repeated()) {
      const bool named = f->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE &&
                         f->message_type()->FindFieldByName("name") != nullptr;
      if (!named) return Status::InvalidArgument("repeated field '" + parts[i] + "'");
      if (i + 2 >= parts.size()) {
        return Status::InvalidArgument("'" + parts[i] + "' needs an entry name and a field, as in " +
                                       parts[i] + ".<name>.<field>");
      }
      pb::Message* entry = NamedEntry(msg, f, parts[i + 1], mutate);
      if (entry == nullptr) {
        entry = const_cast<pb::Message*>(
            pb::MessageFactory::generated_factory()->GetPrototype(f->message_type()));
      }
      msg = entry;
      ++i;
      continue;
    }
    if (i + 1 == parts.size()) {
      *holder = msg;
      *field = f;
      return Status::OK();
    }
    if (f->cpp_type() != pb::FieldDescriptor::CPPTYPE_MESSAGE) {
      return Status::InvalidArgument("'" + parts[i] + "' is not a message");
    }
    msg = mutate ? msg->GetReflection()->MutableMessage(msg, f)
                 : const_cast<pb::Message*>(&msg->GetReflection()->GetMessage(*msg, f));
  }
  return Status::Internal("unreachable");
}

double NumericValue(const pb::Message& msg, const pb::FieldDescriptor* f) {
  const pb::Reflection* r = msg.GetReflection();
  switch (f->cpp_type()) {
    case pb::FieldDescriptor::CPPTYPE_INT32: return r->GetInt32(msg, f);
    case pb::FieldDescriptor::CPPTYPE_INT64: return static_cast<double>(r->GetInt64(msg, f));
    case pb::FieldDescriptor::CPPTYPE_UINT32: return r->GetUInt32(msg, f);
    case pb::FieldDescriptor::CPPTYPE_UINT64: return static_cast<double>(r->GetUInt64(msg, f));
    case pb::FieldDescriptor::CPPTYPE_FLOAT: return r->GetFloat(msg, f);
    case pb::FieldDescriptor::CPPTYPE_DOUBLE: return r->GetDouble(msg, f);
    default: CHECK(false) << "not numeric: " << f->full_name(); return 0;
  }
}

}  // namespace psrec
