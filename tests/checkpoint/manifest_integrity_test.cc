// The MANIFEST's own checksum (checkpoint/manifest_file.h) and the job identity it carries
// (checkpoint/job_identity.h): every flipped bit is refused, empty and truncated files are
// named as such, and identities tell jobs apart by id, model and data.
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "checkpoint/checkpoint_format.h"
#include "checkpoint/checkpoint_reader.h"
#include "checkpoint/checkpoint_writer.h"
#include "checkpoint/job_identity.h"
#include "checkpoint/manifest_file.h"
#include "models/mf/biased_mf.h"
#include "models/model_tables.h"
#include "table/embedding_table.h"

namespace psrec::checkpoint {
namespace {

namespace fs = std::filesystem;

std::string ReadAll(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteAll(const fs::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

config::JobConfig SomeJob() {
  config::JobConfig job;
  job.set_job_id("integrity");
  job.mutable_data()->set_train_path("data/u1.base");
  job.mutable_data()->set_test_path("data/u1.test");
  return job;
}

class ManifestIntegrityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::path(testing::TempDir()) /
            ("manifest_" + std::string(testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(root_);
    TableSpec spec;
    spec.id = models::kItemTable;
    spec.name = "item";
    spec.dim = 3;
    table::EmbeddingTable items(spec, 1);
    for (uint64_t k = 0; k < 20; ++k) {
      const float row[3] = {0.5f * static_cast<float>(k), 1, 2};
      items.UpsertRow(k, row, nullptr);
    }
    Manifest manifest;
    manifest.set_step(4);
    manifest.set_epoch(2);
    (*manifest.mutable_model_scalars())["global_mean"] = 3.5;
    *manifest.mutable_job() = SomeJob();
    std::vector<ShardToWrite> shards = {{items.rows(), 0, false}};
    Result<std::string> dir = WriteCheckpoint(root_.string(), manifest, shards);
    ASSERT_TRUE(dir.ok()) << dir.status().ToString();
    dir_ = *dir;
    manifest_path_ = fs::path(dir_) / kManifestName;
  }
  void TearDown() override { fs::remove_all(root_); }

  fs::path root_;
  std::string dir_;
  fs::path manifest_path_;
};

TEST_F(ManifestIntegrityTest, WrittenManifestIsFramedAndCarriesTheJobIdentity) {
  const std::string bytes = ReadAll(manifest_path_);
  ASSERT_GE(bytes.size(), kManifestHeaderBytes + kManifestTrailerBytes);
  EXPECT_EQ(bytes.substr(0, 8), "PSRECMAN");
  Result<LoadedCheckpoint> ckpt = ReadCheckpoint(dir_);
  ASSERT_TRUE(ckpt.ok()) << ckpt.status().ToString();
  const JobIdentity& id = ckpt->manifest.identity();
  EXPECT_EQ(id.job_id(), "integrity");
  EXPECT_EQ(id.model_type(), "BIASED_MF");
  EXPECT_EQ(id.data_hash(), JobIdentityOf(SomeJob()).data_hash());
}

// Any single flipped bit of the file (magic, length, body, trailer) is a Corruption naming
// the MANIFEST; none is parsed into a manifest that would change the model. Every bit goes
// through the decoder ReadCheckpoint uses; one bit of every fourth byte through
// ReadCheckpoint itself (reading files is what makes it slow).
TEST_F(ManifestIntegrityTest, EveryFlippedBitIsRefused) {
  const std::string good = ReadAll(manifest_path_);
  const std::string path = manifest_path_.string();
  ASSERT_TRUE(DecodeManifestFile(path, good).ok());
  for (size_t byte = 0; byte < good.size(); ++byte) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string bad = good;
      bad[byte] = static_cast<char>(bad[byte] ^ (1 << bit));
      Result<Manifest> r = DecodeManifestFile(path, bad);
      ASSERT_FALSE(r.ok()) << "byte " << byte << " bit " << bit;
      ASSERT_EQ(r.status().code(), Status::Code::kCorruption)
          << "byte " << byte << " bit " << bit << ": " << r.status().ToString();
      ASSERT_NE(r.status().message().find(path + ": "), std::string::npos)
          << r.status().message();
    }
  }
  ReadCheckpointOptions quick;  // the MANIFEST is checked before any rows file
  quick.verify_checksums = false;
  for (size_t byte = 0; byte < good.size(); byte += 4) {
    std::string bad = good;
    bad[byte] = static_cast<char>(bad[byte] ^ (1 << (byte / 4 % 8)));
    WriteAll(manifest_path_, bad);
    Result<LoadedCheckpoint> r = ReadCheckpoint(dir_, quick);
    ASSERT_FALSE(r.ok()) << "byte " << byte;
    ASSERT_EQ(r.status().code(), Status::Code::kCorruption) << r.status().ToString();
    ASSERT_NE(r.status().message().find(path + ": "), std::string::npos);
  }
  WriteAll(manifest_path_, good);
  EXPECT_TRUE(ReadCheckpoint(dir_).ok());
}

TEST_F(ManifestIntegrityTest, AFlippedModelScalarIsAChecksumMismatch) {
  std::string bytes = ReadAll(manifest_path_);
  // 3.5 as a little-endian double; flip the bit that makes it 7.0 (the example).
  const double mean = 3.5;
  std::string pattern(reinterpret_cast<const char*>(&mean), sizeof(mean));
  const size_t at = bytes.find(pattern);
  ASSERT_NE(at, std::string::npos);
  bytes[at + 6] = static_cast<char>(bytes[at + 6] ^ 0x10);  // exponent + 1: 7.0
  double now;
  std::memcpy(&now, bytes.data() + at, sizeof(now));
  ASSERT_EQ(now, 7.0);
  WriteAll(manifest_path_, bytes);
  Result<LoadedCheckpoint> r = ReadCheckpoint(dir_);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("MANIFEST: checksum mismatch"), std::string::npos)
      << r.status().message();
}

TEST_F(ManifestIntegrityTest, EmptyAndTruncatedManifestsAreNamed) {
  const std::string good = ReadAll(manifest_path_);
  auto message_after = [&](const std::string& bytes) {
    WriteAll(manifest_path_, bytes);
    Result<LoadedCheckpoint> r = ReadCheckpoint(dir_);
    EXPECT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), Status::Code::kCorruption);
    return r.status().message();
  };
  const std::string empty = message_after("");
  EXPECT_NE(empty.find("empty MANIFEST"), std::string::npos) << empty;
  EXPECT_EQ(empty.find("format version"), std::string::npos) << empty;
  for (size_t keep : {size_t{3}, size_t{8}, size_t{20}, good.size() / 2, good.size() - 1}) {
    const std::string cut = message_after(good.substr(0, keep));
    EXPECT_NE(cut.find("truncated"), std::string::npos) << keep << ": " << cut;
  }
  EXPECT_NE(message_after(good + "x").find("MANIFEST"), std::string::npos);
}

TEST_F(ManifestIntegrityTest, DecodeRoundTripsAndRefusesABareProtobuf) {
  Manifest m;
  m.set_format_version(kCheckpointFormatVersion);
  m.set_step(9);
  Result<std::string> file = EncodeManifestFile(m);
  ASSERT_TRUE(file.ok());
  EXPECT_EQ(file->size(), m.ByteSizeLong() + kManifestHeaderBytes + kManifestTrailerBytes);
  Result<Manifest> back = DecodeManifestFile("M", *file);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->step(), 9);
  // A bare format-2 Protobuf (no frame) is not read as a manifest.
  Result<Manifest> bare = DecodeManifestFile("M", m.SerializeAsString());
  ASSERT_FALSE(bare.ok());
  EXPECT_NE(bare.status().message().find("no PSRECMAN magic"), std::string::npos);
}

TEST(JobIdentityTest, SameJobWhateverTheRunSettings) {
  config::JobConfig a = SomeJob();
  config::JobConfig b = a;
  b.mutable_cluster()->set_workers(7);
  b.mutable_training()->set_epochs(99);
  b.mutable_data()->set_train_path("./data/../data/u1.base");  // the same file, spelled otherwise
  b.mutable_data()->mutable_split()->set_seed(1);               // the default, now explicit
  EXPECT_TRUE(CheckSameJob(JobIdentityOf(a), JobIdentityOf(b), "ckpt").ok());
  // Synthetic settings do not matter when the data comes from files.
  b.mutable_data()->mutable_synthetic()->set_seed(123);
  EXPECT_TRUE(CheckSameJob(JobIdentityOf(a), JobIdentityOf(b), "ckpt").ok());
}

TEST(JobIdentityTest, OtherJobIdModelOrDataIsNamed) {
  const JobIdentity saved = JobIdentityOf(SomeJob());
  config::JobConfig other_id = SomeJob();
  other_id.set_job_id("someone-else");
  Status s = CheckSameJob(saved, JobIdentityOf(other_id), "ckpt/step-4");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s.message().find("ckpt/step-4 was written by another job"), std::string::npos);
  EXPECT_NE(s.message().find("job id 'integrity' (checkpoint) vs 'someone-else' (this job)"),
            std::string::npos) << s.message();
  EXPECT_NE(s.message().find("--resume-other-job"), std::string::npos);

  config::JobConfig other_data = SomeJob();
  other_data.mutable_data()->set_train_path("data/u2.base");
  other_data.mutable_data()->set_max_rating(5);
  s = CheckSameJob(saved, JobIdentityOf(other_data), "ckpt");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("data.train_path '" + fs::absolute("data/u1.base").string() + "'"),
            std::string::npos) << s.message();
  EXPECT_NE(s.message().find("u2.base"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("data.max_rating "), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("vs 5 (this job)"), std::string::npos) << s.message();
  EXPECT_EQ(s.message().find("job id"), std::string::npos);

  config::JobConfig synthetic_a, synthetic_b;
  synthetic_a.mutable_data()->mutable_synthetic()->set_num_users(100);
  synthetic_b.mutable_data()->mutable_synthetic()->set_num_users(200);
  s = CheckSameJob(JobIdentityOf(synthetic_a), JobIdentityOf(synthetic_b), "ckpt");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("data.synthetic.num_users 100 (checkpoint) vs 200 (this job)"),
            std::string::npos) << s.message();
}

}  // namespace
}  // namespace psrec::checkpoint
