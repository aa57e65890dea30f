// Issue #16's failing case end to end: a generated Book-Crossing-like dump (fully quoted,
// ';'-separated, a header, CR-only line endings, ISBN-like ids with leading zeros and a
// trailing X) is read without editing by `psrec data stats|split|prepare` and trained by
// `psrec sim`, all through the built executable, and its checkpoints name the books by their
// ISBNs in every `psrec ckpt` tool, across a resume. No third-party data: the file is invented.
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <algorithm>
#include <vector>
#include <random>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace psrec::cli {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

class RealWorldInputTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("psrec_real_input_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
    // 150 users rate 12 of 40 books each; a third of the ISBNs start with 0, one is the
    // integer form of another (0155061224 vs 155061224), some end in X.
    std::mt19937 rng(5);
    std::vector<std::string> isbns = {"0155061224", "155061224", "034545104X"};
    while (isbns.size() < 40) {
      std::string isbn = std::to_string(100000000 + rng() % 900000000);
      if (isbns.size() % 3 == 0) isbn[0] = '0';
      isbn += "0123456789X"[rng() % 11];
      isbns.push_back(isbn);
    }
    std::string text = "\"User-ID\";\"ISBN\";\"Book-Rating\"";
    for (int user = 1; user <= 150; ++user) {
      std::shuffle(isbns.begin(), isbns.end(), rng);
      for (int k = 0; k < 12; ++k) {
        text += "\r\"" + std::to_string(user) + "\";\"" + isbns[k] + "\";\"" +
                std::to_string(1 + rng() % 10) + "\"";
      }
    }
    text += "\r";
    input_ = (dir_ / "BX-Book-Ratings.csv").string();
    std::ofstream(input_, std::ios::binary) << text;
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Runs `psrec <args>`; returns the exit code, stdout and stderr together in *out.
  int Psrec(const std::string& args, std::string* out) {
    const std::string cmd = std::string(PSREC_BINARY_DIR "/psrec ") + args + " 2>&1";
    out->clear();
    FILE* pipe = ::popen(cmd.c_str(), "r");
    if (pipe == nullptr) return -1;
    std::array<char, 4096> buf;
    size_t n;
    while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) out->append(buf.data(), n);
    const int status = ::pclose(pipe);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  fs::path dir_;
  std::string input_;
};

constexpr char kDelimitedFlags[] =
    " --delimiter ';' --header --columns user=User-ID,item=ISBN,rating=Book-Rating";

TEST_F(RealWorldInputTest, DataToolsReadTheDumpWithFlagsOrConfig) {
  std::string out;
  ASSERT_EQ(Psrec("data stats --input " + input_ + kDelimitedFlags, &out), 0) << out;
  EXPECT_THAT(out, HasSubstr("users: 150"));
  EXPECT_THAT(out, HasSubstr("ratings: 1800"));

  // The same through --set, as training reads it.
  ASSERT_EQ(Psrec("data stats --input " + input_ +
                      " --set data.format=DELIMITED --set \"data.delimited.delimiter=;\""
                      " --set data.delimited.header=true",
                  &out),
            0)
      << out;
  EXPECT_THAT(out, HasSubstr("ratings: 1800"));

  const std::string train = (dir_ / "train.txt").string(), test = (dir_ / "test.txt").string();
  ASSERT_EQ(Psrec("data split --input " + input_ + kDelimitedFlags + " --out-train " + train +
                      " --out-test " + test,
                  &out),
            0)
      << out;
  std::ifstream split_train(train);
  const std::string lines((std::istreambuf_iterator<char>(split_train)),
                          std::istreambuf_iterator<char>());
  EXPECT_THAT(lines, HasSubstr(" 0155061224 "));  // the ids as they were written
  EXPECT_THAT(lines, HasSubstr(" 034545104X "));

  const std::string prepared = (dir_ / "prepared").string();
  ASSERT_EQ(Psrec("data prepare --input " + input_ + kDelimitedFlags +
                      " --split random --parts 2 --out " + prepared,
                  &out),
            0)
      << out;
  ASSERT_EQ(Psrec("data stats --input " + prepared, &out), 0) << out;
  EXPECT_THAT(out, HasSubstr("ratings: 1800"));
  EXPECT_THAT(out, HasSubstr("items: 40"));  // 0155061224 and 155061224 stay two items
}

TEST_F(RealWorldInputTest, SimTrainsOnTheDumpUnedited) {
  std::string out;
  ASSERT_EQ(Psrec("sim --quiet --out " + (dir_ / "run").string() + " --set data.train_path=" +
                      input_ +
                      " --set data.format=DELIMITED --set \"data.delimited.delimiter=;\""
                      " --set data.delimited.header=true"
                      " --set data.delimited.item_column_name=ISBN"
                      " --set data.split.kind=RANDOM --set training.epochs=2",
                  &out),
            0)
      << out;
  EXPECT_THAT(out, HasSubstr("test_rmse"));
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// The newest step-* directory under `root`.
std::string LatestCheckpoint(const fs::path& root) {
  std::vector<std::string> steps;
  for (const auto& entry : fs::directory_iterator(root)) {
    if (entry.path().filename().string().rfind("step-", 0) == 0) steps.push_back(entry.path());
  }
  std::sort(steps.begin(), steps.end());
  return steps.empty() ? std::string() : steps.back();
}

constexpr char kDumpSettings[] =
    " --set data.format=DELIMITED --set \"data.delimited.delimiter=;\""
    " --set data.delimited.header=true --set data.delimited.item_column_name=ISBN"
    " --set data.split.kind=RANDOM --set cluster.workers=2 --set cluster.servers=2";

TEST_F(RealWorldInputTest, CheckpointToolsPrintTheOriginalIds) {
  const fs::path root = dir_ / "ckpt";
  std::string out;
  ASSERT_EQ(Psrec("sim --quiet --out " + (dir_ / "run").string() + " --set data.train_path=" +
                      input_ + kDumpSettings + " --set training.epochs=2 --set checkpoint.dir=" +
                      root.string(),
                  &out),
            0)
      << out;
  const std::string ckpt = LatestCheckpoint(root);
  ASSERT_FALSE(ckpt.empty()) << out;

  // Every item of user 1's list is named by its ISBN, never by a hash.
  ASSERT_EQ(Psrec("recommend " + ckpt + " --user 1 -k 40", &out), 0) << out;
  EXPECT_THAT(out, HasSubstr("\t0155061224\t"));
  EXPECT_THAT(out, HasSubstr("\t155061224\t"));
  EXPECT_THAT(out, HasSubstr("\t034545104X\t"));
  EXPECT_THAT(out, ::testing::Not(HasSubstr("#")));
  std::string topk;
  ASSERT_EQ(Psrec("ckpt topk " + ckpt + " --user 1 -k 40", &topk), 0) << topk;
  EXPECT_EQ(topk, out);
  ASSERT_EQ(Psrec("ckpt similar " + ckpt + " --item 034545104X -k 39", &out), 0) << out;
  EXPECT_THAT(out, HasSubstr("\t0155061224\t"));
  EXPECT_THAT(out, ::testing::Not(HasSubstr("#")));

  // --id takes the text; 0155061224 and 155061224 are two rows.
  std::string zero, plain;
  ASSERT_EQ(Psrec("ckpt show " + ckpt + " --table item --id 0155061224", &zero), 0) << zero;
  ASSERT_EQ(Psrec("ckpt show " + ckpt + " --table item --id 155061224", &plain), 0) << plain;
  EXPECT_THAT(zero, HasSubstr("item 0155061224\n"));
  EXPECT_THAT(plain, HasSubstr("item 155061224\n"));
  EXPECT_NE(zero.substr(zero.find('\n')), plain.substr(plain.find('\n')));

  const std::string csv = (dir_ / "items.csv").string();
  ASSERT_EQ(Psrec("ckpt export " + ckpt + " --table item --format csv --out " + csv, &out), 0)
      << out;
  const std::string rows = ReadFile(csv);
  EXPECT_THAT(rows, HasSubstr("\n0155061224,"));
  EXPECT_THAT(rows, HasSubstr("\n155061224,"));
  EXPECT_THAT(rows, HasSubstr("\n034545104X,"));
  EXPECT_THAT(rows, ::testing::Not(HasSubstr("#")));
  const std::string npy = (dir_ / "items.npy").string();
  ASSERT_EQ(Psrec("ckpt export " + ckpt + " --table item --format npy --out " + npy, &out), 0)
      << out;
  const std::string ids = ReadFile(dir_ / "items.ids.txt");
  EXPECT_THAT(ids, HasSubstr("\n034545104X\n"));
  EXPECT_EQ(std::count(ids.begin(), ids.end(), '\n'), 40);
  ASSERT_EQ(Psrec("ckpt info " + ckpt, &out), 0) << out;
  EXPECT_THAT(out, HasSubstr("id text: "));

  // Resume on other data (no rating of 034545104X: its row comes from the checkpoint only)
  // and another cluster shape: the new checkpoint still names it.
  std::string dump = ReadFile(input_), kept;
  size_t start = 0;
  while (start < dump.size()) {
    const size_t end = dump.find('\r', start);
    const std::string line = dump.substr(start, end - start + 1);
    if (line.find("034545104X") == std::string::npos) kept += line;
    start = end + 1;
  }
  const std::string other = (dir_ / "other.csv").string();
  std::ofstream(other, std::ios::binary) << kept;
  ASSERT_EQ(Psrec("sim --quiet --out " + (dir_ / "run2").string() + " --set data.train_path=" +
                      other + kDumpSettings + " --set cluster.workers=3 --set cluster.servers=1" +
                      " --set training.epochs=3 --set checkpoint.dir=" + root.string() +
                      " --resume-from " + ckpt + " --resume-other-job",
                  &out),
            0)
      << out;
  const std::string resumed = LatestCheckpoint(root);
  ASSERT_NE(resumed, ckpt) << out;
  ASSERT_EQ(Psrec("ckpt export " + resumed + " --table item --format csv --out " + csv, &out), 0)
      << out;
  EXPECT_THAT(ReadFile(csv), HasSubstr("\n034545104X,"));
  EXPECT_THAT(ReadFile(csv), ::testing::Not(HasSubstr("#")));
  ASSERT_EQ(Psrec("ckpt show " + resumed + " --table item --id 034545104X", &out), 0) << out;
  EXPECT_THAT(out, HasSubstr("item 034545104X\n"));
}

TEST_F(RealWorldInputTest, DataToolsNameQuotingErrors) {
  std::ofstream(input_, std::ios::binary) << "\"u\";\"i\";\"r\"\r\"1\";\"2;\"3\"\r";
  std::string out;
  EXPECT_EQ(Psrec("data stats --input " + input_ + " --delimiter ';' --header", &out), 1);
  EXPECT_THAT(out, HasSubstr("BX-Book-Ratings.csv:2: text after the closing quote"));
  std::ofstream(input_, std::ios::binary) << "\"u\";\"i\";\"r\"\r\"1\";\"2\";\"3\"\r\"1\";\"2\";\"3\r";
  EXPECT_EQ(Psrec("data stats --input " + input_ + " --delimiter ';' --header", &out), 1);
  EXPECT_THAT(out, HasSubstr("BX-Book-Ratings.csv:3: unterminated quoted field"));
}

}  // namespace
}  // namespace psrec::cli
