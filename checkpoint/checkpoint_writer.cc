#include "checkpoint/checkpoint_writer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <map>

#include "common/checksum.h"
#include "checkpoint/checkpoint_format.h"
#include "checkpoint/job_identity.h"
#include "checkpoint/manifest_file.h"

namespace psrec::checkpoint {

namespace {

// Chunks are small enough to stay in L2 between checksumming and writing them.
constexpr size_t kChunkBytes = size_t{1} << 20;

std::string Errno(const std::string& what, const std::string& path) {
  return what + " " + path + ": " + std::strerror(errno);
}

// One file under construction: counts operations and bytes against the fault hook.
class FaultableFile {
 public:
  FaultableFile(std::string path, CheckpointFaults* faults)
      : path_(std::move(path)), faults_(faults) {}
  ~FaultableFile() {
    if (fd_ >= 0) close(fd_);
  }

  Status Create() {
    RETURN_IF_ERROR(Operation());
    fd_ = open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd_ < 0) return Status::IoError(Errno("cannot create", path_));
    return Status::OK();
  }

  Status Write(const void* data, size_t size) {
    const auto* p = static_cast<const char*>(data);
    while (size > 0) {
      RETURN_IF_ERROR(Operation());
      size_t n = std::min(size, kChunkBytes);
      bool stop = false;
      if (faults_ != nullptr && faults_->stop_after_bytes >= 0) {
        const int64_t left = faults_->stop_after_bytes - faults_->bytes_written;
        if (left < static_cast<int64_t>(n)) {
          n = static_cast<size_t>(std::max<int64_t>(left, 0));
          stop = true;
        }
      }
      RETURN_IF_ERROR(WriteAll(p, n));
      if (faults_ != nullptr) faults_->bytes_written += static_cast<int64_t>(n);
      if (stop) return Status::Aborted("fault injected after " + std::to_string(faults_->bytes_written) + " bytes writing " + path_);
      p += n;
      size -= n;
    }
    return Status::OK();
  }

  Status SyncAndClose() {
    RETURN_IF_ERROR(Operation());
    if (fsync(fd_) != 0) return Status::IoError(Errno("cannot fsync", path_));
    const int fd = fd_;
    fd_ = -1;
    if (close(fd) != 0) return Status::IoError(Errno("cannot close", path_));
    return Status::OK();
  }

  Status RenameTo(const std::string& target) {
    RETURN_IF_ERROR(Operation());
    if (rename(path_.c_str(), target.c_str()) != 0) {
      return Status::IoError(Errno("cannot rename to " + target + ":", path_));
    }
    return Status::OK();
  }

 private:
  Status Operation() {
    if (faults_ == nullptr) return Status::OK();
    if (faults_->operations++ == faults_->stop_before_operation) {
      return Status::Aborted("fault injected at operation " +
                             std::to_string(faults_->stop_before_operation) + " on " + path_);
    }
    return Status::OK();
  }

  Status WriteAll(const char* p, size_t n) {
    while (n > 0) {
      const ssize_t w = write(fd_, p, n);
      if (w < 0) {
        if (errno == EINTR) continue;
        return Status::IoError(Errno("cannot write", path_));
      }
      p += w;
      n -= static_cast<size_t>(w);
    }
    return Status::OK();
  }

  std::string path_;
  CheckpointFaults* faults_;
  int fd_ = -1;
};

Status SyncDirectory(const std::string& dir, CheckpointFaults* faults) {
  if (faults != nullptr && faults->operations++ == faults->stop_before_operation) {
    return Status::Aborted("fault injected at operation " +
                           std::to_string(faults->stop_before_operation) + " syncing " + dir);
  }
  const int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Status::IoError(Errno("cannot open directory", dir));
  const int rc = fsync(fd);
  close(fd);
  if (rc != 0) return Status::IoError(Errno("cannot fsync directory", dir));
  return Status::OK();
}

Status CreateDirectories(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::IoError("cannot create directory " + dir + ": " + ec.message());
  return Status::OK();
}

// Checksums then writes [data, data + size) chunk by chunk.
Status ChecksumAndWrite(FaultableFile* file, Checksum64* sum, const void* data, size_t size) {
  const auto* p = static_cast<const unsigned char*>(data);
  while (size > 0) {
    const size_t n = std::min(size, kChunkBytes);
    sum->Update(p, n);
    RETURN_IF_ERROR(file->Write(p, n));
    p += n;
    size -= n;
  }
  return Status::OK();
}

}  // namespace

Status WriteTableShard(const table::TableRows& rows, const std::string& path,
                       checkpoint::FileInfo* info, CheckpointFaults* faults) {
  RowsFileHeader header;
  header.version = kCheckpointFormatVersion;
  header.table_id = rows.spec->id;
  header.dim = static_cast<uint32_t>(rows.dim);
  header.state_floats = static_cast<uint32_t>(rows.state_floats);
  header.rows = rows.size();
  unsigned char encoded[kRowsHeaderBytes];
  EncodeRowsHeader(header, encoded);

  const std::string temp = path + ".tmp";
  FaultableFile file(temp, faults);
  RETURN_IF_ERROR(file.Create());
  Checksum64 sum;
  RETURN_IF_ERROR(ChecksumAndWrite(&file, &sum, encoded, sizeof(encoded)));
  RETURN_IF_ERROR(ChecksumAndWrite(&file, &sum, rows.keys.data(), rows.size() * sizeof(uint64_t)));
  RETURN_IF_ERROR(ChecksumAndWrite(&file, &sum, rows.rows,
                                   rows.size() * rows.row_floats() * sizeof(float)));
  const uint64_t checksum = sum.Finish();
  RETURN_IF_ERROR(file.Write(&checksum, sizeof(checksum)));
  RETURN_IF_ERROR(file.SyncAndClose());
  RETURN_IF_ERROR(file.RenameTo(path));

  info->set_name(std::filesystem::path(path).filename().string());
  info->set_bytes(header.FileBytes());
  info->set_checksum(checksum);
  info->set_table_id(header.table_id);
  info->set_rows(header.rows);
  return Status::OK();
}

Status WriteTableShard(const table::EmbeddingTable& table, const std::string& path,
                       checkpoint::FileInfo* info, CheckpointFaults* faults) {
  return WriteTableShard(table.rows(), path, info, faults);
}

Status WriteCheckpointShard(const table::TableRows& rows, const std::string& checkpoint_dir, int shard,
                            bool local, checkpoint::FileInfo* info, CheckpointFaults* faults) {
  RETURN_IF_ERROR(CreateDirectories(checkpoint_dir));
  const std::string path = checkpoint_dir + "/" + RowsFileName(rows.spec->name, shard, local);
  RETURN_IF_ERROR(WriteTableShard(rows, path, info, faults));
  info->set_shard(shard);
  return Status::OK();
}

Status WriteIdTextFile(TableId table, const std::string& table_name, const IdTextEntries& entries,
                       const std::string& checkpoint_dir, int worker, checkpoint::FileInfo* info,
                       CheckpointFaults* faults) {
  RETURN_IF_ERROR(CreateDirectories(checkpoint_dir));
  const std::string name = IdTextFileName(table_name, worker);
  const std::string path = checkpoint_dir + "/" + name;
  const std::string bytes = EncodeIdTextFile(table, entries);
  FaultableFile file(path + ".tmp", faults);
  RETURN_IF_ERROR(file.Create());
  RETURN_IF_ERROR(file.Write(bytes.data(), bytes.size()));
  RETURN_IF_ERROR(file.SyncAndClose());
  RETURN_IF_ERROR(file.RenameTo(path));
  info->set_name(name);
  info->set_bytes(bytes.size());
  // Like a rows file's: every byte but the 8-byte trailer (which holds this same value).
  info->set_checksum(Checksum64::Of(bytes.data(), bytes.size() - 8));
  info->set_table_id(table);
  info->set_shard(worker);
  info->set_rows(entries.size());
  return Status::OK();
}

Status WriteManifest(const std::string& checkpoint_dir, checkpoint::Manifest manifest,
                     CheckpointFaults* faults) {
  manifest.set_format_version(kCheckpointFormatVersion);
  if (!manifest.has_created_unix_ms()) {
    manifest.set_created_unix_ms(std::chrono::duration_cast<std::chrono::milliseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count());
  }
  if (!manifest.has_identity()) *manifest.mutable_identity() = JobIdentityOf(manifest.job());
  ASSIGN_OR_RETURN(std::string bytes, EncodeManifestFile(manifest));
  // The rows files' renames must be durable before a MANIFEST can point at them.
  RETURN_IF_ERROR(SyncDirectory(checkpoint_dir, faults));
  const std::string path = checkpoint_dir + "/" + kManifestName;
  FaultableFile file(path + ".tmp", faults);
  RETURN_IF_ERROR(file.Create());
  RETURN_IF_ERROR(file.Write(bytes.data(), bytes.size()));
  RETURN_IF_ERROR(file.SyncAndClose());
  RETURN_IF_ERROR(file.RenameTo(path));
  return SyncDirectory(checkpoint_dir, faults);
}

checkpoint::TableInfo TableInfoOf(const TableSpec& spec, int state_floats, uint64_t rows) {
  checkpoint::TableInfo info;
  info.set_name(spec.name);
  info.set_id(spec.id);
  info.set_dim(spec.dim);
  *info.mutable_optimizer() = spec.optimizer;
  info.set_state_floats(state_floats);
  info.set_rows(rows);
  info.set_placement(spec.placement);
  info.set_init_std(spec.init_std);
  info.set_zero_tail(spec.zero_tail);
  return info;
}

Result<std::string> WriteCheckpoint(const std::string& root, checkpoint::Manifest manifest,
                                    std::span<const ShardToWrite> shards,
                                    CheckpointFaults* faults,
                                    std::span<const IdTextToWrite> id_text) {
  const std::string dir = root + "/" + CheckpointDirName(manifest.step());
  if (std::filesystem::exists(dir + "/" + kManifestName)) {
    return Status::InvalidArgument("checkpoint " + dir + " already exists");
  }
  RETURN_IF_ERROR(CreateDirectories(dir));
  manifest.clear_files();
  manifest.clear_id_files();
  for (const IdTextToWrite& text : id_text) {
    RETURN_IF_ERROR(WriteIdTextFile(text.table, text.table_name, text.entries, dir, text.worker,
                                    manifest.add_id_files(), faults));
  }
  const bool fill_tables = manifest.tables_size() == 0;
  std::map<TableId, checkpoint::TableInfo> tables;
  for (const ShardToWrite& shard : shards) {
    checkpoint::FileInfo* info = manifest.add_files();
    RETURN_IF_ERROR(WriteCheckpointShard(shard.rows, dir, shard.shard, shard.local, info, faults));
    auto [it, inserted] = tables.try_emplace(
        shard.rows.spec->id, TableInfoOf(*shard.rows.spec, shard.rows.state_floats, 0));
    it->second.set_rows(it->second.rows() + shard.rows.size());
  }
  if (fill_tables) {
    for (auto& [id, info] : tables) *manifest.add_tables() = info;
  }
  int servers = 0, partitions = 0;
  for (const ShardToWrite& shard : shards) {
    int& count = shard.local ? partitions : servers;
    count = std::max(count, shard.shard + 1);
  }
  if (!manifest.has_shards()) manifest.set_shards(servers);
  if (!manifest.has_local_partitions()) manifest.set_local_partitions(partitions);
  RETURN_IF_ERROR(WriteManifest(dir, std::move(manifest), faults));
  return dir;
}

}  // namespace psrec::checkpoint
