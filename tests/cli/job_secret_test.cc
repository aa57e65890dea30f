// Where a job's secret comes from: cluster.token, cluster.token_file, or drawn at random.
#include "cli/job_secret.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "wire/handshake_auth.h"

namespace psrec::cli {
namespace {

namespace fs = std::filesystem;

class JobSecretTest : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(testing::TempDir()) / ("job_secret_test-" + std::to_string(getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string Write(const std::string& name, const std::string& contents) {
    const fs::path path = dir_ / name;
    std::ofstream(path, std::ios::binary) << contents;
    return path.string();
  }
  fs::path dir_;
};

TEST_F(JobSecretTest, TokenOrTokenFileIsTheSecret) {
  config::ClusterConfig cluster;
  EXPECT_EQ(ConfiguredJobSecret(cluster).value(), "");
  cluster.set_token("s3cret");
  EXPECT_EQ(ConfiguredJobSecret(cluster).value(), "s3cret");
  cluster.clear_token();
  cluster.set_token_file(Write("token", "from a file\n"));
  EXPECT_EQ(ConfiguredJobSecret(cluster).value(), "from a file");
  EXPECT_EQ(ConfiguredOrDrawnJobSecret(cluster).value(), "from a file");
}

TEST_F(JobSecretTest, BadSettingsAreErrors) {
  config::ClusterConfig cluster;
  cluster.set_token("a");
  cluster.set_token_file(Write("token", "b"));
  EXPECT_EQ(ConfiguredJobSecret(cluster).status().code(), Status::Code::kInvalidArgument);
  cluster.clear_token();
  cluster.set_token_file(Write("empty", "\n"));
  EXPECT_EQ(ConfiguredJobSecret(cluster).status().code(), Status::Code::kInvalidArgument);
  cluster.set_token_file((dir_ / "missing").string());
  EXPECT_EQ(ConfiguredJobSecret(cluster).status().code(), Status::Code::kNotFound);
}

TEST_F(JobSecretTest, WithoutSettingsEachJobDrawsItsOwn) {
  const config::ClusterConfig cluster;
  const std::string first = ConfiguredOrDrawnJobSecret(cluster).value();
  const std::string second = ConfiguredOrDrawnJobSecret(cluster).value();
  EXPECT_EQ(first.size(), wire::kDrawnSecretBytes);
  EXPECT_NE(first, second);
}

}  // namespace
}  // namespace psrec::cli
