// A small command-line flag parser for the `psrec` subcommands: `--name value`,
// `--name=value`, boolean `--name` / `--no-name`, positional arguments, and a generated
// `--help` text. Unknown flags and malformed values are errors naming the flag.
//
// Usage:
//   FlagSet flags("psrec data stats", "Print statistics of a ratings file.");
//   std::string input;
//   bool json = false;
//   flags.AddString("input", &input, "ratings file or prepared directory", /*required=*/true);
//   flags.AddBool("json", &json, "print JSON");
//   Status s = flags.Parse(argc, argv);   // argv[0] is the subcommand name
//   if (flags.help_requested()) { std::cout << flags.Usage(); return 0; }
//
// A flag whose default comes from elsewhere (the job config) is an optional: it stays empty
// unless given, so no value of its range doubles as "unset", and a value outside the range
// is an error naming the flag ("--servers: expected an integer in [1, 4096], got -1").
//
// Thread safety: not thread-safe; parse once on the main thread.
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace psrec {

class FlagSet {
 public:
  FlagSet(std::string command, std::string summary);

  void AddString(const std::string& name, std::string* out, const std::string& help,
                 bool required = false);
  void AddInt(const std::string& name, int64_t* out, const std::string& help,
              bool required = false);
  void AddInt(const std::string& name, int* out, const std::string& help, bool required = false);
  void AddDouble(const std::string& name, double* out, const std::string& help,
                 bool required = false);
  void AddBool(const std::string& name, bool* out, const std::string& help);
  // Empty unless given; a given value must lie in [min, max] (max: infinity for no bound).
  void AddOptionalInt(const std::string& name, std::optional<int>* out, const std::string& help,
                      int min, int max = std::numeric_limits<int>::max());
  void AddOptionalDouble(const std::string& name, std::optional<double>* out,
                         const std::string& help, double min,
                         double max = std::numeric_limits<double>::infinity());
  // A flag that may be given several times (e.g. --set a=1 --set b=2).
  void AddRepeated(const std::string& name, std::vector<std::string>* out,
                   const std::string& help);
  // Names the positional arguments in the usage line; Parse collects them in order.
  void SetPositional(const std::string& usage_name, std::vector<std::string>* out,
                     size_t min_count, size_t max_count);

  // Parses argv[first..argc). Stops at a bare "--" (the rest is positional).
  Status Parse(int argc, char** argv, int first = 1);
  bool help_requested() const { return help_requested_; }
  // True when the flag appeared on the command line.
  bool IsSet(const std::string& name) const;
  std::string Usage() const;

 private:
  struct Flag {
    std::string name;
    std::string help;
    std::string default_text;
    bool is_bool = false;
    bool required = false;
    bool seen = false;
    std::function<Status(const std::string&)> set;
  };
  Flag* Find(const std::string& name);
  const Flag* Find(const std::string& name) const;

  std::string command_;
  std::string summary_;
  std::vector<Flag> flags_;
  std::string positional_name_;
  std::vector<std::string>* positional_ = nullptr;
  size_t positional_min_ = 0;
  size_t positional_max_ = 0;
  bool help_requested_ = false;
};

}  // namespace psrec
