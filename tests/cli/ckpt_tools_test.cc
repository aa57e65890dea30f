// psrec ckpt tools run in-process on small checkpoints with known rows: outputs, JSON and
// exit codes (0 ok, 1 problem, 2 usage), including corrupt inputs.
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cli/commands.h"
#include "common/json.h"
#include "models/mf/biased_mf.h"
#include "models/model_tables.h"
#include "checkpoint/checkpoint_format.h"
#include "checkpoint/checkpoint_writer.h"
#include "table/embedding_table.h"

namespace psrec::cli {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

struct ToolRun {
  int code;
  std::string out;
  std::string err;
};

ToolRun Ckpt(std::vector<std::string> args) {
  args.insert(args.begin(), "ckpt");
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  testing::internal::CaptureStdout();
  testing::internal::CaptureStderr();
  const int code = RunCkptCommand(static_cast<int>(argv.size()), argv.data());
  ToolRun run{code, testing::internal::GetCapturedStdout(), testing::internal::GetCapturedStderr()};
  return run;
}

TableSpec Spec(TableId id, const char* name) {
  TableSpec spec;
  spec.id = id;
  spec.name = name;
  spec.dim = 3;  // 2 factors + bias
  spec.optimizer.set_kind(config::OptimizerConfig::ADAGRAD);
  return spec;
}

class CkptToolsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::path(testing::TempDir()) /
            ("ckpt_tools_" +
             std::string(testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(root_);
    fs::create_directories(root_);
    users_ = std::make_unique<table::EmbeddingTable>(Spec(models::kUserTable, "user"), 1);
    items_ = std::make_unique<table::EmbeddingTable>(Spec(models::kItemTable, "item"), 1);
    // User 1 = (1, 0), bias 0.5; item k = (k, k % 2), bias 0.1 * k: score(1, k) =
    // 3 + 0.5 + 0.1k + k, so items rank by id.
    const float user[3] = {1, 0, 0.5f}, state[3] = {1, 2, 3};
    users_->UpsertRow(1, user, state);
    const float user2[3] = {0, 1, 0};
    users_->UpsertRow(2, user2, state);
    for (uint64_t k = 1; k <= 6; ++k) SetItem(k, static_cast<float>(k));
    dir_ = Write(1);
  }
  void TearDown() override { fs::remove_all(root_); }

  void SetItem(uint64_t k, float x) {
    const float row[3] = {x, static_cast<float>(k % 2), 0.1f * static_cast<float>(k)};
    const float state[3] = {0.5f, 0.5f, 0.5f};
    items_->UpsertRow(k, row, state);
  }

  std::string Write(int64_t step) {
    std::vector<checkpoint::ShardToWrite> shards = {{users_->rows(), 0, true}, {items_->rows(), 0, false}};
    checkpoint::Manifest manifest;
    manifest.set_step(step);
    manifest.set_epoch(static_cast<int>(step));
    (*manifest.mutable_model_scalars())["global_mean"] = 3.0;
    manifest.mutable_job()->set_job_id("tools-test");
    manifest.mutable_job()->mutable_model()->set_dim(2);  // the tables' 2 factors
    Result<std::string> dir = checkpoint::WriteCheckpoint(root_.string(), manifest, shards);
    EXPECT_TRUE(dir.ok()) << dir.status().ToString();
    return dir.ok() ? *dir : "";
  }

  std::string WriteFile(const std::string& name, const std::string& contents) {
    const std::string path = (root_ / name).string();
    std::ofstream(path, std::ios::binary) << contents;
    return path;
  }

  fs::path root_;
  std::string dir_;
  std::unique_ptr<table::EmbeddingTable> users_, items_;
};

std::string ReadAll(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST_F(CkptToolsTest, UsageAndHelp) {
  EXPECT_EQ(Ckpt({}).code, 0);
  EXPECT_EQ(Ckpt({"frobnicate"}).code, 2);
  EXPECT_EQ(Ckpt({"show", dir_, "--id", "1"}).code, 2);  // --table missing
  EXPECT_EQ(Ckpt({"topk", "--help"}).code, 0);
  EXPECT_EQ(Ckpt({"export", dir_, "--table", "item", "--format", "xml", "--out", "x"}).code, 2);
}

TEST_F(CkptToolsTest, LsShowsValidAndWhyNot) {
  fs::create_directories(root_ / checkpoint::CheckpointDirName(7));
  ToolRun run = Ckpt({"ls", root_.string()});
  EXPECT_EQ(run.code, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr(checkpoint::CheckpointDirName(1) + "  step 1  epoch 1"));
  EXPECT_THAT(run.out, HasSubstr("valid (manifest)"));
  EXPECT_THAT(run.out, HasSubstr("rows not verified: --verify"));
  EXPECT_THAT(run.out, HasSubstr("INVALID: "));
  EXPECT_THAT(run.out, HasSubstr("no MANIFEST"));
  ToolRun json = Ckpt({"ls", root_.string(), "--json"});
  EXPECT_THAT(json.out, HasSubstr("\"step\":1,\"epoch\":1"));
  EXPECT_THAT(json.out, HasSubstr("\"valid\":false"));
  EXPECT_EQ(Ckpt({"ls", (root_ / "missing").string()}).code, 1);
}

// Without --verify, "valid" says it covers the MANIFEST only: a corrupted rows file is
// listed "valid (manifest)", and --verify finds it.
TEST_F(CkptToolsTest, LsSaysWhatValidCovers) {
  const fs::path item_file = fs::path(dir_) / "item-0.rows";
  std::string bytes = ReadAll(item_file);
  bytes[64 + 6 * 8 + 5] ^= 0x01;
  std::ofstream(item_file, std::ios::binary | std::ios::trunc) << bytes;
  ToolRun quick = Ckpt({"ls", root_.string()});
  EXPECT_THAT(quick.out, HasSubstr("valid (manifest)"));
  EXPECT_THAT(Ckpt({"ls", root_.string(), "--json"}).out, HasSubstr("\"rows_verified\":false"));
  ToolRun verified = Ckpt({"ls", root_.string(), "--verify"});
  EXPECT_EQ(verified.code, 0) << verified.err;
  EXPECT_THAT(verified.out, HasSubstr("INVALID: "));
  EXPECT_THAT(verified.out, HasSubstr("item-0.rows: checksum mismatch"));
  EXPECT_THAT(verified.out, Not(HasSubstr("rows not verified")));
}

// A flipped MANIFEST bit (the global mean 3.0 -> 6.0) fails verify and every tool that opens
// the checkpoint.
TEST_F(CkptToolsTest, FlippedManifestIsRefusedByEveryTool) {
  const fs::path manifest = fs::path(dir_) / checkpoint::kManifestName;
  std::string bytes = ReadAll(manifest);
  const double mean = 3.0;
  const size_t at = bytes.find(std::string(reinterpret_cast<const char*>(&mean), sizeof(mean)));
  ASSERT_NE(at, std::string::npos);
  bytes[at + 6] ^= 0x10;  // exponent + 1
  std::ofstream(manifest, std::ios::binary | std::ios::trunc) << bytes;
  for (std::vector<std::string> args :
       {std::vector<std::string>{"verify", dir_}, {"info", dir_}, {"topk", dir_, "--user", "1"},
        {"show", dir_, "--table", "item", "--id", "1"}}) {
    ToolRun run = Ckpt(args);
    EXPECT_EQ(run.code, 1) << args[0];
    EXPECT_THAT(run.err, HasSubstr("MANIFEST: checksum mismatch")) << args[0];
  }
  std::ofstream(manifest, std::ios::binary | std::ios::trunc) << "";
  EXPECT_THAT(Ckpt({"verify", dir_}).err, HasSubstr("empty MANIFEST"));
}

TEST_F(CkptToolsTest, InfoSummarizesTables) {
  ToolRun run = Ckpt({"info", dir_});
  EXPECT_EQ(run.code, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr("job 'tools-test'"));
  EXPECT_THAT(run.out, HasSubstr("identity: job 'tools-test', model BIASED_MF, data hash "));
  EXPECT_THAT(run.out, HasSubstr("table item (id 1): 6 rows x dim 3, optimizer ADAGRAD"));
  EXPECT_THAT(run.out, HasSubstr("table user (id 0): 2 rows"));
  // Item factor norms: sqrt(k^2 + (k%2)^2), k = 1..6: max sqrt(36) = 6.
  EXPECT_THAT(run.out, HasSubstr("max 6 "));
  ToolRun json = Ckpt({"info", dir_, "--json"});
  EXPECT_THAT(json.out, HasSubstr("\"model_scalars\":{\"global_mean\":3}"));
  EXPECT_THAT(json.out, HasSubstr("\"name\":\"item\",\"id\":1,\"dim\":3"));
}

TEST_F(CkptToolsTest, VerifyNamesTheProblem) {
  EXPECT_EQ(Ckpt({"verify", dir_}).code, 0);
  ToolRun json = Ckpt({"verify", dir_, "--json"});
  EXPECT_THAT(json.out, HasSubstr("\"ok\":true,\"rows\":8"));

  const fs::path item_file = fs::path(dir_) / "item-0.rows";
  std::string bytes = ReadAll(item_file);
  bytes[64 + 6 * 8 + 5] ^= 0x01;  // first item row
  std::ofstream(item_file, std::ios::binary | std::ios::trunc) << bytes;
  ToolRun flipped = Ckpt({"verify", dir_});
  EXPECT_EQ(flipped.code, 1);
  EXPECT_THAT(flipped.err, HasSubstr("item-0.rows: checksum mismatch"));

  fs::resize_file(item_file, 100);
  ToolRun truncated = Ckpt({"verify", dir_});
  EXPECT_EQ(truncated.code, 1);
  EXPECT_THAT(truncated.err, HasSubstr("truncated"));

  fs::remove(fs::path(dir_) / checkpoint::kManifestName);
  ToolRun no_manifest = Ckpt({"verify", dir_});
  EXPECT_EQ(no_manifest.code, 1);
  EXPECT_THAT(no_manifest.err, HasSubstr("no MANIFEST"));
  EXPECT_EQ(Ckpt({"verify", (root_ / "nothing").string()}).code, 1);
}

TEST_F(CkptToolsTest, VerifyFindsNaN) {
  const float bad[3] = {1, std::numeric_limits<float>::quiet_NaN(), 0};
  items_->UpsertRow(4, bad, nullptr);
  const std::string dir = Write(2);
  ToolRun run = Ckpt({"verify", dir});
  EXPECT_EQ(run.code, 1);
  EXPECT_THAT(run.err, HasSubstr("table item row 4 value 1 is NaN"));
}

TEST_F(CkptToolsTest, ShowPrintsRow) {
  ToolRun run = Ckpt({"show", dir_, "--table", "user", "--id", "1"});
  EXPECT_EQ(run.code, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr("factors (2, L2 1): [1,0]"));
  EXPECT_THAT(run.out, HasSubstr("bias: 0.5"));
  EXPECT_THAT(run.out, HasSubstr("optimizer state (ADAGRAD): [1,2,3]"));
  ToolRun json = Ckpt({"show", dir_, "--table", "item", "--id", "#0000000000000003", "--json"});
  EXPECT_EQ(json.code, 0) << json.err;
  EXPECT_THAT(json.out, HasSubstr("\"id\":\"3\",\"factors\":[3,1],\"bias\":0.3"));
  EXPECT_EQ(Ckpt({"show", dir_, "--table", "item", "--id", "99"}).code, 1);
  ToolRun no_table = Ckpt({"show", dir_, "--table", "movie", "--id", "1"});
  EXPECT_EQ(no_table.code, 1);
  EXPECT_THAT(no_table.err, HasSubstr("tables: user, item"));
}

TEST_F(CkptToolsTest, TopKScoresExcludesSeenAndNamesItems) {
  ToolRun run = Ckpt({"topk", dir_, "--user", "1", "-k", "3"});
  EXPECT_EQ(run.code, 0) << run.err;
  // score = 3 + 0.5 + 0.1k + k
  EXPECT_EQ(run.out, "1\t6\t10.1\n2\t5\t9\n3\t4\t7.9\n");

  const std::string seen = WriteFile("seen.data", "1\t6\t4\t881250949\n1\t4\t3\t881250950\n"
                                                  "2\t5\t5\t881250951\n");
  const std::string names = WriteFile("u.item", "5|Five (1995)|01-Jan-1995||http://x|0|1\n"
                                                "3|Caf\xe9 (1996)|01-Jan-1996||http://y|0|1\n");
  ToolRun filtered = Ckpt({"topk", dir_, "--user", "1", "-k", "3", "--exclude-seen", seen,
                       "--item-names", names});
  EXPECT_EQ(filtered.code, 0) << filtered.err;
  EXPECT_EQ(filtered.out, "1\t5\t9\tFive (1995)\n2\t3\t6.8\tCaf\xe9 (1996)\n3\t2\t5.7\n");
  ToolRun json = Ckpt({"topk", dir_, "--user", "1", "-k", "1", "--json", "--item-names", names});
  EXPECT_EQ(json.out, "[{\"rank\":1,\"id\":\"6\",\"score\":10.1}]\n");

  EXPECT_EQ(Ckpt({"topk", dir_, "--user", "77"}).code, 1);
  EXPECT_EQ(Ckpt({"topk", dir_, "--user", "1", "--exclude-seen", (root_ / "no").string()}).code, 1);
  EXPECT_EQ(Ckpt({"topk", dir_, "--user", "1", "-k", "0"}).code, 1);
}

// Paths, messages and titles reach --json as they are; the library escapes them. A strict
// parser must read back the same text (invalid UTF-8 as U+FFFD, Latin-1 titles as UTF-8).
TEST_F(CkptToolsTest, JsonEscapesPathsMessagesAndTitles) {
  const fs::path odd = root_ / "q\"uote back\\slash\nnew\tline caf\xc3\xa9 latin\xe9";
  fs::create_directories(odd);
  std::vector<checkpoint::ShardToWrite> shards = {{users_->rows(), 0, true},
                                                  {items_->rows(), 0, false}};
  checkpoint::Manifest manifest;
  manifest.set_step(3);
  manifest.mutable_job()->set_job_id("job \"x\"\n");
  manifest.mutable_job()->mutable_model()->set_dim(2);
  (*manifest.mutable_model_scalars())["global_mean"] = 3.0;
  Result<std::string> dir = checkpoint::WriteCheckpoint(odd.string(), manifest, shards);
  ASSERT_TRUE(dir.ok()) << dir.status().ToString();
  auto as_read = [](std::string text) {  // what a reader gets for the invalid byte 0xE9
    return text.replace(text.find("latin\xe9") + 5, 1, "\xEF\xBF\xBD");
  };

  ToolRun ls = Ckpt({"ls", odd.string(), "--json"});
  ASSERT_EQ(ls.code, 0) << ls.err;
  EXPECT_EQ(Json::parse(ls.out)[0]["path"], as_read(*dir));
  ToolRun info = Ckpt({"info", *dir, "--json"});
  ASSERT_EQ(info.code, 0) << info.err;
  const Json parsed = Json::parse(info.out);
  EXPECT_EQ(parsed["path"], as_read(*dir));
  EXPECT_EQ(parsed["job_id"], "job \"x\"\n");
  EXPECT_EQ(parsed["tables"][1]["name"], "item");
  ToolRun verify = Ckpt({"verify", (odd / "step-missing").string(), "--json"});
  EXPECT_EQ(verify.code, 1);
  const Json problem = Json::parse(verify.out);
  EXPECT_EQ(problem["ok"], false);
  EXPECT_THAT(problem["problem"].get<std::string>(), HasSubstr("new\tline"));
  const std::string out = (odd / "item \"1\".csv").string();
  ToolRun exported = Ckpt({"export", *dir, "--table", "item", "--format", "csv", "--out", out,
                           "--json"});
  ASSERT_EQ(exported.code, 0) << exported.err;
  EXPECT_EQ(Json::parse(exported.out)["files"][0], as_read(out));

  // ML-100K titles are Latin-1: converted, not replaced; a UTF-8 title is kept.
  const std::string names = WriteFile("u.item", "6|Caf\xe9 \"Noir\" \\ (1996)|x\n"
                                                "5|Caf\xc3\xa9 (1995)|x\n");
  ToolRun topk = Ckpt({"topk", dir_, "--user", "1", "-k", "2", "--json", "--item-names", names});
  ASSERT_EQ(topk.code, 0) << topk.err;
  const Json ranked = Json::parse(topk.out);
  EXPECT_EQ(ranked[0]["name"], "Caf\xc3\xa9 \"Noir\" \\ (1996)");
  EXPECT_EQ(ranked[1]["name"], "Caf\xc3\xa9 (1995)");
}

TEST_F(CkptToolsTest, SimilarByCosine) {
  // Item 2 = (2, 0): closest by angle are the even items (cosine 1), then 5 = (5, 1).
  ToolRun run = Ckpt({"similar", dir_, "--item", "2", "-k", "3", "--json"});
  EXPECT_EQ(run.code, 0) << run.err;
  EXPECT_EQ(run.out,
            "[{\"rank\":1,\"id\":\"4\",\"cosine\":1},\n {\"rank\":2,\"id\":\"6\",\"cosine\":1},\n"
            " {\"rank\":3,\"id\":\"5\",\"cosine\":0.980581}]\n");
  EXPECT_THAT(run.out, Not(HasSubstr("\"id\":\"2\"")));
}

TEST_F(CkptToolsTest, DiffCountsChanges) {
  SetItem(3, 7.0f);  // moved by 4
  SetItem(9, 1.0f);  // added
  const std::string b = Write(2);
  ToolRun run = Ckpt({"diff", dir_, b, "--top", "1"});
  EXPECT_EQ(run.code, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr("table item: 6 -> 7 rows, +1 added, -0 removed; L2 change of 6 "
                                 "common rows: mean 0.666667, max 4"));
  EXPECT_THAT(run.out, HasSubstr("    3\t4\n"));
  EXPECT_THAT(run.out, HasSubstr("table user: 2 -> 2 rows, +0 added, -0 removed"));
  ToolRun json = Ckpt({"diff", dir_, b, "--json"});
  EXPECT_THAT(json.out, HasSubstr("\"added\":1,\"removed\":0,\"common\":6"));
  EXPECT_EQ(Ckpt({"diff", dir_, (root_ / "none").string()}).code, 1);
}

TEST_F(CkptToolsTest, ExportNpyAndCsv) {
  const std::string npy = (root_ / "items.npy").string();
  ToolRun run = Ckpt({"export", dir_, "--table", "item", "--format", "npy", "--out", npy});
  EXPECT_EQ(run.code, 0) << run.err;
  const std::string matrix = ReadAll(npy);
  ASSERT_GE(matrix.size(), 128u);
  EXPECT_EQ(matrix.substr(0, 6), "\x93NUMPY");
  const size_t header = 10 + static_cast<unsigned char>(matrix[8]) +
                        256 * static_cast<unsigned char>(matrix[9]);
  EXPECT_EQ(header % 64, 0u);
  EXPECT_THAT(matrix.substr(0, header), HasSubstr("'descr': '<f4', 'fortran_order': False, 'shape': (6, 3)"));
  ASSERT_EQ(matrix.size(), header + 6 * 3 * 4);
  float first[3];
  std::memcpy(first, matrix.data() + header, sizeof(first));
  EXPECT_EQ(first[0], 1.0f);  // item 1, sorted by key
  EXPECT_EQ(first[1], 1.0f);
  EXPECT_FLOAT_EQ(first[2], 0.1f);
  EXPECT_EQ(ReadAll(root_ / "items.ids.txt"), "1\n2\n3\n4\n5\n6\n");
  const std::string keys = ReadAll(root_ / "items.keys.npy");
  EXPECT_THAT(keys, HasSubstr("'descr': '<u8', 'fortran_order': False, 'shape': (6,)"));

  const std::string csv = (root_ / "users.csv").string();
  EXPECT_EQ(Ckpt({"export", dir_, "--table", "user", "--format", "csv", "--out", csv}).code, 0);
  EXPECT_EQ(ReadAll(csv), "id,f0,f1,bias\n1,1,0,0.5\n2,0,1,0\n");
  EXPECT_EQ(Ckpt({"export", dir_, "--table", "nope", "--out", csv}).code, 1);
}

TEST_F(CkptToolsTest, TopKOnMovieLensFilesLeavesOutRatedItems) {
  const std::string data = PSREC_ML100K_DIR;
  if (!fs::exists(data + "/u1.base") || !fs::exists(data + "/u.item")) {
    GTEST_SKIP() << "ML-100K not found at " << data;
  }
  // Rows from the initializer for every ML-100K item: the ranking is arbitrary but complete.
  TableSpec spec = Spec(models::kItemTable, "item");
  spec.init_std = 1.0f;
  table::EmbeddingTable items(spec, 3);
  std::vector<uint64_t> keys;
  for (uint64_t k = 1; k <= 1682; ++k) keys.push_back(k);
  std::vector<float> sink(keys.size() * 3);
  items.Pull(keys, sink.data());
  std::vector<checkpoint::ShardToWrite> shards = {{users_->rows(), 0, true}, {items.rows(), 0, false}};
  checkpoint::Manifest manifest;
  manifest.set_step(5);
  (*manifest.mutable_model_scalars())["global_mean"] = 3.0;
  manifest.mutable_job()->mutable_model()->set_dim(2);
  Result<std::string> dir = checkpoint::WriteCheckpoint(root_.string(), manifest, shards);
  ASSERT_TRUE(dir.ok());
  ToolRun run = Ckpt({"topk", *dir, "--user", "1", "-k", "10", "--json", "--item-names",
                      data + "/u.item", "--exclude-seen", data + "/u1.base"});
  ASSERT_EQ(run.code, 0) << run.err;
  // User 1 rated items 1..272 in u.data; u1.base holds most of them. None may appear.
  std::set<std::string> rated;
  std::ifstream base(data + "/u1.base");
  std::string user, item, rest;
  while (base >> user >> item && std::getline(base, rest)) {
    if (user == "1") rated.insert(item);
  }
  ASSERT_GT(rated.size(), 100u);
  int listed = 0;
  for (size_t pos = 0; (pos = run.out.find("\"id\":\"", pos)) != std::string::npos; ++listed) {
    pos += 6;
    const std::string id = run.out.substr(pos, run.out.find('"', pos) - pos);
    EXPECT_EQ(rated.count(id), 0u) << id;
  }
  EXPECT_EQ(listed, 10);
  EXPECT_EQ(std::count(run.out.begin(), run.out.end(), '\n'), 10);
  EXPECT_NE(run.out.find("\"name\":"), std::string::npos);
}

}  // namespace
}  // namespace psrec::cli
