#include "data/text_reader.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "data/format_detect.h"
#include "data/line_parser.h"
#include "data/line_scanner.h"
#include "data/message_quote.h"
#include "data/quoted_fields.h"
#include "data/text_chunk.h"

namespace psrec::data {
namespace {

using internal::Chunk;
using internal::ChunkContext;
using internal::ColumnDictionary;
using internal::MergeDictionary;
using internal::NamesOf;
using internal::ParseChunk;
using internal::TooLongReason;

constexpr int kMaxThreads = 8;

// Sizes `v` to n zeroed elements, asking for transparent huge pages before the first touch:
// one page fault per 2 MiB instead of per 4 KiB, which is most of the cost of sizing.
template <typename T>
void ResizeWithHugePages(std::vector<T>* v, size_t n) {
  constexpr uintptr_t kHugePage = 2 << 20;
  v->reserve(n);
  const uintptr_t begin = (reinterpret_cast<uintptr_t>(v->data()) + kHugePage - 1) & ~(kHugePage - 1);
  const uintptr_t end = (reinterpret_cast<uintptr_t>(v->data()) + n * sizeof(T)) & ~(kHugePage - 1);
  if (end > begin) {
    ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);  // advice only
  }
  v->resize(n);
}

// CPUs this process may run on (taskset, cgroups cpusets), not the machine's count.
int UsableCpus() {
  cpu_set_t set;
  if (::sched_getaffinity(0, sizeof(set), &set) == 0) return CPU_COUNT(&set);
  return static_cast<int>(std::thread::hardware_concurrency());
}

// Closes the file descriptor on every return path.
class FileCloser {
 public:
  explicit FileCloser(int fd) : fd_(fd) {}
  ~FileCloser() { ::close(fd_); }
  FileCloser(const FileCloser&) = delete;
  FileCloser& operator=(const FileCloser&) = delete;

 private:
  int fd_;
};


// The first record of the file, for format detection and the header.
struct FirstRecord {
  uint64_t first_line = 0, last_line = 0;  // 1-based; more than one when quotes span lines
  std::string text;                        // without its last terminator and CR
};

// The quoting delimiter the format will use before the layout is resolved ('\0': none).
char QuotingDelimiter(const config::DataConfig& data) {
  if (data.format() == config::MOVIELENS_CSV) return ',';
  if (data.format() == config::DELIMITED && data.delimited().delimiter().size() == 1) {
    return data.delimited().delimiter()[0];
  }
  return '\0';
}

// Finds the first non-blank record of the file; a quoted field that holds a line break
// (`quoting` names the delimiter) joins the following lines.
Result<FirstRecord> FindFirstRecord(int fd, const std::string& path, uint64_t begin,
                                    uint64_t size, size_t max_line_bytes, char terminator,
                                    char quoting) {
  LineScanner scanner(fd, path, begin, size, max_line_bytes, terminator);
  std::string_view line;
  bool too_long = false;
  uint64_t number = 0;
  FirstRecord record;
  while (scanner.Next(&line, &too_long)) {
    ++number;
    if (too_long || record.text.size() + line.size() > max_line_bytes) {
      return Status::InvalidArgument(path + ":" + std::to_string(number) + ": " +
                                     TooLongReason(max_line_bytes, terminator));
    }
    if (record.first_line != 0) {
      record.text.push_back(terminator);
    } else if (line.find_first_not_of(" \t\r") == std::string_view::npos) {
      continue;
    } else {
      record.first_line = number;
    }
    record.text.append(line);
    record.last_line = number;
    if (quoting != '\0' && QuoteOpenAtEnd(record.text, quoting)) continue;
    if (!record.text.empty() && record.text.back() == '\r') record.text.pop_back();
    return record;
  }
  RETURN_IF_ERROR(scanner.status());
  if (record.first_line != 0) {
    return Status::InvalidArgument(path + ":" + std::to_string(record.first_line) +
                                   ": unterminated quoted field: the '\"' opened on this line "
                                   "never closes before the end of the file");
  }
  return Status::InvalidArgument(path + ":1: file has no ratings (only blank lines)");
}

}  // namespace

Result<RatingColumns> ReadRatingsFile(const std::string& path, const config::DataConfig& data,
                                      ReadReport* report) {
  return ReadRatingsFile(path, data, report, TextReadOptions());
}

Result<RatingColumns> ReadRatingsFile(const std::string& path, const config::DataConfig& data,
                                      ReadReport* report, const TextReadOptions& options) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const std::string reason = path + ": cannot open: " + std::strerror(errno);
    return errno == ENOENT ? Status::NotFound(reason) : Status::IoError(reason);
  }
  FileCloser closer(fd);
  struct stat st;
  if (::fstat(fd, &st) != 0) return Status::IoError(path + ": " + std::strerror(errno));
  if (S_ISDIR(st.st_mode)) {
    return Status::InvalidArgument(path + ": is a directory (a prepared data set? use --format "
                                          "binary)");
  }
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  if (size == 0) return Status::InvalidArgument(path + ":1: file is empty");

  uint64_t begin = 0;
  char bom[3] = {0, 0, 0};
  if (size >= 3 && ::pread(fd, bom, 3, 0) == 3 && std::memcmp(bom, "\xEF\xBB\xBF", 3) == 0) {
    begin = 3;  // a UTF-8 byte order mark is not part of the first field
  }
  std::string head(std::min<uint64_t>(size - begin, 64 << 10), '\0');
  if (::pread(fd, head.data(), head.size(), static_cast<off_t>(begin)) !=
      static_cast<ssize_t>(head.size())) {
    return Status::IoError(path + ": read failed: " + std::strerror(errno));
  }
  const char terminator = DetectTerminator(head);
  ASSIGN_OR_RETURN(auto first,
                   FindFirstRecord(fd, path, begin, size, options.max_line_bytes, terminator,
                                   QuotingDelimiter(data)));
  ASSIGN_OR_RETURN(LineLayout layout, ResolveLayout(path, first.text, data));
  const LineParser parser(layout, data.min_rating(), data.max_rating());

  // One chunk per thread, each starting just after a '\n'.
  int threads = options.threads > 0 ? options.threads
                                     : std::clamp(UsableCpus(), 1, kMaxThreads);
  const uint64_t min_chunk = std::max<uint64_t>(options.min_chunk_bytes, 1);
  threads = static_cast<int>(std::clamp<uint64_t>(size / min_chunk, 1, threads));
  std::vector<Chunk> chunks;
  uint64_t cut = begin;
  for (int i = 0; i < threads && cut < size; ++i) {
    uint64_t stop = size;
    if (i + 1 < threads) {
      ASSIGN_OR_RETURN(stop, NextLineStart(fd, path, std::max(cut, size * (i + 1) / threads),
                                           size, terminator));
    }
    if (stop <= cut) continue;
    chunks.emplace_back();
    chunks.back().begin = cut;
    chunks.back().end = stop;
    chunks.back().last = stop == size;
    cut = stop;
  }

  // Exact line counts give each chunk its first line number and output slot, so the
  // columns are allocated once at their final size.
  std::vector<Result<uint64_t>> newlines(chunks.size(), Status::Internal("not counted"));
  {
    std::vector<std::thread> workers;
    for (size_t i = 1; i < chunks.size(); ++i) {
      workers.emplace_back([&, i] {
        newlines[i] = CountNewlines(fd, path, chunks[i].begin, chunks[i].end, terminator);
      });
    }
    newlines[0] = CountNewlines(fd, path, chunks[0].begin, chunks[0].end, terminator);
    for (auto& w : workers) w.join();
  }
  char last_byte = '\n';
  if (::pread(fd, &last_byte, 1, static_cast<off_t>(size - 1)) != 1) {
    return Status::IoError(path + ": read failed: " + std::strerror(errno));
  }
  uint64_t total_lines = 0;
  for (size_t i = 0; i < chunks.size(); ++i) {
    if (!newlines[i].ok()) return newlines[i].status();
    chunks[i].lines = *newlines[i] + (i + 1 == chunks.size() && last_byte != terminator ? 1 : 0);
    chunks[i].first_line = total_lines + 1;
    chunks[i].slot = total_lines;
    total_lines += chunks[i].lines;
  }

  // Sizing zero-fills and faults in every page: split that work over two threads.
  RatingColumns columns;
  {
    std::thread helper([&] {
      ResizeWithHugePages(&columns.user_index, total_lines);
      if (layout.timestamp_column >= 0) ResizeWithHugePages(&columns.timestamp, total_lines);
    });
    ResizeWithHugePages(&columns.item_index, total_lines);
    ResizeWithHugePages(&columns.rating, total_lines);
    helper.join();
  }
  ChunkContext ctx{fd,
                   &path,
                   &parser,
                   layout.header ? first.first_line : 0,
                   layout.header ? first.last_line : 0,
                   data.skip_bad_lines(),
                   options.max_line_bytes,
                   terminator,
                   layout.separator == LineLayout::Separator::kChar,
                   layout.delimiter.empty() ? '\0' : layout.delimiter[0],
                   {columns.user_index.data(), columns.item_index.data(),
                    columns.rating.data(),
                    columns.timestamp.empty() ? nullptr : columns.timestamp.data()}};
  {
    std::vector<std::thread> workers;
    for (size_t i = 1; i < chunks.size(); ++i) {
      workers.emplace_back([&, i] { ParseChunk(ctx, &chunks[i]); });
    }
    ParseChunk(ctx, &chunks[0]);
    for (auto& w : workers) w.join();
  }
  // A cut inside a quoted field (one holding a line break) parsed the next chunk from the
  // middle of a record: read the file again in one piece.
  for (size_t i = 0; i + 1 < chunks.size(); ++i) {
    if (chunks[i].open_at_end) {
      TextReadOptions one_piece = options;
      one_piece.threads = 1;
      return ReadRatingsFile(path, data, report, one_piece);
    }
  }
  for (const Chunk& chunk : chunks) RETURN_IF_ERROR(chunk.error);

  // Chunk 0's dictionaries are the global ones; later chunks renumber into them and move
  // their rows down over the slots that blank or skipped lines left empty.
  ColumnDictionary users = std::move(chunks[0].users);
  ColumnDictionary items = std::move(chunks[0].items);
  uint64_t rows = chunks[0].ratings;
  for (size_t i = 1; i < chunks.size(); ++i) {
    Chunk& chunk = chunks[i];
    ASSIGN_OR_RETURN(std::vector<uint32_t> user_remap,
                     MergeDictionary(path, std::move(chunk.users), &users));
    ASSIGN_OR_RETURN(std::vector<uint32_t> item_remap,
                     MergeDictionary(path, std::move(chunk.items), &items));
    const uint64_t from = chunk.slot;
    for (uint64_t r = 0; r < chunk.ratings; ++r) {
      columns.user_index[rows + r] = user_remap[columns.user_index[from + r]];
      columns.item_index[rows + r] = item_remap[columns.item_index[from + r]];
    }
    if (rows != from) {
      std::memmove(&columns.rating[rows], &columns.rating[from], chunk.ratings * sizeof(float));
      if (columns.has_timestamps()) {
        std::memmove(&columns.timestamp[rows], &columns.timestamp[from],
                     chunk.ratings * sizeof(int64_t));
      }
    }
    rows += chunk.ratings;
  }
  columns.user_index.resize(rows);
  columns.item_index.resize(rows);
  columns.rating.resize(rows);
  if (columns.has_timestamps()) columns.timestamp.resize(rows);

  ReadReport local_report;
  ReadReport* out_report = report != nullptr ? report : &local_report;
  *out_report = ReadReport();
  out_report->lines = static_cast<int64_t>(total_lines);
  out_report->ratings = static_cast<int64_t>(rows);
  for (const Chunk& chunk : chunks) {
    out_report->skipped += chunk.skipped;
    for (const auto& [reason, count] : chunk.skipped_by_reason) {
      out_report->skipped_by_reason[reason] += count;
    }
  }
  if (rows == 0) {
    std::string skipped = FormatSkipped(*out_report);
    return Status::InvalidArgument(path + ": no ratings in " + std::to_string(total_lines) +
                                   " lines" + (skipped.empty() ? "" : "; skipped " + skipped));
  }
  columns.user_names = NamesOf(users);
  columns.item_names = NamesOf(items);
  columns.user_ids = std::move(users.keys);
  columns.item_ids = std::move(items.keys);
  return columns;
}

std::string FormatSkipped(const ReadReport& report) {
  std::string out;
  for (const auto& [reason, count] : report.skipped_by_reason) {
    if (!out.empty()) out += ", ";
    out += reason + ": " + std::to_string(count);
  }
  return out;
}

}  // namespace psrec::data
