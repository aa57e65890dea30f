// `psrec launch --max-restarts` around `mpirun --oversubscribe ... psrec train`, with a rank
// killed by SIGKILL mid-training: mpirun ends the job (it does not hang on the dead rank),
// the wrapper relaunches from the newest checkpoint, says so in one line, and the job ends
// with every epoch trained and the restart counted in metrics.jsonl and summary.json.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace {

namespace fs = std::filesystem;

const char kJob[] = R"pb(
data {
  synthetic { num_users: 3000 num_items: 500 rank: 4 noise_std: 0.3 ratings_per_user: 40 seed: 5 }
}
model { dim: 8 l2_factors: 0.02 init_std: 0.1 }
tables { name: "user" optimizer { kind: SGD learning_rate: 0.03 lr_decay: 0.95 } }
tables { name: "item" optimizer { kind: SGD learning_rate: 0.03 lr_decay: 0.95 } }
training { epochs: 30 batch_size: 64 }
checkpoint { every_epochs: 1 }
cluster { rpc_timeout_ms: 3000 }
output { progress: OFF }
)pb";

std::string Slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class LaunchMpirunTest : public testing::Test {
 protected:
  void SetUp() override {
    if (std::system("command -v mpirun >/dev/null 2>&1") != 0) GTEST_SKIP() << "no mpirun";
    setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 1);
    setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 1);
    dir_ = fs::path(testing::TempDir()) /
           ("psrec_launch_mpirun_" + std::to_string(getpid()) + "_" +
            testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    std::ofstream(dir_ / "job.textproto") << kJob;
  }
  void TearDown() override {
    if (launched_ > 0 && waitpid(launched_, nullptr, WNOHANG) == 0) {
      kill(-launched_, SIGKILL);  // psrec launch runs mpirun in its own group: kill both
      kill(launched_, SIGKILL);
      waitpid(launched_, nullptr, 0);
    }
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  // psrec launch [launch_flags] -- mpirun -np 3 psrec train --servers 1 ... [train_flags]
  pid_t Launch(const std::vector<std::string>& launch_flags,
               const std::vector<std::string>& train_flags) {
    std::vector<std::string> args = {PSREC_BINARY_DIR "/psrec", "launch"};
    args.insert(args.end(), launch_flags.begin(), launch_flags.end());
    for (const char* word : {"--", "mpirun", "--oversubscribe", "-np", "3", "--mca", "btl",
                             "self,tcp", PSREC_BINARY_DIR "/psrec", "train", "--servers", "1"}) {
      args.push_back(word);
    }
    for (const std::string& word :
         {std::string("--config"), (dir_ / "job.textproto").string(), std::string("--out"),
          (dir_ / "run").string(), std::string("--quiet")}) {
      args.push_back(word);
    }
    args.insert(args.end(), train_flags.begin(), train_flags.end());
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, (dir_ / "stdout").c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&actions, 2, (dir_ / "stderr").c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    pid_t pid = -1;
    EXPECT_EQ(posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ), 0);
    posix_spawn_file_actions_destroy(&actions);
    launched_ = pid;
    return pid;
  }

  int WaitExit(pid_t pid, std::chrono::seconds limit) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    int status = 0;
    while (waitpid(pid, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        ADD_FAILURE() << "psrec launch still running after " << limit.count() << " s\n"
                      << Slurp(dir_ / "stderr");
        return -1;  // TearDown kills it
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

  // The pid of the psrec train rank `rank` of this test's job, or -1.
  pid_t Rank(int rank) {
    for (const auto& entry : fs::directory_iterator("/proc")) {
      std::string name = entry.path().filename();
      if (name.find_first_not_of("0123456789") != std::string::npos) continue;
      std::string cmdline = Slurp(entry.path() / "cmdline");
      if (cmdline.find((dir_ / "run").string()) == std::string::npos) continue;
      const std::string argv0 = cmdline.substr(0, cmdline.find('\0'));
      if (!argv0.ends_with("/psrec") || cmdline.find(std::string("train") + '\0') ==
                                            std::string::npos) {
        continue;  // psrec launch, mpirun or its orted
      }
      std::string env = Slurp(entry.path() / "environ");
      if (env.find("OMPI_COMM_WORLD_RANK=" + std::to_string(rank) + '\0') != std::string::npos) {
        return std::stoi(name);
      }
    }
    return -1;
  }

  // Kills rank `rank` with SIGKILL once a checkpoint is on disk, then expects the job to be
  // relaunched once and to finish.
  void KillRankAndExpectOneRestart(int rank) {
    const std::string ckpt = (dir_ / "ckpt").string();
    pid_t pid = Launch({"--max-restarts", "2"}, {"--set", "checkpoint.dir=" + ckpt});
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(90);
    while (Slurp(dir_ / "run" / "metrics.jsonl").find("\"epoch\":2,") == std::string::npos) {
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << Slurp(dir_ / "stderr");
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    pid_t victim = Rank(rank);
    ASSERT_GT(victim, 0) << "rank " << rank << " not found";
    ASSERT_EQ(kill(victim, SIGKILL), 0);
    ASSERT_EQ(WaitExit(pid, std::chrono::seconds(240)), 0) << Slurp(dir_ / "stderr");
    const std::string err = Slurp(dir_ / "stderr");
    EXPECT_NE(err.find("psrec launch: restart 1 of 2 after: "), std::string::npos) << err;
    EXPECT_NE(err.find("; from " + ckpt + "/step-"), std::string::npos) << err;
    EXPECT_EQ(err.find("restart 2 of 2"), std::string::npos) << err;
    EXPECT_NE(Slurp(dir_ / "stdout").find("resuming from " + ckpt + "/step-"), std::string::npos);
    // metrics.jsonl: the lines before the kill, then (appended) those after it, marked.
    const std::string metrics = Slurp(dir_ / "run" / "metrics.jsonl");
    EXPECT_EQ(metrics.find("{\"epoch\":1,"), 0u) << metrics;
    EXPECT_NE(metrics.find("{\"epoch\":30,"), std::string::npos) << metrics;
    EXPECT_NE(metrics.find("\"restarts\":1"), std::string::npos) << metrics;
    EXPECT_NE(Slurp(dir_ / "run" / "summary.json").find("\"restarts\":1"), std::string::npos);
  }

  fs::path dir_;
  pid_t launched_ = -1;
};

TEST_F(LaunchMpirunTest, AWorkerKilledWithSigkillIsRelaunchedFromTheCheckpoint) {
  KillRankAndExpectOneRestart(2);
}

TEST_F(LaunchMpirunTest, AServerKilledWithSigkillIsRelaunchedFromTheCheckpoint) {
  KillRankAndExpectOneRestart(0);
}

TEST_F(LaunchMpirunTest, RestartsNeedACheckpointDirectory) {
  pid_t pid = Launch({"--max-restarts", "1"}, {});
  EXPECT_EQ(WaitExit(pid, std::chrono::seconds(30)), 2);
  EXPECT_NE(Slurp(dir_ / "stderr").find("psrec launch: --max-restarts needs checkpoint.dir"),
            std::string::npos)
      << Slurp(dir_ / "stderr");
}

}  // namespace
