#include "checkpoint/checkpoint_reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <set>

#include "common/checksum.h"
#include "checkpoint/checkpoint_format.h"
#include "checkpoint/id_text_file.h"
#include "checkpoint/manifest_file.h"

namespace psrec::checkpoint {

namespace {

constexpr size_t kReadChunkBytes = size_t{4} << 20;

// A file read front to back, checksumming what it reads.
class ChecksummedReader {
 public:
  explicit ChecksummedReader(std::string path) : path_(std::move(path)) {}
  ~ChecksummedReader() {
    if (fd_ >= 0) close(fd_);
  }
  Status Open(uint64_t* size) {
    fd_ = open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) {
      return errno == ENOENT ? Status::NotFound(path_ + ": missing")
                             : Status::IoError(path_ + ": " + std::strerror(errno));
    }
    struct stat st;
    if (fstat(fd_, &st) != 0) return Status::IoError(path_ + ": " + std::strerror(errno));
    *size = static_cast<uint64_t>(st.st_size);
    return Status::OK();
  }
  // Reads exactly n bytes; `checksum` false for the trailer.
  Status Read(void* out, size_t n, bool checksum = true) {
    auto* p = static_cast<char*>(out);
    size_t left = n;
    while (left > 0) {
      const ssize_t r = read(fd_, p, left);
      if (r < 0) {
        if (errno == EINTR) continue;
        return Status::IoError(path_ + ": " + std::strerror(errno));
      }
      if (r == 0) return Status::Corruption(path_ + ": truncated");
      p += r;
      left -= static_cast<size_t>(r);
    }
    if (checksum) sum_.Update(out, n);
    return Status::OK();
  }
  uint64_t checksum() const { return sum_.Finish(); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  int fd_ = -1;
  Checksum64 sum_;
};

using RowFn = std::function<void(uint64_t, const float*, const float*)>;
using ChunkFn = std::function<void(std::span<const uint64_t>, const float*)>;

// Checks one rows file against its manifest entry; with `fn`, also delivers its rows. The
// body is read (and its checksum checked) when verify or fn is set.
Status ScanRowsFile(const std::string& dir, uint32_t version, const checkpoint::FileInfo& file,
                    const checkpoint::TableInfo& table, bool verify, const RowFn* fn,
                    const ChunkFn* chunk_fn = nullptr) {
  const std::string path = dir + "/" + file.name();
  ChecksummedReader reader(path);
  uint64_t size = 0;
  RETURN_IF_ERROR(reader.Open(&size));
  if (size != file.bytes()) {
    return Status::Corruption(path + ": " + std::to_string(size) + " bytes, the manifest says " +
                              std::to_string(file.bytes()) +
                              (size < file.bytes() ? " (truncated)" : ""));
  }
  if (size < kRowsHeaderBytes + kRowsTrailerBytes) return Status::Corruption(path + ": truncated");
  unsigned char encoded[kRowsHeaderBytes];
  RETURN_IF_ERROR(reader.Read(encoded, sizeof(encoded)));
  RowsFileHeader header;
  if (!DecodeRowsHeader(encoded, &header)) {
    return Status::Corruption(path + ": bad header (magic or header checksum)");
  }
  if (header.version != version) {
    return Status::Corruption(path + ": format version " + std::to_string(header.version) +
                              ", its MANIFEST's is " + std::to_string(version));
  }
  if (header.table_id != table.id() || header.dim != static_cast<uint32_t>(table.dim()) ||
      header.state_floats != static_cast<uint32_t>(table.state_floats())) {
    return Status::Corruption(path + ": header (table " + std::to_string(header.table_id) +
                              ", dim " + std::to_string(header.dim) + ", state " +
                              std::to_string(header.state_floats) +
                              ") does not match the manifest's table " + table.name());
  }
  if (header.rows != file.rows()) {
    return Status::Corruption(path + ": " + std::to_string(header.rows) +
                              " rows, the manifest says " + std::to_string(file.rows()));
  }
  // Guard the multiplication in FileBytes against absurd row counts before using it.
  if (header.rows > size || header.FileBytes() != size) {
    return Status::Corruption(path + ": size " + std::to_string(size) + " does not fit " +
                              std::to_string(header.rows) + " rows");
  }
  if (!verify && fn == nullptr && chunk_fn == nullptr) return Status::OK();

  std::vector<uint64_t> keys(header.rows);
  RETURN_IF_ERROR(reader.Read(keys.data(), keys.size() * sizeof(uint64_t)));
  const size_t row_floats = header.row_floats();
  const size_t rows_per_chunk = std::max<size_t>(1, kReadChunkBytes / (row_floats * 4));
  std::vector<float> chunk(rows_per_chunk * row_floats);
  for (size_t first = 0; first < header.rows; first += rows_per_chunk) {
    const size_t n = std::min<size_t>(rows_per_chunk, header.rows - first);
    RETURN_IF_ERROR(reader.Read(chunk.data(), n * row_floats * sizeof(float)));
    if (chunk_fn != nullptr) {
      (*chunk_fn)(std::span<const uint64_t>(keys.data() + first, n), chunk.data());
    }
    if (fn == nullptr) continue;
    for (size_t i = 0; i < n; ++i) {
      const float* row = chunk.data() + i * row_floats;
      (*fn)(keys[first + i], row, header.state_floats > 0 ? row + header.dim : nullptr);
    }
  }
  uint64_t trailer = 0;
  RETURN_IF_ERROR(reader.Read(&trailer, sizeof(trailer), /*checksum=*/false));
  const uint64_t actual = reader.checksum();
  if (actual != trailer || actual != file.checksum()) {
    return Status::Corruption(path + ": checksum mismatch (data is corrupted)");
  }
  return Status::OK();
}

bool SafeFileName(const std::string& name) {
  return !name.empty() && name.find('/') == std::string::npos && name != "." && name != "..";
}

}  // namespace

const checkpoint::TableInfo* LoadedCheckpoint::FindTable(TableId id) const {
  for (const auto& t : manifest.tables()) {
    if (t.id() == id) return &t;
  }
  return nullptr;
}

const checkpoint::TableInfo* LoadedCheckpoint::FindTable(const std::string& name) const {
  for (const auto& t : manifest.tables()) {
    if (t.name() == name) return &t;
  }
  return nullptr;
}

Result<LoadedCheckpoint> ReadCheckpoint(const std::string& dir,
                                        const ReadCheckpointOptions& options) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    return Status::NotFound(dir + ": no such checkpoint directory");
  }
  const std::string manifest_path = dir + "/" + kManifestName;
  ChecksummedReader reader(manifest_path);
  uint64_t size = 0;
  Status open = reader.Open(&size);
  if (open.code() == Status::Code::kNotFound) {
    return Status::NotFound(dir + ": no MANIFEST (an incomplete checkpoint, or not one)");
  }
  RETURN_IF_ERROR(open);
  if (size > (uint64_t{64} << 20)) return Status::Corruption(manifest_path + ": too large");
  std::string bytes(size, '\0');
  RETURN_IF_ERROR(reader.Read(bytes.data(), bytes.size()));

  LoadedCheckpoint checkpoint;
  checkpoint.dir = dir;
  ASSIGN_OR_RETURN(checkpoint.manifest, DecodeManifestFile(manifest_path, bytes));
  checkpoint::Manifest& m = checkpoint.manifest;
  if (m.format_version() < kOldestReadableFormatVersion ||
      m.format_version() > kCheckpointFormatVersion) {
    return Status::Corruption(manifest_path + ": format version " +
                              std::to_string(m.format_version()) + ", this build reads " +
                              std::to_string(kOldestReadableFormatVersion) + " to " +
                              std::to_string(kCheckpointFormatVersion));
  }
  if (m.format_version() < 3 && m.id_files_size() > 0) {
    return Status::Corruption(manifest_path + ": id text files in a format-" +
                              std::to_string(m.format_version()) + " manifest");
  }
  if (!m.has_identity()) {
    return Status::Corruption(manifest_path + ": no job identity (a format-2 manifest always "
                              "has one)");
  }
  std::set<TableId> ids;
  std::set<std::string> names;
  for (const auto& t : m.tables()) {
    if (!ids.insert(t.id()).second || !names.insert(t.name()).second || t.name().empty()) {
      return Status::Corruption(manifest_path + ": table " + t.name() + " is listed twice");
    }
    if (t.dim() < 1 || t.dim() > (1 << 20) || t.state_floats() < 0 ||
        t.state_floats() > (1 << 22)) {
      return Status::Corruption(manifest_path + ": table " + t.name() + " has bad dims");
    }
  }
  std::set<std::string> file_names;
  std::map<TableId, uint64_t> rows_seen;
  for (const auto& f : m.files()) {
    if (!SafeFileName(f.name()) || !file_names.insert(f.name()).second) {
      return Status::Corruption(manifest_path + ": bad or repeated file name '" + f.name() + "'");
    }
    const checkpoint::TableInfo* table = checkpoint.FindTable(f.table_id());
    if (table == nullptr) {
      return Status::Corruption(manifest_path + ": file " + f.name() + " names unknown table " +
                                std::to_string(f.table_id()));
    }
    RETURN_IF_ERROR(ScanRowsFile(dir, m.format_version(), f, *table, options.verify_checksums,
                                 nullptr));
    rows_seen[f.table_id()] += f.rows();
  }
  for (const auto& f : m.id_files()) {
    if (!SafeFileName(f.name()) || !file_names.insert(f.name()).second) {
      return Status::Corruption(manifest_path + ": bad or repeated file name '" + f.name() + "'");
    }
    if (checkpoint.FindTable(f.table_id()) == nullptr) {
      return Status::Corruption(manifest_path + ": id text file " + f.name() +
                                " names unknown table " + std::to_string(f.table_id()));
    }
    RETURN_IF_ERROR(CheckIdTextFile(dir, f, options.verify_checksums));
  }
  for (const auto& t : m.tables()) {
    if (rows_seen[t.id()] != t.rows()) {
      return Status::Corruption(manifest_path + ": table " + t.name() + " has " +
                                std::to_string(rows_seen[t.id()]) +
                                " rows in its files, the manifest says " +
                                std::to_string(t.rows()));
    }
  }
  return checkpoint;
}

TableSpec TableSpecOf(const checkpoint::TableInfo& info) {
  TableSpec spec;
  spec.id = info.id();
  spec.name = info.name();
  spec.dim = info.dim();
  spec.init_std = info.init_std();
  spec.zero_tail = std::clamp(info.zero_tail(), 0, info.dim());
  spec.optimizer = info.optimizer();
  spec.placement = info.placement();
  return spec;
}

Status ForEachCheckpointRow(const LoadedCheckpoint& checkpoint, TableId table, const RowFn& fn) {
  const checkpoint::TableInfo* info = checkpoint.FindTable(table);
  if (info == nullptr) {
    return Status::NotFound(checkpoint.dir + ": no table " + std::to_string(table));
  }
  for (const auto& f : checkpoint.manifest.files()) {
    if (f.table_id() != table) continue;
    RETURN_IF_ERROR(ScanRowsFile(checkpoint.dir, checkpoint.manifest.format_version(), f, *info,
                                 /*verify=*/true, &fn));
  }
  return Status::OK();
}

Status ForEachCheckpointChunk(const LoadedCheckpoint& checkpoint, TableId table,
                              const ChunkFn& fn) {
  const checkpoint::TableInfo* info = checkpoint.FindTable(table);
  if (info == nullptr) {
    return Status::NotFound(checkpoint.dir + ": no table " + std::to_string(table));
  }
  for (const auto& f : checkpoint.manifest.files()) {
    if (f.table_id() != table) continue;
    RETURN_IF_ERROR(ScanRowsFile(checkpoint.dir, checkpoint.manifest.format_version(), f, *info,
                                 /*verify=*/true, nullptr, &fn));
  }
  return Status::OK();
}

Status LoadRowsInto(const LoadedCheckpoint& checkpoint, TableId table,
                    const std::function<bool(uint64_t key)>& filter, table::EmbeddingTable* out) {
  const checkpoint::TableInfo* info = checkpoint.FindTable(table);
  if (info == nullptr) {
    return Status::NotFound(checkpoint.dir + ": no table " + std::to_string(table));
  }
  if (info->dim() != out->dim()) {
    return Status::InvalidArgument(checkpoint.dir + ": table " + info->name() + " has dim " +
                                   std::to_string(info->dim()) + ", the job's has " +
                                   std::to_string(out->dim()));
  }
  const bool keep_state = info->state_floats() == out->state_floats() &&
                          info->optimizer().kind() == out->spec().optimizer.kind();
  if (!filter && keep_state) {
    // The whole table in the file's own layout: bulk, prefetching upserts.
    out->Reserve(out->size() + info->rows());
    return ForEachCheckpointChunk(checkpoint, table,
                                  [&](std::span<const uint64_t> keys, const float* rows) {
                                    out->UpsertRows(keys, rows);
                                  });
  }
  return ForEachCheckpointRow(checkpoint, table,
                              [&](uint64_t key, const float* payload, const float* state) {
                                if (filter && !filter(key)) return;
                                out->UpsertRow(key, payload, keep_state ? state : nullptr);
                              });
}

Result<table::EmbeddingTable> LoadWholeTable(const LoadedCheckpoint& checkpoint, TableId table) {
  const checkpoint::TableInfo* info = checkpoint.FindTable(table);
  if (info == nullptr) {
    return Status::NotFound(checkpoint.dir + ": no table " + std::to_string(table));
  }
  table::EmbeddingTable out(TableSpecOf(*info), checkpoint.manifest.seed());
  RETURN_IF_ERROR(LoadRowsInto(checkpoint, table, nullptr, &out));
  return out;
}

Status LoadLocalRows(const LoadedCheckpoint& checkpoint, TableId table, int worker,
                     int num_workers, table::EmbeddingTable* out) {
  if (checkpoint.FindTable(table) == nullptr) return Status::OK();
  return LoadRowsInto(
      checkpoint, table,
      [worker, num_workers](uint64_t key) { return PartitionOfUser(key, num_workers) == worker; },
      out);
}

}  // namespace psrec::checkpoint
