// `psrec launch` (cli/relaunch.h): finding the psrec part of a job command, the relaunch's
// flags, and the restart loop run on real processes: a job script that fails a given number
// of times, leaving checkpoint directories like a job would.
#include "cli/relaunch.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace psrec::cli {
namespace {

namespace fs = std::filesystem;
using Words = std::vector<std::string>;

TEST(FindJobCommandTest, FindsTrainUnderMpirunAndItsJobFlags) {
  const Words command = {"mpirun", "-np", "3", "/opt/bin/psrec", "train", "--servers", "1",
                         "--config", "job.textproto", "--set", "a=1", "--set=b=2",
                         "--out=runs/x", ":", "-np", "1", "other"};
  Result<JobCommand> job = FindJobCommand(command);
  ASSERT_TRUE(job.ok()) << job.status().message();
  EXPECT_EQ(job->psrec_index, 3u);
  EXPECT_EQ(job->subcommand, "train");
  EXPECT_EQ(job->args_begin, 5u);
  EXPECT_EQ(job->args_end, 13u);  // the MPMD ':' ends the psrec part
  EXPECT_EQ(job->config_path, "job.textproto");
  EXPECT_EQ(job->overrides, (Words{"a=1", "b=2"}));
  EXPECT_EQ(job->out_dir, "runs/x");
}

TEST(FindJobCommandTest, ACommandWithoutPsrecIsRefusedWithAnExample) {
  Result<JobCommand> job = FindJobCommand({"mpirun", "-np", "2", "psrec-other", "train"});
  ASSERT_FALSE(job.ok());
  EXPECT_NE(job.status().message().find("psrec launch --max-restarts"), std::string::npos);
  EXPECT_FALSE(FindJobCommand({"psrec", "ckpt", "ls"}).ok());
}

TEST(RelaunchCommandTest, ReplacesResumeFlagsAndCountsTheRestart) {
  const Words command = {"mpirun", "-np", "3", "psrec", "train", "--resume", "--config", "j",
                         "--resume-from=old", "--restart-count", "1", "--quiet"};
  Result<JobCommand> job = FindJobCommand(command);
  ASSERT_TRUE(job.ok());
  EXPECT_EQ(RelaunchCommand(command, *job, "ckpt/step-9", 2),
            (Words{"mpirun", "-np", "3", "psrec", "train", "--config", "j", "--quiet",
                   "--resume-from", "ckpt/step-9", "--restart-count", "2"}));
  EXPECT_EQ(WithJobFlags(command, *job, {"--out", "o"}).back(), "o");
}

// A job stand-in: a script named psrec that logs its arguments, writes a checkpoint
// directory the first time, and exits with the next of `codes` (one per run).
class RelaunchLoopTest : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(testing::TempDir()) / ("psrec_launch_" + std::to_string(getpid()) + "_" +
                                           testing::UnitTest::GetInstance()
                                               ->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "bin");
    fs::create_directories(dir_ / "ckpt");
  }
  void TearDown() override { fs::remove_all(dir_); }

  RelaunchOptions Job(const std::vector<int>& codes, int max_restarts) {
    std::ofstream script(dir_ / "bin" / "psrec");
    script << "#!/bin/sh\n"
           << "echo \"$*\" >> '" << (dir_ / "args").string() << "'\n"
           << "n=$(wc -l < '" << (dir_ / "args").string() << "')\n";
    // The first run leaves a (fake, so invalid) half-written checkpoint: never resumed from.
    script << "mkdir -p '" << (dir_ / "ckpt" / "step-000000000005").string() << "'\n";
    script << "case $n in\n";
    for (size_t i = 0; i < codes.size(); ++i) {
      script << "  " << i + 1 << ") exit " << codes[i] << ";;\n";
    }
    script << "esac\nexit 0\n";
    script.close();
    fs::permissions(dir_ / "bin" / "psrec", fs::perms::owner_all);
    RelaunchOptions options;
    options.command = {(dir_ / "bin" / "psrec").string(), "train", "--config", "job", "--resume"};
    options.job = *FindJobCommand(options.command);
    options.max_restarts = max_restarts;
    options.checkpoint_dir = (dir_ / "ckpt").string();
    options.log = &log_;
    return options;
  }
  Words Runs() {
    std::ifstream in(dir_ / "args");
    Words runs;
    for (std::string line; std::getline(in, line);) runs.push_back(line);
    return runs;
  }

  fs::path dir_;
  std::ostringstream log_;
};

TEST_F(RelaunchLoopTest, AFailedRunIsRelaunchedAndCountedUntilItSucceeds) {
  Result<RelaunchOutcome> outcome = RunWithRelaunches(Job({1, 137, 0}, 3));
  ASSERT_TRUE(outcome.ok()) << outcome.status().message();
  EXPECT_EQ(outcome->exit_code, 0);
  EXPECT_EQ(outcome->restarts, 2);
  // No valid checkpoint was written: each relaunch is the original command, counted.
  EXPECT_EQ(Runs(), (Words{"train --config job --resume",
                           "train --config job --resume --restart-count 1",
                           "train --config job --resume --restart-count 2"}));
  EXPECT_NE(log_.str().find("psrec launch: restart 1 of 3 after: exit status 1; from where "
                            "the first run started (no checkpoint)"),
            std::string::npos) << log_.str();
  EXPECT_NE(log_.str().find("restart 2 of 3 after: killed by signal 9 (status 137)"),
            std::string::npos) << log_.str();
}

TEST_F(RelaunchLoopTest, StopsAfterMaxRestarts) {
  Result<RelaunchOutcome> outcome = RunWithRelaunches(Job({1, 1, 1, 1}, 2));
  ASSERT_TRUE(outcome.ok());
  EXPECT_EQ(outcome->exit_code, 1);
  EXPECT_EQ(outcome->restarts, 2);
  EXPECT_EQ(Runs().size(), 3u);
}

TEST_F(RelaunchLoopTest, ConfigMistakesAndUnrunnableCommandsAreNotRestarted) {
  Result<RelaunchOutcome> outcome = RunWithRelaunches(Job({2}, 5));
  ASSERT_TRUE(outcome.ok());
  EXPECT_EQ(outcome->exit_code, 2);
  EXPECT_EQ(outcome->restarts, 0);

  RelaunchOptions missing = Job({}, 5);
  missing.command[0] = (dir_ / "bin" / "no-such-program").string();
  outcome = RunWithRelaunches(missing);
  ASSERT_TRUE(outcome.ok());
  EXPECT_EQ(outcome->exit_code, 127);
  EXPECT_EQ(outcome->restarts, 0);
}

}  // namespace
}  // namespace psrec::cli

namespace psrec::cli {
namespace {

// SIGTERM to `psrec launch` reaches the job once (it runs in its own process group) and
// nothing is restarted afterwards, whatever the job's exit status.
TEST_F(RelaunchLoopTest, ASignalIsForwardedOnceAndEndsTheLaunch) {
  std::ofstream(dir_ / "job.textproto")
      << "data { synthetic { num_users: 10 num_items: 10 } }\n"
      << "checkpoint { dir: '" << (dir_ / "ckpt").string() << "' }\n";
  std::ofstream script(dir_ / "bin" / "psrec");
  script << "#!/bin/sh\n"
         << "trap 'echo TERM >> " << (dir_ / "signals").string() << "; exit 1' TERM\n"
         << "echo started >> " << (dir_ / "signals").string() << "\n"
         << "while true; do sleep 0.05; done\n";
  script.close();
  fs::permissions(dir_ / "bin" / "psrec", fs::perms::owner_all);
  const std::string command =
      std::string(PSREC_BINARY_DIR "/psrec launch --max-restarts 3 -- ") +
      (dir_ / "bin" / "psrec").string() + " train --config " +
      (dir_ / "job.textproto").string() + " 2> " + (dir_ / "stderr").string() + " & pid=$!; " +
      "for i in $(seq 200); do [ -s " + (dir_ / "signals").string() +
      " ] && break; sleep 0.05; done; kill -TERM $pid; wait $pid";
  const int status = std::system(command.c_str());
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 1);
  std::ifstream signals(dir_ / "signals");
  std::stringstream lines;
  lines << signals.rdbuf();
  EXPECT_EQ(lines.str(), "started\nTERM\n");
  std::ifstream err(dir_ / "stderr");
  std::stringstream err_text;
  err_text << err.rdbuf();
  EXPECT_EQ(err_text.str().find("restart"), std::string::npos) << err_text.str();
}

}  // namespace
}  // namespace psrec::cli
