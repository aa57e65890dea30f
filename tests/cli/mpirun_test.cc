// Multi-process tests: `psrec train` under `mpirun --oversubscribe`, as a user runs it.
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
  synthetic { num_users: 2000 num_items: 400 rank: 4 noise_std: 0.3 ratings_per_user: 30 seed: 3 }
}
model { dim: 8 l2_factors: 0.02 init_std: 0.1 }
tables { name: "user" optimizer { kind: SGD learning_rate: 0.03 lr_decay: 0.95 } }
tables { name: "item" optimizer { kind: SGD learning_rate: 0.03 lr_decay: 0.95 } }
training { epochs: 4 batch_size: 128 }
output { progress: OFF }
)pb";

bool HaveMpirun() { return std::system("command -v mpirun >/dev/null 2>&1") == 0; }

std::string Slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class MpirunTest : public testing::Test {
 protected:
  void SetUp() override {
    if (!HaveMpirun()) GTEST_SKIP() << "mpirun not installed";
    // CI runs as root in a container.
    setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 1);
    setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 1);
    dir_ = fs::path(testing::TempDir()) /
           ("psrec_mpirun_" + std::to_string(getpid()) + "_" +
            testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    std::ofstream(dir_ / "job.textproto") << kJob;
  }
  void TearDown() override {
    // A failed assertion must not leave a job running behind the test.
    if (launched_ > 0 && waitpid(launched_, nullptr, WNOHANG) == 0) {
      kill(launched_, SIGKILL);
      waitpid(launched_, nullptr, 0);
    }
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  // mpirun -np `np` psrec train ... with stdout/stderr to files; returns the pid.
  pid_t Launch(int np, int servers, const std::vector<std::string>& extra) {
    std::vector<std::string> args = {"mpirun", "--oversubscribe", "-np", std::to_string(np),
                                     "--mca", "btl", "self,tcp",
                                     PSREC_BINARY_DIR "/psrec", "train",
                                     "--servers", std::to_string(servers),
                                     "--config", (dir_ / "job.textproto").string(),
                                     "--out", (dir_ / "run").string(), "--no-progress"};
    args.insert(args.end(), extra.begin(), extra.end());
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
    int rc = posix_spawnp(&pid, "mpirun", &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    EXPECT_EQ(rc, 0);
    launched_ = pid;
    return pid;
  }

  // Waits up to `limit` for `pid`; kills it and fails the test on timeout.
  int WaitExit(pid_t pid, std::chrono::seconds limit) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    int status = 0;
    while (waitpid(pid, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        ADD_FAILURE() << "mpirun still running after " << limit.count() << " s\nstderr:\n"
                      << Slurp(dir_ / "stderr");
        return -1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

  fs::path dir_;
  pid_t launched_ = -1;
};

TEST_F(MpirunTest, TwoServersTwoWorkersTrainAndWriteMetrics) {
  pid_t pid = Launch(4, 2, {});
  int code = WaitExit(pid, std::chrono::seconds(120));
  ASSERT_EQ(code, 0) << Slurp(dir_ / "stderr");
  std::string metrics = Slurp(dir_ / "run" / "metrics.jsonl");
  int lines = 0;
  for (char c : metrics) lines += c == '\n';
  EXPECT_EQ(lines, 4) << metrics;
  EXPECT_NE(metrics.find("\"test_rmse\""), std::string::npos);
  EXPECT_TRUE(fs::exists(dir_ / "run" / "summary.json"));
  EXPECT_TRUE(fs::exists(dir_ / "run" / "config.textproto"));
}

// Issue #4: checkpoints written by 2 servers x 2 workers (LOCAL users), then --resume with
// 1 server x 3 workers continues with the next epoch and keeps checkpointing.
TEST_F(MpirunTest, CheckpointsThenResumeOnAnotherShape) {
  const std::string ckpt = (dir_ / "ckpt").string();
  pid_t pid = Launch(4, 2, {"--set", "checkpoint.dir=" + ckpt, "--set", "training.epochs=2",
                            "--set", "tables.user.placement=LOCAL"});
  ASSERT_EQ(WaitExit(pid, std::chrono::seconds(120)), 0) << Slurp(dir_ / "stderr");
  EXPECT_NE(Slurp(dir_ / "run" / "metrics.jsonl").find("\"checkpoint_pause_sec\""),
            std::string::npos);
  EXPECT_NE(Slurp(dir_ / "stdout").find("training paused"), std::string::npos);
  int manifests = 0;
  for (const auto& entry : fs::directory_iterator(ckpt)) {
    manifests += fs::exists(entry.path() / "MANIFEST");
  }
  EXPECT_EQ(manifests, 2);

  pid = Launch(4, 1, {"--set", "checkpoint.dir=" + ckpt, "--set", "training.epochs=4",
                      "--set", "tables.user.placement=LOCAL", "--resume"});
  ASSERT_EQ(WaitExit(pid, std::chrono::seconds(120)), 0) << Slurp(dir_ / "stderr");
  std::string metrics = Slurp(dir_ / "run" / "metrics.jsonl");
  EXPECT_EQ(metrics.find("{\"epoch\":3,"), 0u) << metrics;
  EXPECT_NE(metrics.find("{\"epoch\":4,"), std::string::npos) << metrics;
  manifests = 0;
  for (const auto& entry : fs::directory_iterator(ckpt)) {
    manifests += fs::exists(entry.path() / "MANIFEST");
  }
  EXPECT_EQ(manifests, 3);  // keep_last's default
}

TEST_F(MpirunTest, TooFewRanksIsAClearError) {
  pid_t pid = Launch(2, 2, {});
  int code = WaitExit(pid, std::chrono::seconds(60));
  EXPECT_NE(code, 0);
  EXPECT_NE(Slurp(dir_ / "stderr").find("servers"), std::string::npos);
}

// Issue #14: -1 was the internal "unset" value of --servers and ran with the config's.
TEST_F(MpirunTest, MinusOneServersIsAUsageErrorSaidOnce) {
  pid_t pid = Launch(2, 1, {"--servers", "-1"});
  EXPECT_EQ(WaitExit(pid, std::chrono::seconds(60)), 2);
  const std::string err = Slurp(dir_ / "stderr");
  const std::string message =
      "psrec train: --servers: expected an integer in [1, 4096], got '-1'\n";
  ASSERT_NE(err.find(message), std::string::npos) << err;
  EXPECT_EQ(err.find(message), err.rfind(message)) << "once, by rank 0:\n" << err;
}

// Issue #14: a job without a test set says so once, naming the setting, and trains.
TEST_F(MpirunTest, NoTestSetIsAWarningSaidOnce) {
  pid_t pid = Launch(3, 1, {"--set", "data.synthetic.test_fraction=0", "--set",
                            "training.epochs=1"});
  ASSERT_EQ(WaitExit(pid, std::chrono::seconds(120)), 0) << Slurp(dir_ / "stderr");
  const std::string err = Slurp(dir_ / "stderr");
  const std::string warning = "psrec train: warning: data.synthetic.test_fraction is 0: "
                              "training without evaluation";
  ASSERT_NE(err.find(warning), std::string::npos) << err;
  EXPECT_EQ(err.find(warning), err.rfind(warning)) << err;
}

// Lines of metrics.jsonl that contain `needle`.
int LinesWith(const std::string& text, const std::string& needle) {
  int count = 0;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) count += line.find(needle) != std::string::npos;
  return count;
}

// The federated settings every FEDERATED launch below shares: private user rows on the
// workers, rounds as BSP epochs.
std::vector<std::string> Federated(std::vector<std::string> extra) {
  std::vector<std::string> args = {"--set", "training.update_mode=FEDERATED",
                                   "--set", "training.consistency=BSP",
                                   "--set", "tables.user.placement=LOCAL",
                                   "--set", "training.federated.local_epochs=2",
                                   "--set", "training.federated.client_lr=0.03"};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

// FedBuff (training.federated.buffered) across processes, 2 servers x 2 workers: each step
// takes exactly buffer_size updates from the two workers' clients (agreed over MPI), stale
// ones weighted; then the same with DP and secure aggregation, which reports epsilon.
TEST_F(MpirunTest, FederatedBufferedStepsTakeBufferSizeUpdates) {
  const std::vector<std::string> buffered = {
      "--set", "training.epochs=6",
      "--set", "training.federated.buffered.buffer_size=40",
      "--set", "training.federated.buffered.concurrency=160",
      "--set", "training.federated.client_compute.speed_spread=0.5"};
  pid_t pid = Launch(4, 2, Federated(buffered));
  ASSERT_EQ(WaitExit(pid, std::chrono::seconds(180)), 0) << Slurp(dir_ / "stderr");
  std::string metrics = Slurp(dir_ / "run" / "metrics.jsonl");
  EXPECT_EQ(LinesWith(metrics, "\"clients_reporting\":40,"), 6) << metrics;
  EXPECT_EQ(LinesWith(metrics, "\"staleness_mean\""), 6) << metrics;
  EXPECT_NE(Slurp(dir_ / "stdout").find("buffered K 40 of 160 concurrent"), std::string::npos)
      << Slurp(dir_ / "stdout");

  std::vector<std::string> private_steps = buffered;
  for (const char* setting :
       {"training.federated.secure_aggregation=true", "training.federated.clip_norm=0.5",
        "training.federated.noise_multiplier=1.0"}) {
    private_steps.push_back("--set");
    private_steps.push_back(setting);
  }
  pid = Launch(4, 2, Federated(private_steps));
  ASSERT_EQ(WaitExit(pid, std::chrono::seconds(180)), 0) << Slurp(dir_ / "stderr");
  metrics = Slurp(dir_ / "run" / "metrics.jsonl");
  EXPECT_EQ(LinesWith(metrics, "\"epsilon\""), 6) << metrics;
  EXPECT_EQ(LinesWith(metrics, "\"groups_abandoned\":0,"), 6) << metrics;
}

// BPR-MF in synchronous federated rounds across processes: clients draw their own
// negatives; the ranking evaluation runs on the workers' private user rows.
TEST_F(MpirunTest, FederatedBprTrainsUnderMpirun) {
  pid_t pid = Launch(4, 2, Federated({"--set", "model.type=BPR_MF",
                                      "--set", "data.implicit.negatives_per_positive=1",
                                      "--set", "training.federated.sampling_rate=0.05",
                                      "--set", "training.federated.secure_aggregation=true"}));
  ASSERT_EQ(WaitExit(pid, std::chrono::seconds(180)), 0) << Slurp(dir_ / "stderr");
  const std::string metrics = Slurp(dir_ / "run" / "metrics.jsonl");
  EXPECT_EQ(LinesWith(metrics, "\"clients_sampled\""), 4) << metrics;
  EXPECT_EQ(LinesWith(metrics, "\"groups_abandoned\":0,"), 4) << metrics;
}

// Issue #3: a server killed mid-training makes the job exit != 0, naming it, within
// rpc_timeout plus a few seconds.
TEST_F(MpirunTest, KilledServerFailsTheJobPromptly) {
  pid_t pid = Launch(3, 1, {"--set", "training.epochs=1000", "--set", "cluster.rpc_timeout_ms=3000"});
  // Wait for training to be under way (the first epoch's metrics line).
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (Slurp(dir_ / "run" / "metrics.jsonl").empty()) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << Slurp(dir_ / "stderr");
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  // Find rank 0 (the server) among our processes: its environment names its rank and its
  // command line our run directory.
  pid_t server = -1;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string cmdline = Slurp(entry.path() / "cmdline");
    std::string env = Slurp(entry.path() / "environ");
    if (cmdline.find((dir_ / "run").string()) == std::string::npos) continue;
    const std::string argv0 = cmdline.substr(0, cmdline.find('\0'));
    if (!argv0.ends_with("/psrec")) continue;  // not mpirun or its orted
    if (env.find(std::string("OMPI_COMM_WORLD_RANK=0") + '\0') == std::string::npos) continue;
    server = std::stoi(name);
  }
  ASSERT_GT(server, 0) << "server rank not found";
  auto killed = std::chrono::steady_clock::now();
  kill(server, SIGKILL);
  int code = WaitExit(pid, std::chrono::seconds(30));
  double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - killed).count();
  EXPECT_NE(code, 0);
  EXPECT_LT(took, 3.0 + 5.0);
  std::string err = Slurp(dir_ / "stderr");
  EXPECT_TRUE(err.find("server 0") != std::string::npos || err.find("rank 0") != std::string::npos)
      << err;
}

}  // namespace
