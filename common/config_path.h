// Field paths of the job config, e.g. "tables.item.optimizer.learning_rate", resolved by
// protobuf reflection: what --set overrides, range rules and error locations name.
//
// Thread safety: pure functions of their arguments.
#pragma once

#include <string>
#include <vector>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>

#include "common/status.h"

namespace psrec {

// "a.b.c" -> {"a", "b", "c"}.
std::vector<std::string> SplitPath(const std::string& path);

// The index of the entry of repeated message field `f` of `msg` whose `name` is `name`, or
// -1 when there is none.
int NamedEntryIndex(const google::protobuf::Message& msg,
                    const google::protobuf::FieldDescriptor* f, const std::string& name);

// Walks `path` from `root`; returns the message holding the last field and the field, or
// an error naming the first unknown component. An entry of a repeated message with a
// `name` field (tables) is named by the next component: "tables.user.placement". Creates
// nothing when `mutate` is false; then a named entry that does not exist reads as defaults.
Status ResolveField(const std::string& path, google::protobuf::Message* root, bool mutate,
                    google::protobuf::Message** holder,
                    const google::protobuf::FieldDescriptor** field);

// The value of numeric scalar field `f` of `msg` as a double. REQUIRES: f is numeric.
double NumericValue(const google::protobuf::Message& msg,
                    const google::protobuf::FieldDescriptor* f);

}  // namespace psrec
