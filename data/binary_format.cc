// The MANIFEST and the reader of prepared parts (data/binary_format.h); the writer is
// data/binary_writer.cc.
#include "data/binary_format.h"

#include <charconv>
#include <cstdio>
#include <sstream>

#include "data/binary_layout.h"
#include "data/message_quote.h"
#include "common/mapped_file.h"

namespace psrec::data {

using internal::PartHeader;
using internal::PartLayout;

std::string PreparedPartPath(const std::string& dir, std::string_view split, int part) {
  char index[16];
  std::snprintf(index, sizeof(index), "%05d", part);
  return dir + "/" + std::string(split) + "-" + index + ".bin";
}

namespace internal {

std::string FormatManifest(const PreparedInfo& info) {
  std::ostringstream out;
  out << "psrec-prepared " << kPreparedVersion << "\n"
      << "parts " << info.parts << "\n"
      << "has_test " << info.has_test << "\n"
      << "has_timestamps " << info.has_timestamps << "\n"
      << "has_names " << info.has_names << "\n"
      << "train ratings " << info.train_ratings << " users " << info.train_users << " items "
      << info.train_items << "\n";
  if (info.has_test) {
    out << "test ratings " << info.test_ratings << " users " << info.test_users << " items "
        << info.test_items << "\n";
  }
  auto parts = [&](const char* name, const std::vector<PreparedPartInfo>& list) {
    for (size_t p = 0; p < list.size(); ++p) {
      out << name << "_part " << p << " ratings " << list[p].ratings << " users "
          << list[p].users << " items " << list[p].items << " bytes " << list[p].bytes << "\n";
    }
  };
  parts("train", info.train);
  parts("test", info.test);
  std::string text = out.str();
  char sum[40];
  std::snprintf(sum, sizeof(sum), "checksum %016llx\n",
                static_cast<unsigned long long>(Checksum64::Of(text.data(), text.size())));
  return text + sum;
}

}  // namespace internal

namespace {

// Reads the MANIFEST line by line in the exact order FormatManifest writes it.
class ManifestParser {
 public:
  ManifestParser(std::string path, std::string_view text) : path_(std::move(path)) {
    std::istringstream in{std::string(text)};
    for (std::string line; std::getline(in, line);) lines_.push_back(line);
  }

  // Expects the next line to be `key` followed by `names.size()` (name, integer) pairs
  // (names[i] empty: a bare integer) and stores the integers in `values`.
  Status Line(const std::string& key, const std::vector<std::string>& names, int64_t* values) {
    if (next_ >= lines_.size()) return Error("missing line '" + key + " ...'");
    std::istringstream in(lines_[next_++]);
    std::string word;
    if (!(in >> word) || word != key) return Error("expected '" + key + " ...'");
    for (size_t i = 0; i < names.size(); ++i) {
      if (!names[i].empty() && (!(in >> word) || word != names[i])) {
        return Error("expected '" + names[i] + "' after '" + key + "'");
      }
      if (!(in >> word)) return Error("missing value in '" + key + "' line");
      auto [end, ec] = std::from_chars(word.data(), word.data() + word.size(), values[i]);
      if (ec != std::errc() || end != word.data() + word.size() || values[i] < 0) {
        return Error("bad number " + QuoteForMessage(word) + " in '" + key + "' line");
      }
    }
    if (in >> word) {
      return Error("unexpected " + QuoteForMessage(word) + " in '" + key + "' line");
    }
    return Status::OK();
  }

  Status Flag(const std::string& key, bool* value) {
    int64_t v = 0;
    RETURN_IF_ERROR(Line(key, {""}, &v));
    if (v > 1) return Error(key + " must be 0 or 1");
    *value = v == 1;
    return Status::OK();
  }

  Status End() {
    if (next_ != lines_.size()) return Error("unexpected line " + std::to_string(next_ + 1));
    return Status::OK();
  }

  Status Error(const std::string& what) const {
    return Status::Corruption(path_ + ":" + std::to_string(next_) + ": " + what);
  }

 private:
  std::string path_;
  std::vector<std::string> lines_;
  size_t next_ = 0;
};

}  // namespace

Result<PreparedInfo> ReadPreparedInfo(const std::string& dir) {
  const std::string path = dir + "/MANIFEST";
  Result<std::string> text = ReadSmallFile(path);
  if (!text.ok()) {
    if (text.status().code() == Status::Code::kNotFound) {
      return Status::NotFound(dir + ": not a prepared data directory (no MANIFEST)");
    }
    return text.status();
  }
  // The last line checksums all before it: a damaged or cut MANIFEST is never half-read.
  const size_t last = text->rfind("checksum ", text->empty() ? 0 : text->size() - 1);
  char expected[40];
  std::snprintf(expected, sizeof(expected), "checksum %016llx\n",
                static_cast<unsigned long long>(
                    Checksum64::Of(text->data(), last == std::string::npos ? 0 : last)));
  if (last == std::string::npos || text->compare(last, std::string::npos, expected) != 0) {
    // A newer format may have another layout; say so rather than "checksum".
    if (text->rfind("psrec-prepared ", 0) == 0 && text->rfind("psrec-prepared 1\n", 0) != 0) {
      return Status::Corruption(path + ": unsupported version " +
                                text->substr(15, text->find('\n') - 15) + " (this build reads " +
                                std::to_string(kPreparedVersion) + ")");
    }
    return Status::Corruption(path + ": checksum mismatch or truncated MANIFEST");
  }
  ManifestParser parser(path, std::string_view(*text).substr(0, last));
  PreparedInfo info;
  int64_t v[4] = {};
  RETURN_IF_ERROR(parser.Line("psrec-prepared", {""}, v));
  if (v[0] != kPreparedVersion) {
    return parser.Error("unsupported version " + std::to_string(v[0]) + " (this build reads " +
                        std::to_string(kPreparedVersion) + ")");
  }
  RETURN_IF_ERROR(parser.Line("parts", {""}, v));
  if (v[0] < 1 || v[0] > 99999) return parser.Error("parts out of range");
  info.parts = static_cast<int>(v[0]);
  RETURN_IF_ERROR(parser.Flag("has_test", &info.has_test));
  RETURN_IF_ERROR(parser.Flag("has_timestamps", &info.has_timestamps));
  RETURN_IF_ERROR(parser.Flag("has_names", &info.has_names));
  const std::vector<std::string> totals = {"ratings", "users", "items"};
  RETURN_IF_ERROR(parser.Line("train", totals, v));
  info.train_ratings = v[0], info.train_users = v[1], info.train_items = v[2];
  if (info.has_test) {
    RETURN_IF_ERROR(parser.Line("test", totals, v));
    info.test_ratings = v[0], info.test_users = v[1], info.test_items = v[2];
  }
  auto parts = [&](const std::string& key, std::vector<PreparedPartInfo>* list,
                   int64_t ratings) -> Status {
    int64_t sum = 0;
    for (int p = 0; p < info.parts; ++p) {
      int64_t f[5] = {};
      RETURN_IF_ERROR(parser.Line(key, {"", "ratings", "users", "items", "bytes"}, f));
      if (f[0] != p) return parser.Error("expected part " + std::to_string(p));
      list->push_back({f[2], f[3], f[1], static_cast<uint64_t>(f[4])});
      sum += f[1];
    }
    if (sum != ratings) return parser.Error(key + " ratings do not add up to the total");
    return Status::OK();
  };
  RETURN_IF_ERROR(parts("train_part", &info.train, info.train_ratings));
  if (info.has_test) RETURN_IF_ERROR(parts("test_part", &info.test, info.test_ratings));
  RETURN_IF_ERROR(parser.End());
  return info;
}

namespace {

template <typename T>
std::span<const T> ColumnSpan(const MappedFile& file, const PartLayout& layout, int column) {
  // Columns start at multiples of 64 bytes from a page-aligned mapping, so the cast is aligned.
  return {reinterpret_cast<const T*>(file.data() + layout.offset[column]),
          layout.bytes[column] / sizeof(T)};
}

uint32_t MaxOf(std::span<const uint32_t> values) {
  uint32_t m = 0;
  for (uint32_t v : values) m = v > m ? v : m;
  return m;
}

// Names are consistent when offsets start at 0, never decrease and end at the chars' size.
bool ValidNames(const NameColumn& names, size_t entries) {
  if (names.offsets.size() != entries + 1 || names.offsets[0] != 0) return false;
  for (size_t i = 1; i < names.offsets.size(); ++i) {
    if (names.offsets[i] < names.offsets[i - 1]) return false;
  }
  return names.offsets.back() == names.chars.size();
}

}  // namespace

Result<RatingsShard> OpenPreparedPart(const std::string& dir, std::string_view split, int part,
                                      int expected_parts) {
  if (split != "train" && split != "test") {
    return Status::InvalidArgument("prepared split must be 'train' or 'test', got '" +
                                   std::string(split) + "'");
  }
  if (part < 0) return Status::InvalidArgument("negative part " + std::to_string(part));
  const std::string path = PreparedPartPath(dir, split, part);
  ASSIGN_OR_RETURN(std::shared_ptr<const MappedFile> file, MappedFile::Open(path));
  auto corrupt = [&](const std::string& what) { return Status::Corruption(path + ": " + what); };
  const uint64_t size = file->size();
  if (size < internal::kHeaderBytes) {
    return corrupt("truncated: " + std::to_string(size) + " bytes, shorter than the " +
                   std::to_string(internal::kHeaderBytes) + "-byte header");
  }
  PartHeader h;
  std::memcpy(&h, file->data(), sizeof(h));
  if (std::memcmp(h.magic, internal::kPartMagic, sizeof(h.magic)) != 0) {
    return corrupt("bad magic: not a psrec prepared part");
  }
  if (h.version != kPreparedVersion) {
    return corrupt("unsupported version " + std::to_string(h.version) + " (this build reads " +
                   std::to_string(kPreparedVersion) + ")");
  }
  if (internal::HeaderChecksum(h) != h.header_checksum) return corrupt("header checksum mismatch");
  if (h.num_parts == 0 || h.part >= h.num_parts || h.part != static_cast<uint32_t>(part)) {
    return corrupt("header names part " + std::to_string(h.part) + " of " +
                   std::to_string(h.num_parts) + ", expected part " + std::to_string(part));
  }
  if (expected_parts != -1 && h.num_parts != static_cast<uint32_t>(expected_parts)) {
    return Status::InvalidArgument(path + ": prepared for " + std::to_string(h.num_parts) +
                                   " parts, expected " + std::to_string(expected_parts));
  }
  const uint32_t known_flags =
      internal::kFlagTimestamps | internal::kFlagUserNames | internal::kFlagItemNames;
  if ((h.flags & ~known_flags) != 0) return corrupt("unknown flags " + std::to_string(h.flags));
  if (h.users > (1ULL << 32) || h.items > (1ULL << 32) || h.ratings > internal::kMaxCount ||
      h.user_name_bytes > internal::kMaxCount || h.item_name_bytes > internal::kMaxCount) {
    return corrupt("counts out of range");
  }
  const PartLayout layout = internal::ComputeLayout(h);
  if (layout.file_bytes != h.file_bytes) {
    return corrupt("inconsistent header: its counts need " + std::to_string(layout.file_bytes) +
                   " bytes, it says " + std::to_string(h.file_bytes));
  }
  if (size < h.file_bytes) {
    return corrupt("truncated: " + std::to_string(size) + " bytes, the header says " +
                   std::to_string(h.file_bytes));
  }
  if (size > h.file_bytes) {
    return corrupt(std::to_string(size - h.file_bytes) + " unexpected bytes after the data");
  }

  uint64_t sums[internal::kNumColumns];
  uint64_t end = internal::kHeaderBytes;
  for (int c = 0; c < internal::kNumColumns; ++c) {
    for (uint64_t b = end; b < layout.offset[c]; ++b) {
      if (file->data()[b] != 0) return corrupt("nonzero padding at byte " + std::to_string(b));
    }
    sums[c] = Checksum64::Of(file->data() + layout.offset[c], layout.bytes[c]);
    end = layout.offset[c] + layout.bytes[c];
  }
  if (internal::PayloadChecksum(sums) != h.payload_checksum) {
    return corrupt("checksum mismatch: the data is corrupt");
  }

  RatingsShard shard;
  shard.user_ids = ColumnSpan<uint64_t>(*file, layout, internal::kUserIds);
  shard.item_ids = ColumnSpan<uint64_t>(*file, layout, internal::kItemIds);
  shard.user_index = ColumnSpan<uint32_t>(*file, layout, internal::kUserIndex);
  shard.item_index = ColumnSpan<uint32_t>(*file, layout, internal::kItemIndex);
  shard.rating = ColumnSpan<float>(*file, layout, internal::kRating);
  shard.timestamp = ColumnSpan<int64_t>(*file, layout, internal::kTimestamp);
  if (h.flags & internal::kFlagUserNames) {
    shard.user_names.offsets = ColumnSpan<uint64_t>(*file, layout, internal::kUserNameOffsets);
    shard.user_names.chars = {reinterpret_cast<const char*>(file->data()) +
                                  layout.offset[internal::kUserNameChars],
                              layout.bytes[internal::kUserNameChars]};
    if (!ValidNames(shard.user_names, h.users)) return corrupt("inconsistent user names");
  }
  if (h.flags & internal::kFlagItemNames) {
    shard.item_names.offsets = ColumnSpan<uint64_t>(*file, layout, internal::kItemNameOffsets);
    shard.item_names.chars = {reinterpret_cast<const char*>(file->data()) +
                                  layout.offset[internal::kItemNameChars],
                              layout.bytes[internal::kItemNameChars]};
    if (!ValidNames(shard.item_names, h.items)) return corrupt("inconsistent item names");
  }
  // The checksum vouches for the bytes, not for the writer: an index past its dictionary
  // would make every reader of this shard read out of bounds.
  if (h.ratings > 0 && (MaxOf(shard.user_index) >= h.users || MaxOf(shard.item_index) >= h.items)) {
    return corrupt("a rating's index lies outside the part's dictionaries");
  }
  shard.storage = std::move(file);
  return shard;
}

}  // namespace psrec::data
