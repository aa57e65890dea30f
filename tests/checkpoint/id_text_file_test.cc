// Id text files (checkpoint/id_text_file.h): written beside the rows, merged over workers,
// every corruption refused naming the file, and format-2 checkpoints (no id text) still read.
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "checkpoint/checkpoint_format.h"
#include "checkpoint/checkpoint_reader.h"
#include "checkpoint/checkpoint_writer.h"
#include "checkpoint/id_text_file.h"
#include "checkpoint/manifest_file.h"
#include "common/checksum.h"
#include "common/keys.h"
#include "table/embedding_table.h"

namespace psrec::checkpoint {
namespace {

namespace fs = std::filesystem;

TableSpec ItemSpec() {
  TableSpec spec;
  spec.id = 1;
  spec.name = "item";
  spec.dim = 3;
  spec.init_std = 0.1f;
  return spec;
}

std::string ReadBytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void WriteBytes(const fs::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

class IdTextFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::path(testing::TempDir()) /
            ("idtext_" + std::string(testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(root_);
    fs::create_directories(root_);
    items_ = std::make_unique<table::EmbeddingTable>(ItemSpec(), 7);
    for (const char* isbn : {"0155061224", "155061224", "034545104X"}) {
      const uint64_t key = KeyOfRawId(isbn);
      float row[3];
      items_->Pull(std::span<const uint64_t>(&key, 1), row);
    }
  }
  void TearDown() override { fs::remove_all(root_); }

  // Two workers' id files of table item; both hold 034545104X (rated on both).
  std::string Write() {
    std::vector<ShardToWrite> shards = {{items_->rows(), 0, false}};
    std::vector<IdTextToWrite> text(2);
    for (int w = 0; w < 2; ++w) {
      text[w].table = 1;
      text[w].table_name = "item";
      text[w].worker = w;
      text[w].entries = {{KeyOfRawId("034545104X"), "034545104X"}};
    }
    text[0].entries.push_back({KeyOfRawId("0155061224"), "0155061224"});
    Manifest manifest;
    manifest.set_step(1);
    Result<std::string> dir = WriteCheckpoint(root_.string(), manifest, shards, nullptr, text);
    EXPECT_TRUE(dir.ok()) << dir.status().message();
    return dir.ok() ? *dir : "";
  }

  fs::path root_;
  std::unique_ptr<table::EmbeddingTable> items_;
};

TEST_F(IdTextFileTest, WritesOneFilePerWorkerAndMergesThem) {
  const std::string dir = Write();
  Result<LoadedCheckpoint> ckpt = ReadCheckpoint(dir);
  ASSERT_TRUE(ckpt.ok()) << ckpt.status().message();
  EXPECT_EQ(ckpt->manifest.format_version(), kCheckpointFormatVersion);
  ASSERT_EQ(ckpt->manifest.id_files_size(), 2);
  EXPECT_EQ(ckpt->manifest.id_files(0).name(), "item-0.ids");
  EXPECT_EQ(ckpt->manifest.id_files(1).rows(), 1u);
  Result<IdTextMap> text = ReadIdText(*ckpt, 1);
  ASSERT_TRUE(text.ok()) << text.status().message();
  EXPECT_EQ(text->size(), 2u);
  EXPECT_EQ(text->at(KeyOfRawId("0155061224")), "0155061224");
  EXPECT_EQ(text->at(KeyOfRawId("034545104X")), "034545104X");
  EXPECT_EQ(text->count(155061224), 0u);  // an integer id names itself
  Result<IdTextMap> none = ReadIdText(*ckpt, 0);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST_F(IdTextFileTest, EveryFlippedByteIsRefusedNamingTheFile) {
  const std::string dir = Write();
  const fs::path path = fs::path(dir) / "item-0.ids";
  const std::string good = ReadBytes(path);
  for (size_t i = 0; i < good.size(); ++i) {
    std::string bad = good;
    bad[i] ^= 0x20;
    WriteBytes(path, bad);
    Result<LoadedCheckpoint> verified = ReadCheckpoint(dir);
    ASSERT_FALSE(verified.ok()) << "byte " << i;
    EXPECT_EQ(verified.status().code(), Status::Code::kCorruption);
    EXPECT_NE(verified.status().message().find("item-0.ids"), std::string::npos)
        << verified.status().message();
    // Tools read the manifest without checksums, then the id text itself: still refused.
    Result<LoadedCheckpoint> quick = ReadCheckpoint(dir, {.verify_checksums = false});
    ASSERT_TRUE(quick.ok()) << quick.status().message();
    Result<IdTextMap> text = ReadIdText(*quick, 1);
    ASSERT_FALSE(text.ok()) << "byte " << i;
    EXPECT_NE(text.status().message().find("item-0.ids"), std::string::npos);
  }
  WriteBytes(path, good.substr(0, good.size() - 1));
  Result<LoadedCheckpoint> truncated = ReadCheckpoint(dir, {.verify_checksums = false});
  ASSERT_FALSE(truncated.ok());
  EXPECT_NE(truncated.status().message().find("item-0.ids"), std::string::npos);
  fs::remove(path);
  Result<LoadedCheckpoint> missing = ReadCheckpoint(dir, {.verify_checksums = false});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("item-0.ids: missing"), std::string::npos)
      << missing.status().message();
}

TEST_F(IdTextFileTest, FormatTwoIsStillReadWithoutText) {
  const std::string dir = Write();
  // Rewrite it as format 2 wrote it: version 2 in the manifest and the rows headers, no id
  // files.
  Result<Manifest> manifest =
      DecodeManifestFile("MANIFEST", ReadBytes(fs::path(dir) / kManifestName));
  ASSERT_TRUE(manifest.ok());
  manifest->set_format_version(2);
  manifest->clear_id_files();
  for (FileInfo& file : *manifest->mutable_files()) {
    std::string bytes = ReadBytes(fs::path(dir) / file.name());
    RowsFileHeader header;
    ASSERT_TRUE(DecodeRowsHeader(reinterpret_cast<const unsigned char*>(bytes.data()), &header));
    header.version = 2;
    EncodeRowsHeader(header, reinterpret_cast<unsigned char*>(bytes.data()));
    const uint64_t sum = Checksum64::Of(bytes.data(), bytes.size() - kRowsTrailerBytes);
    std::memcpy(bytes.data() + bytes.size() - kRowsTrailerBytes, &sum, sizeof(sum));
    file.set_checksum(sum);
    WriteBytes(fs::path(dir) / file.name(), bytes);
  }
  Result<std::string> encoded = EncodeManifestFile(*manifest);
  ASSERT_TRUE(encoded.ok());
  WriteBytes(fs::path(dir) / kManifestName, *encoded);
  Result<LoadedCheckpoint> ckpt = ReadCheckpoint(dir);
  ASSERT_TRUE(ckpt.ok()) << ckpt.status().message();
  Result<IdTextMap> text = ReadIdText(*ckpt, 1);
  ASSERT_TRUE(text.ok());
  EXPECT_TRUE(text->empty());
  int rows = 0;
  ASSERT_TRUE(ForEachCheckpointRow(*ckpt, 1, [&](uint64_t, const float*, const float*) {
                ++rows;
              }).ok());
  EXPECT_EQ(rows, 3);

  // A format-2 manifest that lists id files is not one a format-2 writer made.
  manifest->add_id_files()->set_name("item-0.ids");
  WriteBytes(fs::path(dir) / kManifestName, *EncodeManifestFile(*manifest));
  EXPECT_FALSE(ReadCheckpoint(dir).ok());
}

}  // namespace
}  // namespace psrec::checkpoint
