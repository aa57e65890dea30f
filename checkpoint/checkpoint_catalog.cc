#include "checkpoint/checkpoint_catalog.h"

#include <algorithm>
#include <chrono>
#include <filesystem>

#include <glog/logging.h>

#include "checkpoint/checkpoint_format.h"
#include "checkpoint/checkpoint_reader.h"

namespace psrec::checkpoint {

namespace fs = std::filesystem;

Result<std::vector<CheckpointListing>> ListCheckpoints(const std::string& root,
                                                       bool verify_checksums) {
  std::error_code ec;
  if (!fs::is_directory(root, ec)) return Status::NotFound(root + ": no such directory");
  std::vector<CheckpointListing> out;
  for (const fs::directory_entry& entry : fs::directory_iterator(root, ec)) {
    const std::string name = entry.path().filename().string();
    const int64_t step = StepOfCheckpointDirName(name);
    if (step < 0 || !entry.is_directory(ec)) continue;
    CheckpointListing listing;
    listing.path = entry.path().string();
    listing.name = name;
    listing.step = step;
    for (const fs::directory_entry& file : fs::directory_iterator(entry.path(), ec)) {
      if (file.is_regular_file(ec)) listing.bytes += file.file_size(ec);
    }
    ReadCheckpointOptions options;
    options.verify_checksums = verify_checksums;
    Result<LoadedCheckpoint> checkpoint = ReadCheckpoint(listing.path, options);
    if (checkpoint.ok()) {
      listing.valid = true;
      listing.epoch = checkpoint->manifest.epoch();
      listing.created_unix_ms = checkpoint->manifest.created_unix_ms();
    } else {
      listing.why = checkpoint.status().message();
      const auto mtime = fs::last_write_time(entry.path(), ec);
      if (!ec) {
        listing.created_unix_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                      std::chrono::file_clock::to_sys(mtime).time_since_epoch())
                                      .count();
      }
    }
    out.push_back(std::move(listing));
  }
  if (ec) return Status::IoError(root + ": " + ec.message());
  std::sort(out.begin(), out.end(),
            [](const CheckpointListing& a, const CheckpointListing& b) { return a.step < b.step; });
  return out;
}

Result<std::string> LatestValidCheckpoint(const std::string& root) {
  ASSIGN_OR_RETURN(std::vector<CheckpointListing> listings,
                   ListCheckpoints(root, /*verify_checksums=*/false));
  for (auto it = listings.rbegin(); it != listings.rend(); ++it) {
    if (it->valid) {
      // The quick listing checked structure; resume needs the data too.
      Result<LoadedCheckpoint> full = ReadCheckpoint(it->path);
      if (full.ok()) return it->path;
      it->why = full.status().message();
    }
    LOG(WARNING) << "skipping checkpoint: " << it->why;
  }
  return Status::NotFound(root + ": no valid checkpoint");
}

Result<std::vector<std::string>> PruneCheckpoints(const std::string& root, int keep_last) {
  if (keep_last < 1) {
    return Status::InvalidArgument("keep_last must be >= 1, got " + std::to_string(keep_last));
  }
  ASSIGN_OR_RETURN(std::vector<CheckpointListing> listings,
                   ListCheckpoints(root, /*verify_checksums=*/false));
  int64_t newest_valid = -1;
  int kept = 0;
  std::vector<std::string> remove;
  for (auto it = listings.rbegin(); it != listings.rend(); ++it) {
    if (it->valid) {
      if (newest_valid < 0) newest_valid = it->step;
      if (kept < keep_last) {
        ++kept;
        continue;
      }
      remove.push_back(it->path);
    } else if (newest_valid >= 0) {
      remove.push_back(it->path);  // older than a valid checkpoint: a crashed write
    }
  }
  std::vector<std::string> removed;
  for (const std::string& path : remove) {
    std::error_code ec;
    fs::remove_all(path, ec);
    if (ec) return Status::IoError("cannot remove " + path + ": " + ec.message());
    removed.push_back(path);
  }
  return removed;
}

}  // namespace psrec::checkpoint
