#include "cli/data_io.h"

#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <cstring>
#include <memory>

#include "data/format_detect.h"

namespace psrec::cli {

bool ProgressWanted() { return ::isatty(STDERR_FILENO) == 1; }

Result<data::RatingColumns> ReadTextInput(const std::string& path,
                                          const config::DataConfig& data,
                                          data::ReadReport* report) {
  const bool progress = ProgressWanted();
  if (progress) std::cerr << "reading " << path << " ..." << std::flush;
  const auto start = std::chrono::steady_clock::now();
  Result<data::RatingColumns> columns = data::ReadRatingsFile(path, data, report);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (progress) {
    std::cerr << "\r" << std::string(12 + path.size(), ' ') << "\r";
    if (columns.ok()) {
      std::cerr << "read " << path << ": " << report->lines << " lines, " << report->ratings
                << " ratings in " << seconds << " s\n";
    }
  }
  if (columns.ok() && report->skipped > 0) {
    std::cerr << path << ": skipped " << report->skipped
              << " bad lines (" << data::FormatSkipped(*report) << ")\n";
  }
  return columns;
}

Status WriteLibmfText(const data::RatingColumns& columns, const std::string& path) {
  std::unique_ptr<FILE, int (*)(FILE*)> file(std::fopen(path.c_str(), "wb"), &std::fclose);
  if (file == nullptr) {
    return Status::IoError(path + ": cannot create: " + std::strerror(errno));
  }
  std::string buffer;
  buffer.reserve(1 << 20);
  char number[32];
  auto append_id = [&](const std::vector<std::string>& names, const std::vector<uint64_t>& ids,
                       uint32_t index) {
    if (!names.empty()) {
      buffer += names[index];
      return;
    }
    auto [end, ec] = std::to_chars(number, number + sizeof(number), ids[index]);
    buffer.append(number, end);
  };
  for (size_t r = 0; r < columns.size(); ++r) {
    append_id(columns.user_names, columns.user_ids, columns.user_index[r]);
    buffer += ' ';
    append_id(columns.item_names, columns.item_ids, columns.item_index[r]);
    buffer += ' ';
    // Shortest text that reads back to the same float.
    auto [end, ec] = std::to_chars(number, number + sizeof(number), columns.rating[r]);
    buffer.append(number, end);
    buffer += '\n';
    if (buffer.size() > (1 << 20) - 128) {
      if (std::fwrite(buffer.data(), 1, buffer.size(), file.get()) != buffer.size()) {
        return Status::IoError(path + ": write failed: " + std::strerror(errno));
      }
      buffer.clear();
    }
  }
  if (std::fwrite(buffer.data(), 1, buffer.size(), file.get()) != buffer.size() ||
      std::fflush(file.get()) != 0) {
    return Status::IoError(path + ": write failed: " + std::strerror(errno));
  }
  return Status::OK();
}

uint64_t DirectoryBytes(const std::string& dir) {
  uint64_t total = 0;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (entry.is_regular_file(ec)) total += entry.file_size(ec);
  }
  return total;
}

}  // namespace psrec::cli
