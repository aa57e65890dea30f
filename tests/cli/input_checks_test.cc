// Issue #14, "silently wrong inputs": flags whose "unset" value was a legal-looking number,
// a straggler that names no worker, cluster settings psrec sim ignores, a GIVEN split with
// no test file. Commands run in-process through their entry points, as `psrec` runs them.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "cli/commands.h"
#include "cli/job_warnings.h"
#include "cli/simulation.h"
#include "data/binary_format.h"
#include "data/synthetic.h"
#include "small_job.h"

namespace psrec::cli {
namespace {

namespace fs = std::filesystem;

struct CommandRun {
  int exit_code = -1;
  std::string out, err;
};

// Runs `entry` with argv {name, args...}, capturing stdout and stderr.
CommandRun RunCommand(int (*entry)(int, char**), const std::string& name,
                      std::vector<std::string> args) {
  args.insert(args.begin(), name);
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  CommandRun run;
  testing::internal::CaptureStdout();
  testing::internal::CaptureStderr();
  run.exit_code = entry(static_cast<int>(argv.size()), argv.data());
  run.err = testing::internal::GetCapturedStderr();
  run.out = testing::internal::GetCapturedStdout();
  return run;
}

int Count(const std::string& text, const std::string& what) {
  int n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

class InputChecksTest : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(testing::TempDir()) /
           ("psrec_inputs_" + std::to_string(getpid()) + "_" +
            testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    // A one-epoch job on a small planted data set (10% of it held out for test).
    std::ofstream(dir_ / "job.textproto") << R"pb(
      data {
        synthetic { num_users: 200 num_items: 50 rank: 2 ratings_per_user: 10 seed: 3 }
      }
      model { dim: 4 }
      tables { name: "user" optimizer { kind: SGD learning_rate: 0.03 } }
      tables { name: "item" optimizer { kind: SGD learning_rate: 0.03 } }
      training { epochs: 1 batch_size: 64 }
      output { progress: OFF }
    )pb";
  }
  void TearDown() override { fs::remove_all(dir_); }

  // psrec sim on the job above, writing to DIR/run, with `extra` flags.
  CommandRun Sim(std::vector<std::string> extra) {
    std::vector<std::string> args = {"--config", (dir_ / "job.textproto").string(), "--out",
                                     (dir_ / "run").string(), "--no-progress"};
    args.insert(args.end(), extra.begin(), extra.end());
    return RunCommand(RunSimCommand, "sim", args);
  }

  fs::path dir_;
};

TEST_F(InputChecksTest, SimFlagsOutsideTheirRangeAreUsageErrors) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--servers", "-1"}, "--servers: expected an integer in [1, 4096], got '-1'"},
      {{"--workers", "-1"}, "--workers: expected an integer in [1, 4096], got '-1'"},
      {{"--workers", "0"}, "--workers: expected an integer in [1, 4096], got '0'"},
      {{"--latency-us", "-1"}, "--latency-us: expected an integer in [0, inf), got '-1'"},
      {{"--bandwidth-mbps", "-1"}, "--bandwidth-mbps: expected a number in [0, inf), got '-1'"},
      {{"--straggler-worker", "-2"},
       "--straggler-worker: expected an integer in [-1, inf), got '-2'"},
      {{"--straggler-factor", "-1"},
       "--straggler-factor: expected a number in [1, inf), got '-1'"},
  };
  for (const auto& [flags, message] : cases) {
    CommandRun run = Sim(flags);
    EXPECT_EQ(run.exit_code, 2) << flags[0];
    EXPECT_EQ(run.err, "psrec sim: " + message + "\n");
    EXPECT_FALSE(fs::exists(dir_ / "run")) << flags[0];
  }
}

TEST_F(InputChecksTest, SimStragglerFlagMustNameAWorker) {
  CommandRun run = Sim({"--workers", "1", "--straggler-worker", "7"});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_EQ(run.err,
            "psrec sim: --straggler-worker: 7 is not a worker of this job: expected -1 (none) "
            "or 0..0 (1 worker)\n");
  EXPECT_FALSE(fs::exists(dir_ / "run"));
}

TEST_F(InputChecksTest, SimStragglerFieldMustNameAWorker) {
  CommandRun run = Sim({"--workers", "2", "--set", "simulation.straggler_worker=3"});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_EQ(run.err,
            "psrec sim: simulation.straggler_worker: 3 is not a worker of this job: expected "
            "-1 (none) or 0..1 (2 workers)\n");
}

TEST(RunSimulationTest, RefusesAStragglerThatIsNotAWorker) {
  SimulationOptions options;
  options.job = SmallJob(1, 2);
  options.job.mutable_simulation()->set_straggler_worker(2);
  options.print_epochs = false;
  Result<SimulationResult> result = RunSimulation(options);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(result.status().message(),
            "simulation.straggler_worker: 2 is not a worker of this job: expected -1 (none) or "
            "0..1 (2 workers)");
}

TEST_F(InputChecksTest, SimRunsAValidStragglerWithoutWarnings) {
  CommandRun run =
      Sim({"--workers", "2", "--straggler-worker", "1", "--straggler-factor", "1.5"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.err.find("warning"), std::string::npos) << run.err;
  const std::string config = [&] {
    std::ifstream in(dir_ / "run" / "config.textproto");
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }();
  EXPECT_NE(config.find("straggler_worker: 1"), std::string::npos) << config;
  EXPECT_NE(config.find("straggler_factor: 1.5"), std::string::npos) << config;
}

TEST_F(InputChecksTest, SimSaysOnceThatItIgnoresBindAddressAndBasePort) {
  CommandRun run = Sim({"--set", "cluster.bind_address=0.0.0.0", "--set",
                        "cluster.base_port=7000"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(Count(run.err,
                  "psrec sim: warning: cluster.bind_address \"0.0.0.0\" and cluster.base_port "
                  "7000 are ignored: psrec sim binds its servers to 127.0.0.1 on ports the OS "
                  "picks (these settings are for psrec train)\n"),
            1)
      << run.err;
  EXPECT_EQ(Count(run.err, "warning"), 1) << run.err;
}

TEST(JobWarningsTest, SimClusterWarningOnlyForNonDefaults) {
  config::ClusterConfig cluster;
  EXPECT_EQ(SimIgnoredClusterWarning(cluster), "");
  cluster.set_bind_address("127.0.0.1");  // the default, written out
  cluster.set_base_port(0);
  EXPECT_EQ(SimIgnoredClusterWarning(cluster), "");
  cluster.set_advertise_address("node7");
  EXPECT_EQ(SimIgnoredClusterWarning(cluster).rfind(
                "cluster.advertise_address \"node7\" is ignored: psrec sim binds", 0),
            0u);
}

TEST_F(InputChecksTest, GivenSplitWithoutTestFileWarnsAndShowsNoTestRmse) {
  const std::string train = (dir_ / "train.txt").string();
  {
    std::ofstream out(train);
    for (int u = 1; u <= 30; ++u) {
      for (int i = 1; i <= 8; ++i) {
        out << u << " " << (u * 7 + i) % 20 + 1 << " " << 1 + (u + i) % 5 << "\n";
      }
    }
  }
  CommandRun run = Sim({"--set", "data.train_path=" + train});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(Count(run.err, "psrec sim: warning: data.test_path is not set and data.split.kind "
                           "is GIVEN: training without evaluation"),
            1)
      << run.err;
  EXPECT_TRUE(std::regex_search(run.out, std::regex("test_rmse +- "))) << run.out;

  // The same file split RANDOM has a test set: no warning, a test RMSE.
  fs::remove_all(dir_ / "run");
  run = Sim({"--set", "data.train_path=" + train, "--set", "data.split.kind=RANDOM"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.err.find("warning"), std::string::npos) << run.err;
  EXPECT_TRUE(std::regex_search(run.out, std::regex("test_rmse [0-9]"))) << run.out;
}

TEST(JobWarningsTest, NoTestSetWarningCoversEveryDataSource) {
  config::DataConfig data;
  data.set_train_path("train.txt");
  EXPECT_NE(NoTestSetWarning(data).find("data.test_path is not set"), std::string::npos);
  data.set_test_path("test.txt");
  EXPECT_EQ(NoTestSetWarning(data), "");
  data.clear_test_path();
  data.mutable_split()->set_kind(config::SplitConfig::LEAVE_LAST_OUT);
  EXPECT_EQ(NoTestSetWarning(data), "");

  config::DataConfig synthetic;
  synthetic.mutable_synthetic()->set_num_users(10);
  EXPECT_EQ(NoTestSetWarning(synthetic), "");
  synthetic.mutable_synthetic()->set_test_fraction(0);
  EXPECT_EQ(NoTestSetWarning(synthetic).rfind("data.synthetic.test_fraction is 0: training "
                                              "without evaluation", 0),
            0u);
}

TEST(JobWarningsTest, NoTestSetWarningForAPreparedDirectoryWithoutTestParts) {
  const fs::path root =
      fs::path(testing::TempDir()) / ("psrec_prepared_" + std::to_string(getpid()));
  fs::remove_all(root);
  config::SyntheticConfig synth;
  synth.set_num_users(50);
  synth.set_num_items(20);
  synth.set_ratings_per_user(5);
  Result<data::SyntheticData> generated = data::GenerateSynthetic(synth, false);
  ASSERT_TRUE(generated.ok()) << generated.status().message();
  const std::string without = (root / "without").string(), with = (root / "with").string();
  ASSERT_TRUE(data::WritePrepared(generated->train, nullptr, {}, without).ok());
  ASSERT_TRUE(data::WritePrepared(generated->train, &generated->test, {}, with).ok());
  config::DataConfig data;
  data.set_format(config::BINARY);
  data.set_train_path(without);
  EXPECT_EQ(NoTestSetWarning(data).rfind("data.train_path " + without +
                                         " was prepared without a test set", 0),
            0u)
      << NoTestSetWarning(data);
  data.set_train_path(with);
  EXPECT_EQ(NoTestSetWarning(data), "");
  data.set_train_path((root / "missing").string());
  EXPECT_EQ(NoTestSetWarning(data), "");  // the loader reports it, with its reason
  fs::remove_all(root);
}

TEST(BenchTrainFlagsTest, OutOfRangeValuesAreUsageErrors) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--servers", "-1"}, "--servers: expected an integer in [1, 4096], got '-1'"},
      {{"--workers", "0"}, "--workers: expected an integer in [1, 4096], got '0'"},
      {{"--epochs", "0"}, "--epochs: expected an integer in [1, inf), got '0'"},
      {{"--epochs", "-1"}, "--epochs: expected an integer in [1, inf), got '-1'"},
      {{"--target-rmse", "-0.5"}, "--target-rmse: expected a number in [0, inf), got '-0.5'"},
  };
  for (const auto& [flags, message] : cases) {
    CommandRun run = RunCommand(RunBenchTrain, "train", flags);
    EXPECT_EQ(run.exit_code, 2) << flags[0];
    EXPECT_EQ(run.err, "psrec bench train: " + message + "\n");
  }
}

}  // namespace
}  // namespace psrec::cli
