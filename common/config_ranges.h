// The numeric ranges of the job config's fields (the schema's [range ...] comments), checked
// by ValidateJobConfig (common/config.cc). One table, so that a new field's range is one line.
#pragma once

#include <limits>
#include <span>

namespace psrec {

inline constexpr double kRangeUnbounded = std::numeric_limits<double>::infinity();

// Bounds are inclusive unless the *_open flag says otherwise. A path "tables.*.x" applies to
// every table the config names.
struct RangeRule {
  const char* path;
  double min;
  double max;
  bool min_open = false;
  bool max_open = false;
};

// Every rule, in the order ValidateJobConfig checks them.
std::span<const RangeRule> RangeRules();

}  // namespace psrec
