// `psrec privacy` through the built executable: the published accountant values, the noise
// multiplier for a target epsilon, and errors that name the flag.
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <string>

#include <gtest/gtest.h>

#include "common/json.h"

namespace psrec::cli {
namespace {

struct CommandRun {
  int exit_code;
  std::string out;  // stdout and stderr together
};

CommandRun Psrec(const std::string& args) {
  const std::string cmd = std::string(PSREC_BINARY_DIR "/psrec privacy ") + args + " 2>&1";
  CommandRun run{-1, ""};
  FILE* pipe = ::popen(cmd.c_str(), "r");
  if (pipe == nullptr) return run;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) run.out.append(buf.data(), n);
  const int status = ::pclose(pipe);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

TEST(PrivacyCommandTest, EpochsOverAPopulationGiveThePublishedEpsilon) {
  CommandRun run = Psrec("--population 60000 --batch 150 --epochs 15 --z 1.3 --delta 1e-5");
  ASSERT_EQ(run.exit_code, 0) << run.out;
  EXPECT_NE(run.out.find("steps 6000"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("epsilon 0.7242234026 at RDP order 19"), std::string::npos) << run.out;
}

TEST(PrivacyCommandTest, JsonWithQAndSteps) {
  CommandRun run = Psrec("--q 0.001 --steps 30000 --z 1.0 --delta 1e-7 --json");
  ASSERT_EQ(run.exit_code, 0) << run.out;
  Json out = Json::parse(run.out);
  EXPECT_NEAR(out["epsilon"].get<double>(), 1.4154988495, 1e-9);
  EXPECT_EQ(out["optimal_order"].get<double>(), 13.0);
  EXPECT_EQ(out["steps"].get<int64_t>(), 30000);
}

TEST(PrivacyCommandTest, TargetEpsilonGivesTheNoiseMultiplier) {
  CommandRun run = Psrec("--q 0.0025 --steps 6000 --delta 1e-5 --target-epsilon 0.7242234026 "
                         "--json");
  ASSERT_EQ(run.exit_code, 0) << run.out;
  Json out = Json::parse(run.out);
  EXPECT_NEAR(out["noise_multiplier"].get<double>(), 1.3, 1e-5);
  EXPECT_LE(out["epsilon"].get<double>(), 0.7242234026);
}

TEST(PrivacyCommandTest, BadInputNamesTheFlag) {
  struct Case {
    const char* args;
    const char* expected;
  };
  const Case cases[] = {
      {"--q 0 --steps 10 --z 1", "--q: the sampling rate must lie in (0, 1]"},
      {"--q 1.5 --steps 10 --z 1", "--q:"},
      {"--q 0.1 --steps 10 --z -1", "--z: the noise multiplier must be"},
      {"--q 0.1 --steps 10 --z 1 --delta 0", "--delta: must lie in (0, 1)"},
      {"--q 0.1 --steps 10 --z 1 --delta 1", "--delta:"},
      {"--q 0.1 --z 1", "--steps: give exactly one of --steps and --epochs"},
      {"--q 0.1 --steps 10", "--z: give exactly one of --z and --target-epsilon"},
      {"--population 10 --batch 20 --steps 5 --z 1", "--batch:"},
      {"--q 0.1 --steps 10 --z 1 --conversion best", "--conversion:"},
      {"--q 1 --steps 100000 --target-epsilon 0.00001", "--target-epsilon:"},
  };
  for (const Case& c : cases) {
    CommandRun run = Psrec(c.args);
    EXPECT_NE(run.exit_code, 0) << c.args;
    EXPECT_NE(run.out.find(c.expected), std::string::npos) << c.args << "\n" << run.out;
  }
}

}  // namespace
}  // namespace psrec::cli
