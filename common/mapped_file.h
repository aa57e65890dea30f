// Small RAII wrappers over POSIX files for the binary formats: a read-only mapping of a
// whole file, and a file written with pwrite at chosen offsets. Errors name the file.
//
// Thread safety: a MappedFile is immutable once open and may be read from any thread.
// A WritableFile may be written concurrently at disjoint offsets (pwrite); Sync and Close
// need exclusive use.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"

namespace psrec {

class MappedFile {
 public:
  // Maps `path` read-only. An empty file maps to size() == 0 and data() == nullptr.
  static Result<std::shared_ptr<const MappedFile>> Open(const std::string& path);

  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();

  const unsigned char* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  MappedFile(std::string path, const unsigned char* data, size_t size)
      : path_(std::move(path)), data_(data), size_(size) {}
  std::string path_;
  const unsigned char* data_;
  size_t size_;
};

class WritableFile {
 public:
  // Creates or truncates `path`.
  static Result<std::unique_ptr<WritableFile>> Create(const std::string& path);

  WritableFile(const WritableFile&) = delete;
  WritableFile& operator=(const WritableFile&) = delete;
  ~WritableFile();  // closes without syncing; errors are lost, so call Close

  // Writes all `size` bytes at `offset` (retrying short writes and EINTR).
  Status WriteAt(uint64_t offset, const void* data, size_t size);
  Status Sync();
  Status Close();
  const std::string& path() const { return path_; }

 private:
  WritableFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  std::string path_;
  int fd_;
};

// Writes `contents` to `path` through a temporary file and rename, so readers see either the
// old file or the whole new one. `sync` also fsyncs the file and its directory.
Status WriteFileAtomically(const std::string& path, std::string_view contents, bool sync);

// Reads a whole (small) file.
Result<std::string> ReadSmallFile(const std::string& path);

}  // namespace psrec
