// NPY 1.0 files (cli/npy_file.h): the header a NumPy reader checks, byte for byte, and
// values that read back bit for bit.
#include "cli/npy_file.h"

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace psrec::cli {
namespace {

namespace fs = std::filesystem;

TEST(NpyFileTest, HeaderIsVersionOneWithAlignedData) {
  const size_t shape[2] = {3, 5};
  const std::string header = NpyHeader("<f4", shape);
  ASSERT_EQ(header.size() % 64, 0u);
  EXPECT_EQ(header.substr(0, 6), "\x93NUMPY");
  EXPECT_EQ(header[6], '\x01');  // major version
  EXPECT_EQ(header[7], '\x00');  // minor version
  const size_t len = static_cast<unsigned char>(header[8]) +
                     256 * static_cast<size_t>(static_cast<unsigned char>(header[9]));
  EXPECT_EQ(10 + len, header.size());
  const std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 5), }";
  EXPECT_EQ(header.substr(10, dict.size()), dict);
  EXPECT_EQ(header.back(), '\n');
  for (size_t i = 10 + dict.size(); i + 1 < header.size(); ++i) EXPECT_EQ(header[i], ' ') << i;
  // One dimension is a one-element tuple, "(n,)".
  const size_t vector[1] = {7};
  EXPECT_NE(NpyHeader("<u8", vector).find("'shape': (7,), }"), std::string::npos);
}

class NpyFileRoundTrip : public testing::Test {
 protected:
  void SetUp() override {
    path_ = (fs::path(testing::TempDir()) / ("npy_" + std::to_string(getpid()) + ".npy")).string();
  }
  void TearDown() override { fs::remove(path_); }
  std::string path_;
};

TEST_F(NpyFileRoundTrip, ValuesReadBackBitForBit) {
  std::vector<float> values(2 * 33);
  for (size_t i = 0; i < values.size(); ++i) values[i] = std::sin(static_cast<float>(i)) * 1e3f;
  values[5] = -0.0f;
  values[6] = std::numeric_limits<float>::denorm_min();
  const size_t shape[2] = {2, 33};
  ASSERT_TRUE(WriteNpy(path_, "<f4", shape, values.data(), values.size() * sizeof(float)).ok());
  Result<NpyFloatArray> read = ReadNpyFloat32(path_);
  ASSERT_TRUE(read.ok()) << read.status().message();
  EXPECT_EQ(read->shape, (std::vector<size_t>{2, 33}));
  ASSERT_EQ(read->values.size(), values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    EXPECT_EQ(std::signbit(read->values[i]), std::signbit(values[i])) << i;
    EXPECT_EQ(read->values[i], values[i]) << i;
  }
}

TEST_F(NpyFileRoundTrip, ReaderRejectsDamagedFiles) {
  const float values[4] = {1, 2, 3, 4};
  const size_t shape[2] = {2, 2};
  ASSERT_TRUE(WriteNpy(path_, "<f4", shape, values, sizeof(values)).ok());
  std::string bytes;
  {
    std::ifstream in(path_, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  auto rewrite = [&](const std::string& content) {
    std::ofstream(path_, std::ios::binary | std::ios::trunc) << content;
    return ReadNpyFloat32(path_).status();
  };
  EXPECT_EQ(rewrite(bytes.substr(0, bytes.size() - 4)).code(), Status::Code::kCorruption);
  std::string magic = bytes;
  magic[1] = 'X';
  EXPECT_EQ(rewrite(magic).code(), Status::Code::kCorruption);
  std::string version = bytes;
  version[6] = '\x02';
  EXPECT_EQ(rewrite(version).code(), Status::Code::kCorruption);
  EXPECT_TRUE(rewrite(bytes).ok());
}

}  // namespace
}  // namespace psrec::cli
