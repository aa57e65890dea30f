#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/keys.h"
#include "models/mf/biased_mf.h"
#include "models/model_tables.h"
#include "checkpoint/checkpoint_catalog.h"
#include "checkpoint/checkpoint_format.h"
#include "checkpoint/checkpoint_reader.h"
#include "checkpoint/checkpoint_writer.h"
#include "checkpoint/manifest_file.h"
#include "table/embedding_table.h"

namespace psrec::checkpoint {
namespace {

namespace fs = std::filesystem;

TableSpec ItemSpec() {
  TableSpec spec;
  spec.id = models::kItemTable;
  spec.name = "item";
  spec.dim = 5;
  spec.init_std = 0.1f;
  spec.optimizer.set_kind(config::OptimizerConfig::ADAGRAD);
  spec.optimizer.set_initial_accumulator(0.1f);
  return spec;
}

TableSpec UserSpec() {
  TableSpec spec;
  spec.id = models::kUserTable;
  spec.name = "user";
  spec.dim = 5;
  spec.init_std = 0.1f;
  return spec;  // SGD: no state
}

class CheckpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::path(testing::TempDir()) /
            ("ckpt_" + std::string(testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(root_);
    fs::create_directories(root_);
  }
  void TearDown() override { fs::remove_all(root_); }

  // `servers` item shards (keys by ServerOf) and one user shard, trained a little so that
  // rows and AdaGrad state differ from their initial values.
  void MakeTables(int servers, uint64_t items, uint64_t users) {
    items_.clear();
    for (int s = 0; s < servers; ++s) items_.emplace_back(ItemSpec(), 7);
    users_ = std::make_unique<table::EmbeddingTable>(UserSpec(), 7);
    std::vector<float> grads(5, 0.0f);
    for (uint64_t k = 0; k < items; ++k) {
      table::EmbeddingTable& shard = items_[ServerOf(models::kItemTable, k, servers)];
      for (int i = 0; i < 5; ++i) grads[i] = 0.01f * static_cast<float>((k + i) % 7) - 0.03f;
      shard.Push(std::span<const uint64_t>(&k, 1), grads.data(), 0.1f);
    }
    for (uint64_t k = 0; k < users; ++k) {
      users_->Push(std::span<const uint64_t>(&k, 1), grads.data(), 0.1f);
    }
  }

  Result<std::string> Write(int64_t step, CheckpointFaults* faults = nullptr) {
    std::vector<ShardToWrite> shards;
    for (size_t s = 0; s < items_.size(); ++s) {
      shards.push_back({items_[s].rows(), static_cast<int>(s), false});
    }
    shards.push_back({users_->rows(), 0, true});
    checkpoint::Manifest manifest;
    manifest.set_step(step);
    manifest.set_epoch(static_cast<int>(step));
    (*manifest.mutable_model_scalars())["global_mean"] = 3.5;
    manifest.set_seed(7);
    return WriteCheckpoint(root_.string(), manifest, shards, faults);
  }

  const float* FindItem(uint64_t key) const {
    for (const auto& shard : items_) {
      if (const float* row = shard.Find(key)) return row;
    }
    return nullptr;
  }
  const float* FindItemState(uint64_t key) const {
    for (const auto& shard : items_) {
      if (const float* state = shard.FindState(key)) return state;
    }
    return nullptr;
  }

  fs::path root_;
  std::vector<table::EmbeddingTable> items_;
  std::unique_ptr<table::EmbeddingTable> users_;
};

void FlipByte(const fs::path& path, uint64_t offset) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(static_cast<std::streamoff>(offset));
  char c;
  f.get(c);
  f.seekp(static_cast<std::streamoff>(offset));
  f.put(static_cast<char>(c ^ 0x10));
}

TEST_F(CheckpointTest, RoundTripRowsAndState) {
  MakeTables(3, 500, 200);
  Result<std::string> dir = Write(4);
  ASSERT_TRUE(dir.ok()) << dir.status().ToString();
  EXPECT_EQ(fs::path(*dir).filename(), CheckpointDirName(4));
  Result<LoadedCheckpoint> ckpt = ReadCheckpoint(*dir);
  ASSERT_TRUE(ckpt.ok()) << ckpt.status().ToString();
  EXPECT_EQ(ckpt->manifest.shards(), 3);
  EXPECT_EQ(ckpt->manifest.local_partitions(), 1);
  EXPECT_EQ(ckpt->manifest.files_size(), 4);
  EXPECT_EQ(ckpt->manifest.model_scalars().at("global_mean"), 3.5);
  ASSERT_NE(ckpt->FindTable("item"), nullptr);
  EXPECT_EQ(ckpt->FindTable(models::kItemTable)->rows(), 500u);
  EXPECT_EQ(ckpt->FindTable(models::kItemTable)->state_floats(), 5);
  EXPECT_EQ(ckpt->FindTable(models::kUserTable)->rows(), 200u);

  Result<table::EmbeddingTable> items = LoadWholeTable(*ckpt, models::kItemTable);
  ASSERT_TRUE(items.ok()) << items.status().ToString();
  ASSERT_EQ(items->size(), 500u);
  for (uint64_t k = 0; k < 500; ++k) {
    ASSERT_NE(items->Find(k), nullptr);
    EXPECT_TRUE(std::equal(items->Find(k), items->Find(k) + 5, FindItem(k))) << k;
    EXPECT_TRUE(std::equal(items->FindState(k), items->FindState(k) + 5, FindItemState(k)));
  }
  Result<table::EmbeddingTable> users = LoadWholeTable(*ckpt, models::kUserTable);
  ASSERT_TRUE(users.ok());
  EXPECT_EQ(users->state_floats(), 0);
  for (uint64_t k = 0; k < 200; ++k) {
    EXPECT_TRUE(std::equal(users->Find(k), users->Find(k) + 5, users_->Find(k)));
  }
  // Writing the same step again is refused: it would destroy a valid checkpoint.
  EXPECT_EQ(Write(4).status().code(), Status::Code::kInvalidArgument);
}

TEST_F(CheckpointTest, ReshardOntoFewerServersAndWorkers) {
  MakeTables(3, 1000, 300);
  Result<std::string> dir = Write(1);
  ASSERT_TRUE(dir.ok());
  Result<LoadedCheckpoint> ckpt = ReadCheckpoint(*dir);
  ASSERT_TRUE(ckpt.ok());
  for (int servers : {1, 2, 4}) {
    size_t total = 0;
    for (int s = 0; s < servers; ++s) {
      table::EmbeddingTable shard(ItemSpec(), 99);
      ASSERT_TRUE(LoadRowsInto(*ckpt, models::kItemTable,
                               [&](uint64_t key) { return ServerOf(models::kItemTable, key, servers) == s; },
                               &shard)
                      .ok());
      total += shard.size();
      shard.ForEachRow([&](uint64_t key, const float* payload, const float* state) {
        EXPECT_EQ(ServerOf(models::kItemTable, key, servers), s);
        EXPECT_TRUE(std::equal(payload, payload + 5, FindItem(key)));
        EXPECT_TRUE(std::equal(state, state + 5, FindItemState(key)));
      });
    }
    EXPECT_EQ(total, 1000u) << servers;
  }
  // LOCAL user rows redistributed to 2 workers by PartitionOfUser.
  size_t users = 0;
  for (int w = 0; w < 2; ++w) {
    table::EmbeddingTable part(UserSpec(), 7);
    ASSERT_TRUE(LoadRowsInto(*ckpt, models::kUserTable,
                             [&](uint64_t key) { return PartitionOfUser(key, 2) == w; }, &part)
                    .ok());
    part.ForEachRow([&](uint64_t key, const float*, const float*) {
      EXPECT_EQ(PartitionOfUser(key, 2), w);
    });
    users += part.size();
  }
  EXPECT_EQ(users, 300u);
}

TEST_F(CheckpointTest, LoadIntoAnotherOptimizerResetsState) {
  MakeTables(1, 50, 10);
  Result<std::string> dir = Write(1);
  ASSERT_TRUE(dir.ok());
  Result<LoadedCheckpoint> ckpt = ReadCheckpoint(*dir);
  ASSERT_TRUE(ckpt.ok());
  TableSpec adagrad_users = UserSpec();
  adagrad_users.optimizer.set_kind(config::OptimizerConfig::ADAGRAD);
  adagrad_users.optimizer.set_initial_accumulator(0.25f);
  table::EmbeddingTable users(adagrad_users, 7);
  ASSERT_TRUE(LoadRowsInto(*ckpt, models::kUserTable, nullptr, &users).ok());
  EXPECT_TRUE(std::equal(users.Find(3), users.Find(3) + 5, users_->Find(3)));
  EXPECT_EQ(users.FindState(3)[0], 0.25f);
  TableSpec wide = UserSpec();
  wide.dim = 6;
  table::EmbeddingTable wrong(wide, 7);
  EXPECT_EQ(LoadRowsInto(*ckpt, models::kUserTable, nullptr, &wrong).code(),
            Status::Code::kInvalidArgument);
}

TEST_F(CheckpointTest, SnapshotIsWrittenAsTaken) {
  MakeTables(1, 100, 1);
  table::TableSnapshot snapshot = items_[0].Snapshot();
  std::vector<float> before(items_[0].Find(42), items_[0].Find(42) + 5);
  std::vector<uint64_t> keys = {42, 1000};
  std::vector<float> grads(10, 1.0f);
  items_[0].Push(keys, grads.data(), 0.5f);  // training goes on after the snapshot
  ASSERT_TRUE(fs::create_directories(root_ / "snap"));
  checkpoint::FileInfo info;
  ASSERT_TRUE(WriteCheckpointShard(snapshot.rows(), (root_ / "snap").string(), 0, false, &info).ok());
  checkpoint::Manifest manifest;
  *manifest.add_tables() = TableInfoOf(snapshot.spec(), 5, snapshot.size());
  *manifest.add_files() = info;
  ASSERT_TRUE(WriteManifest((root_ / "snap").string(), manifest).ok());
  Result<LoadedCheckpoint> ckpt = ReadCheckpoint((root_ / "snap").string());
  ASSERT_TRUE(ckpt.ok()) << ckpt.status().ToString();
  Result<table::EmbeddingTable> loaded = LoadWholeTable(*ckpt, models::kItemTable);
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(loaded->size(), 100u);
  EXPECT_EQ(loaded->Find(1000), nullptr);
  EXPECT_TRUE(std::equal(before.begin(), before.end(), loaded->Find(42)));
}

TEST_F(CheckpointTest, CorruptionIsNamed) {
  MakeTables(2, 300, 50);
  Result<std::string> written = Write(1);
  ASSERT_TRUE(written.ok());
  const fs::path good = *written;
  auto fresh_copy = [&](const std::string& name) {
    fs::path copy = root_ / name;
    fs::copy(good, copy, fs::copy_options::recursive);
    return copy;
  };
  auto message_of = [](const fs::path& dir) {
    Result<LoadedCheckpoint> r = ReadCheckpoint(dir.string());
    return r.ok() ? std::string("OK") : r.status().ToString();
  };
  EXPECT_EQ(message_of(good), "OK");

  fs::path truncated = fresh_copy("truncated");
  fs::resize_file(truncated / "item-1.rows", fs::file_size(truncated / "item-1.rows") - 100);
  EXPECT_NE(message_of(truncated).find("item-1.rows"), std::string::npos);
  EXPECT_NE(message_of(truncated).find("truncated"), std::string::npos);

  fs::path flipped = fresh_copy("flipped");
  FlipByte(flipped / "item-0.rows", 64 + 8 * 10 + 17);  // inside the rows
  EXPECT_NE(message_of(flipped).find("checksum mismatch"), std::string::npos);
  ReadCheckpointOptions quick;
  quick.verify_checksums = false;
  EXPECT_TRUE(ReadCheckpoint(flipped.string(), quick).ok());  // structure is intact

  fs::path header = fresh_copy("header");
  FlipByte(header / "user-local-0.rows", 20);
  EXPECT_NE(message_of(header).find("bad header"), std::string::npos);

  fs::path no_manifest = fresh_copy("no_manifest");
  fs::remove(no_manifest / kManifestName);
  EXPECT_NE(message_of(no_manifest).find("no MANIFEST"), std::string::npos);
  EXPECT_EQ(ReadCheckpoint(no_manifest.string()).status().code(), Status::Code::kNotFound);

  fs::path missing_file = fresh_copy("missing_file");
  fs::remove(missing_file / "item-0.rows");
  EXPECT_NE(message_of(missing_file).find("item-0.rows: missing"), std::string::npos);

  fs::path version = fresh_copy("version");
  {
    Result<LoadedCheckpoint> ckpt = ReadCheckpoint(good.string());
    checkpoint::Manifest m = ckpt->manifest;
    m.set_format_version(99);
    std::ofstream(version / kManifestName, std::ios::binary | std::ios::trunc)
        << *EncodeManifestFile(m);
  }
  EXPECT_NE(message_of(version).find("format version 99"), std::string::npos);

  // A checkpoint written before models named their tables and scalars (format 1: a bare
  // Protobuf MANIFEST, with the global mean in field 10) is refused by name, not misread.
  fs::path format1 = fresh_copy("format1");
  {
    Result<LoadedCheckpoint> ckpt = ReadCheckpoint(good.string());
    checkpoint::Manifest m = ckpt->manifest;
    m.set_format_version(1);
    m.clear_model_scalars();
    std::string bytes = m.SerializeAsString();
    bytes += std::string("\x51") + std::string(8, '\0');  // field 10, fixed64: mu = 0.0
    std::ofstream(format1 / kManifestName, std::ios::binary | std::ios::trunc) << bytes;
  }
  EXPECT_NE(message_of(format1).find("format version 1, written before models named their "
                                     "tables and scalars"),
            std::string::npos)
      << message_of(format1);

  fs::path garbage = fresh_copy("garbage");
  std::ofstream(garbage / kManifestName, std::ios::binary | std::ios::trunc) << "\xff\xff\xff";
  EXPECT_NE(message_of(garbage).find("not a valid manifest"), std::string::npos);

  EXPECT_EQ(ReadCheckpoint((root_ / "nope").string()).status().code(), Status::Code::kNotFound);
}

TEST_F(CheckpointTest, CrashAtEveryOperationLeavesAValidCheckpoint) {
  MakeTables(2, 200, 30);
  ASSERT_TRUE(Write(1).ok());
  // Count the operations of a complete write.
  fs::path probe_root = root_;
  CheckpointFaults count;
  ASSERT_TRUE(Write(2, &count).ok());
  const int64_t total_ops = count.operations;
  const int64_t total_bytes = count.bytes_written;
  ASSERT_GT(total_ops, 10);
  fs::remove_all(root_ / CheckpointDirName(2));

  auto check = [&](const std::string& what) {
    Result<std::vector<CheckpointListing>> listing = ListCheckpoints(root_.string(), true);
    ASSERT_TRUE(listing.ok());
    ASSERT_GE(listing->size(), 1u);
    EXPECT_TRUE((*listing)[0].valid) << what << ": " << (*listing)[0].why;
    Result<std::string> latest = LatestValidCheckpoint(root_.string());
    ASSERT_TRUE(latest.ok()) << what;
    Result<LoadedCheckpoint> ckpt = ReadCheckpoint(*latest);
    ASSERT_TRUE(ckpt.ok()) << what;
    Result<table::EmbeddingTable> items = LoadWholeTable(*ckpt, models::kItemTable);
    ASSERT_TRUE(items.ok()) << what;
    EXPECT_EQ(items->size(), 200u) << what;
    fs::remove_all(root_ / CheckpointDirName(2));
  };
  for (int64_t op = 0; op < total_ops; ++op) {
    CheckpointFaults faults;
    faults.stop_before_operation = op;
    Result<std::string> r = Write(2, &faults);
    EXPECT_EQ(r.status().code(), Status::Code::kAborted) << op;
    check("operation " + std::to_string(op));
  }
  for (int64_t bytes : {int64_t{0}, int64_t{1}, int64_t{63}, int64_t{64}, int64_t{100},
                        total_bytes / 3, total_bytes / 2, total_bytes - 9, total_bytes - 1}) {
    CheckpointFaults faults;
    faults.stop_after_bytes = bytes;
    EXPECT_FALSE(Write(2, &faults).ok()) << bytes;
    check("bytes " + std::to_string(bytes));
  }
}

TEST_F(CheckpointTest, ListAndPrune) {
  MakeTables(1, 20, 5);
  for (int64_t step : {1, 2, 3, 4}) ASSERT_TRUE(Write(step).ok());
  fs::create_directories(root_ / CheckpointDirName(0));  // crashed, older
  fs::create_directories(root_ / CheckpointDirName(9));  // in progress, newer
  fs::create_directories(root_ / "unrelated");
  Result<std::vector<CheckpointListing>> listing = ListCheckpoints(root_.string());
  ASSERT_TRUE(listing.ok());
  ASSERT_EQ(listing->size(), 6u);
  EXPECT_EQ((*listing)[0].step, 0);
  EXPECT_FALSE((*listing)[0].valid);
  EXPECT_NE((*listing)[0].why.find("no MANIFEST"), std::string::npos);
  EXPECT_TRUE((*listing)[1].valid);
  EXPECT_EQ((*listing)[1].epoch, 1);
  EXPECT_GT((*listing)[1].bytes, 0u);

  Result<std::vector<std::string>> removed = PruneCheckpoints(root_.string(), 2);
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(removed->size(), 3u);  // steps 2, 1 and the crashed 0
  EXPECT_TRUE(fs::exists(root_ / CheckpointDirName(3)));
  EXPECT_TRUE(fs::exists(root_ / CheckpointDirName(4)));
  EXPECT_TRUE(fs::exists(root_ / CheckpointDirName(9)));
  EXPECT_FALSE(fs::exists(root_ / CheckpointDirName(1)));
  EXPECT_TRUE(fs::exists(root_ / "unrelated"));
  EXPECT_EQ(PruneCheckpoints(root_.string(), 0).status().code(), Status::Code::kInvalidArgument);

  // The only valid checkpoint survives any pruning, even when newer ones are broken.
  fs::remove_all(root_ / CheckpointDirName(3));
  FlipByte(root_ / CheckpointDirName(4) / "item-0.rows", 3);
  ASSERT_TRUE(Write(5).ok());
  removed = PruneCheckpoints(root_.string(), 1);
  ASSERT_TRUE(removed.ok());
  EXPECT_TRUE(fs::exists(root_ / CheckpointDirName(5)));
  EXPECT_EQ(*LatestValidCheckpoint(root_.string()), (root_ / CheckpointDirName(5)).string());
}

TEST_F(CheckpointTest, LatestValidSkipsCorruptNewer) {
  MakeTables(1, 20, 5);
  ASSERT_TRUE(Write(1).ok());
  ASSERT_TRUE(Write(2).ok());
  FlipByte(root_ / CheckpointDirName(2) / "item-0.rows", 64 + 8 * 20 + 5);
  Result<std::string> latest = LatestValidCheckpoint(root_.string());
  ASSERT_TRUE(latest.ok());
  EXPECT_EQ(*latest, (root_ / CheckpointDirName(1)).string());
  EXPECT_EQ(LatestValidCheckpoint((root_ / "empty").string()).status().code(),
            Status::Code::kNotFound);
}

}  // namespace
}  // namespace psrec::checkpoint
