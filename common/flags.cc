#include "common/flags.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <sstream>

namespace psrec {
namespace {

Status ParseInt64(const std::string& flag, const std::string& text, int64_t* out) {
  errno = 0;
  char* end = nullptr;
  long long v = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || errno == ERANGE) {
    return Status::InvalidArgument("--" + flag + ": expected an integer, got '" + text + "'");
  }
  *out = v;
  return Status::OK();
}

Status ParseDouble(const std::string& flag, const std::string& text, double* out) {
  char* end = nullptr;
  double x = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0') {
    return Status::InvalidArgument("--" + flag + ": expected a number, got '" + text + "'");
  }
  *out = x;
  return Status::OK();
}

template <typename T>
std::string RangeText(T min, T max) {
  std::ostringstream out;
  out << "[" << min << ", ";
  const T unbounded = std::numeric_limits<T>::has_infinity ? std::numeric_limits<T>::infinity()
                                                            : std::numeric_limits<T>::max();
  if (max == unbounded) {
    out << "inf)";
  } else {
    out << max << "]";
  }
  return out.str();
}

}  // namespace

FlagSet::FlagSet(std::string command, std::string summary)
    : command_(std::move(command)), summary_(std::move(summary)) {}

FlagSet::Flag* FlagSet::Find(const std::string& name) {
  for (auto& f : flags_) if (f.name == name) return &f;
  return nullptr;
}
const FlagSet::Flag* FlagSet::Find(const std::string& name) const {
  for (auto& f : flags_) if (f.name == name) return &f;
  return nullptr;
}

void FlagSet::AddString(const std::string& name, std::string* out, const std::string& help,
                        bool required) {
  flags_.push_back({name, help, out->empty() ? "" : "'" + *out + "'", false, required, false,
                    [out](const std::string& v) { *out = v; return Status::OK(); }});
}

void FlagSet::AddInt(const std::string& name, int64_t* out, const std::string& help,
                     bool required) {
  flags_.push_back({name, help, std::to_string(*out), false, required, false,
                    [name, out](const std::string& v) { return ParseInt64(name, v, out); }});
}

void FlagSet::AddInt(const std::string& name, int* out, const std::string& help, bool required) {
  flags_.push_back({name, help, std::to_string(*out), false, required, false,
                    [name, out](const std::string& v) {
                      int64_t x = 0;
                      RETURN_IF_ERROR(ParseInt64(name, v, &x));
                      if (x < INT32_MIN || x > INT32_MAX) {
                        return Status::InvalidArgument("--" + name + ": out of range: " + v);
                      }
                      *out = static_cast<int>(x);
                      return Status::OK();
                    }});
}

void FlagSet::AddDouble(const std::string& name, double* out, const std::string& help,
                        bool required) {
  std::ostringstream def;
  def << *out;
  flags_.push_back({name, help, def.str(), false, required, false,
                    [name, out](const std::string& v) { return ParseDouble(name, v, out); }});
}

void FlagSet::AddOptionalInt(const std::string& name, std::optional<int>* out,
                             const std::string& help, int min, int max) {
  flags_.push_back({name, help, "", false, false, false,
                    [name, out, min, max](const std::string& v) {
                      int64_t x = 0;
                      Status parsed = ParseInt64(name, v, &x);
                      if (!parsed.ok() || x < min || x > max) {
                        return Status::InvalidArgument("--" + name + ": expected an integer in " +
                                                       RangeText(min, max) + ", got '" + v + "'");
                      }
                      *out = static_cast<int>(x);
                      return Status::OK();
                    }});
}

void FlagSet::AddOptionalDouble(const std::string& name, std::optional<double>* out,
                                const std::string& help, double min, double max) {
  flags_.push_back({name, help, "", false, false, false,
                    [name, out, min, max](const std::string& v) {
                      double x = 0;
                      Status parsed = ParseDouble(name, v, &x);
                      if (!parsed.ok() || !std::isfinite(x) || x < min || x > max) {
                        return Status::InvalidArgument("--" + name + ": expected a number in " +
                                                       RangeText(min, max) + ", got '" + v + "'");
                      }
                      *out = x;
                      return Status::OK();
                    }});
}

void FlagSet::AddBool(const std::string& name, bool* out, const std::string& help) {
  flags_.push_back({name, help, *out ? "true" : "false", true, false, false,
                    [name, out](const std::string& v) {
                      if (v == "true" || v == "1" || v == "yes") { *out = true; return Status::OK(); }
                      if (v == "false" || v == "0" || v == "no") { *out = false; return Status::OK(); }
                      return Status::InvalidArgument("--" + name + ": expected true or false, got '" +
                                                     v + "'");
                    }});
}

void FlagSet::AddRepeated(const std::string& name, std::vector<std::string>* out,
                          const std::string& help) {
  flags_.push_back({name, help + " (repeatable)", "", false, false, false,
                    [out](const std::string& v) { out->push_back(v); return Status::OK(); }});
}

void FlagSet::SetPositional(const std::string& usage_name, std::vector<std::string>* out,
                            size_t min_count, size_t max_count) {
  positional_name_ = usage_name;
  positional_ = out;
  positional_min_ = min_count;
  positional_max_ = max_count;
}

bool FlagSet::IsSet(const std::string& name) const {
  const Flag* f = Find(name);
  return f != nullptr && f->seen;
}

Status FlagSet::Parse(int argc, char** argv, int first) {
  std::vector<std::string> positional;
  for (int i = first; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--") {
      for (++i; i < argc; ++i) positional.push_back(argv[i]);
      break;
    }
    if (arg == "-h" || arg == "--help" || arg == "help") {
      help_requested_ = true;
      return Status::OK();
    }
    if (arg.size() < 3 || arg.compare(0, 2, "--") != 0) {
      positional.push_back(arg);
      continue;
    }
    std::string name = arg.substr(2);
    std::string value;
    bool has_value = false;
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_value = true;
    }
    Flag* flag = Find(name);
    if (flag == nullptr && !has_value && name.compare(0, 3, "no-") == 0) {
      Flag* negated = Find(name.substr(3));
      if (negated != nullptr && negated->is_bool) {
        negated->seen = true;
        RETURN_IF_ERROR(negated->set("false"));
        continue;
      }
    }
    if (flag == nullptr) {
      return Status::InvalidArgument("unknown flag --" + name + " (see '" + command_ + " --help')");
    }
    if (!has_value) {
      if (flag->is_bool) {
        value = "true";
      } else if (i + 1 < argc) {
        value = argv[++i];
      } else {
        return Status::InvalidArgument("--" + name + " needs a value");
      }
    }
    flag->seen = true;
    RETURN_IF_ERROR(flag->set(value));
  }
  for (const auto& f : flags_) {
    if (f.required && !f.seen) {
      return Status::InvalidArgument("missing required flag --" + f.name + " (see '" + command_ +
                                     " --help')");
    }
  }
  if (positional_ == nullptr) {
    if (!positional.empty()) {
      return Status::InvalidArgument("unexpected argument '" + positional[0] + "' (see '" +
                                     command_ + " --help')");
    }
  } else {
    if (positional.size() < positional_min_ || positional.size() > positional_max_) {
      return Status::InvalidArgument("expected " + positional_name_ + " (see '" + command_ +
                                     " --help')");
    }
    *positional_ = std::move(positional);
  }
  return Status::OK();
}

std::string FlagSet::Usage() const {
  std::ostringstream out;
  out << "Usage: " << command_ << " [flags]";
  if (!positional_name_.empty()) out << " " << positional_name_;
  out << "\n\n" << summary_ << "\n\nFlags:\n";
  for (const auto& f : flags_) {
    std::string left = "  --" + f.name + (f.is_bool ? "" : " VALUE");
    out << left;
    if (left.size() < 28) out << std::string(28 - left.size(), ' ');
    else out << "\n" << std::string(28, ' ');
    out << f.help;
    if (f.required) out << " (required)";
    // A help text that states its own default (e.g. "taken from the config") keeps it.
    else if (!f.default_text.empty() && f.help.find("[default:") == std::string::npos) {
      out << " [default: " << f.default_text << "]";
    }
    out << "\n";
  }
  out << "  --help                    show this text\n";
  return out.str();
}

}  // namespace psrec
