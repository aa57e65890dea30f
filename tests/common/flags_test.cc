// FlagSet's optional flags: unset stays empty, a value outside the range is an error that
// names the flag and the range (issue #14: `--servers -1` used to mean "the default").
#include "common/flags.h"

#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace psrec {
namespace {

// Parses `args` (after a fake argv[0]).
Status ParseArgs(FlagSet* flags, std::vector<std::string> args) {
  args.insert(args.begin(), "cmd");
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  return flags->Parse(static_cast<int>(argv.size()), argv.data());
}

TEST(OptionalFlagTest, UnsetStaysEmptyAndGivenValuesAreKept) {
  std::optional<int> servers, workers;
  std::optional<double> factor;
  FlagSet flags("cmd", "test");
  flags.AddOptionalInt("servers", &servers, "servers", 1, 4096);
  flags.AddOptionalInt("workers", &workers, "workers", 1, 4096);
  flags.AddOptionalDouble("factor", &factor, "factor", 1);
  ASSERT_TRUE(ParseArgs(&flags, {"--servers", "4096", "--factor=2.5"}).ok());
  EXPECT_EQ(servers, 4096);
  EXPECT_FALSE(workers.has_value());
  EXPECT_EQ(factor, 2.5);
  EXPECT_TRUE(flags.IsSet("servers"));
  EXPECT_FALSE(flags.IsSet("workers"));
}

TEST(OptionalFlagTest, MinusOneIsAnErrorNotUnset) {
  std::optional<int> servers;
  FlagSet flags("cmd", "test");
  flags.AddOptionalInt("servers", &servers, "servers", 1, 4096);
  Status s = ParseArgs(&flags, {"--servers", "-1"});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(s.message(), "--servers: expected an integer in [1, 4096], got '-1'");
  EXPECT_FALSE(servers.has_value());
}

TEST(OptionalFlagTest, RangeErrorsNameTheFlagAndTheRange) {
  std::optional<int> straggler;
  std::optional<double> factor, bandwidth;
  FlagSet flags("cmd", "test");
  flags.AddOptionalInt("straggler", &straggler, "w", -1);
  flags.AddOptionalDouble("factor", &factor, "f", 1);
  flags.AddOptionalDouble("bandwidth", &bandwidth, "b", 0, 100);
  EXPECT_EQ(ParseArgs(&flags, {"--straggler", "-2"}).message(),
            "--straggler: expected an integer in [-1, inf), got '-2'");
  EXPECT_EQ(ParseArgs(&flags, {"--straggler", "x"}).message(),
            "--straggler: expected an integer in [-1, inf), got 'x'");
  EXPECT_EQ(ParseArgs(&flags, {"--factor", "0.5"}).message(),
            "--factor: expected a number in [1, inf), got '0.5'");
  EXPECT_EQ(ParseArgs(&flags, {"--factor", "nan"}).message(),
            "--factor: expected a number in [1, inf), got 'nan'");
  EXPECT_EQ(ParseArgs(&flags, {"--bandwidth", "100.5"}).message(),
            "--bandwidth: expected a number in [0, 100], got '100.5'");
  EXPECT_TRUE(ParseArgs(&flags, {"--straggler", "-1", "--bandwidth", "0"}).ok());
  EXPECT_EQ(straggler, -1);
  EXPECT_EQ(bandwidth, 0.0);
}

TEST(OptionalFlagTest, UsageShowsNoInventedDefault) {
  std::optional<int> servers;
  FlagSet flags("cmd", "test");
  flags.AddOptionalInt("servers", &servers, "servers [default: cluster.servers]", 1, 4096);
  const std::string usage = flags.Usage();
  EXPECT_NE(usage.find("--servers VALUE"), std::string::npos) << usage;
  EXPECT_NE(usage.find("[default: cluster.servers]"), std::string::npos) << usage;
  EXPECT_EQ(usage.find("-1"), std::string::npos) << usage;
}

}  // namespace
}  // namespace psrec
