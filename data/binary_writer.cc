// WritePrepared (data/binary_format.h). Each (split, part) is one task; a thread takes
// tasks in turn and writes a part in two passes over the source ratings: the first finds the
// part's users and items, the second streams every column through its own small buffer to
// its offset in the file (pwrite), checksumming as it goes. Nothing is copied whole.
#include <algorithm>
#include <atomic>
#include <filesystem>
#include <limits>
#include <mutex>
#include <sstream>
#include <thread>
#include <vector>

#include "data/binary_format.h"
#include "data/binary_layout.h"
#include "common/keys.h"
#include "common/mapped_file.h"

namespace psrec::data {
namespace {

using internal::PartHeader;
using internal::PartLayout;

constexpr uint32_t kUnset = std::numeric_limits<uint32_t>::max();
constexpr size_t kBufferBytes = 256 << 10;

// Buffers one column and writes it at increasing offsets.
class ColumnWriter {
 public:
  ColumnWriter() : buffer_(new char[kBufferBytes]) {}
  void Reset(WritableFile* file, uint64_t offset) {
    file_ = file;
    offset_ = offset;
    size_ = 0;
    checksum_ = Checksum64();
  }
  template <typename T>
  Status Put(const T& value) {
    if (size_ + sizeof(T) > kBufferBytes) RETURN_IF_ERROR(Flush());
    std::memcpy(buffer_.get() + size_, &value, sizeof(T));
    size_ += sizeof(T);
    return Status::OK();
  }
  Status PutBytes(std::string_view bytes) {
    while (!bytes.empty()) {
      if (size_ == kBufferBytes) RETURN_IF_ERROR(Flush());
      size_t n = std::min(bytes.size(), kBufferBytes - size_);
      std::memcpy(buffer_.get() + size_, bytes.data(), n);
      size_ += n;
      bytes.remove_prefix(n);
    }
    return Status::OK();
  }
  Status Flush() {
    if (size_ == 0) return Status::OK();
    checksum_.Update(buffer_.get(), size_);
    RETURN_IF_ERROR(file_->WriteAt(offset_, buffer_.get(), size_));
    offset_ += size_;
    size_ = 0;
    return Status::OK();
  }
  uint64_t checksum() const { return checksum_.Finish(); }

 private:
  WritableFile* file_ = nullptr;
  uint64_t offset_ = 0;
  std::unique_ptr<char[]> buffer_;
  size_t size_ = 0;
  Checksum64 checksum_;
};

uint64_t NameBytes(const std::vector<std::string>& names, const std::vector<uint32_t>& subset) {
  uint64_t total = 0;
  for (uint32_t i : subset) total += names[i].size();
  return total;
}

// Per-thread scratch: dense source index -> index in the current part (kUnset elsewhere).
struct Scratch {
  std::vector<uint32_t> user_local, item_local;
  std::vector<uint32_t> users, items;  // the part's source indices, ascending
  ColumnWriter columns[internal::kNumColumns];
};

struct SplitSource {
  const char* name;
  const RatingColumns* columns;
  std::vector<uint32_t> part_of_user;  // per dense user index
};

Status WriteNames(const std::vector<std::string>& names, const std::vector<uint32_t>& subset,
                  ColumnWriter* offsets, ColumnWriter* chars) {
  uint64_t at = 0;
  RETURN_IF_ERROR(offsets->Put(at));
  for (uint32_t i : subset) {
    const std::string& name = names[i];
    at += name.size();
    RETURN_IF_ERROR(offsets->Put(at));
    RETURN_IF_ERROR(chars->PutBytes(name));
  }
  return Status::OK();
}

Status WritePart(const SplitSource& source, int part, int num_parts, const std::string& path,
                 bool sync, Scratch* s, PreparedPartInfo* info) {
  const RatingColumns& c = *source.columns;
  const size_t n = c.size();
  const uint32_t p = static_cast<uint32_t>(part);
  s->user_local.assign(c.user_ids.size(), kUnset);
  s->item_local.assign(c.item_ids.size(), kUnset);
  uint64_t ratings = 0;
  for (size_t r = 0; r < n; ++r) {
    uint32_t u = c.user_index[r];
    if (source.part_of_user[u] != p) continue;
    ++ratings;
    s->user_local[u] = 0;
    s->item_local[c.item_index[r]] = 0;
  }
  auto assign = [](std::vector<uint32_t>* local, std::vector<uint32_t>* list) {
    list->clear();
    for (uint32_t i = 0; i < local->size(); ++i) {
      if ((*local)[i] == kUnset) continue;
      (*local)[i] = static_cast<uint32_t>(list->size());
      list->push_back(i);
    }
  };
  assign(&s->user_local, &s->users);
  assign(&s->item_local, &s->items);

  const bool ts = c.has_timestamps();
  const bool user_names = !c.user_names.empty(), item_names = !c.item_names.empty();
  PartHeader h{};
  std::memcpy(h.magic, internal::kPartMagic, sizeof(h.magic));
  h.version = kPreparedVersion;
  h.flags = (ts ? internal::kFlagTimestamps : 0) |
            (user_names ? internal::kFlagUserNames : 0) |
            (item_names ? internal::kFlagItemNames : 0);
  h.part = p;
  h.num_parts = static_cast<uint32_t>(num_parts);
  h.users = s->users.size();
  h.items = s->items.size();
  h.ratings = ratings;
  h.user_name_bytes = user_names ? NameBytes(c.user_names, s->users) : 0;
  h.item_name_bytes = item_names ? NameBytes(c.item_names, s->items) : 0;
  const PartLayout layout = internal::ComputeLayout(h);
  h.file_bytes = layout.file_bytes;

  ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> file, WritableFile::Create(path));
  ColumnWriter* w = s->columns;
  for (int col = 0; col < internal::kNumColumns; ++col) w[col].Reset(file.get(), layout.offset[col]);
  for (uint32_t u : s->users) RETURN_IF_ERROR(w[internal::kUserIds].Put(c.user_ids[u]));
  for (uint32_t i : s->items) RETURN_IF_ERROR(w[internal::kItemIds].Put(c.item_ids[i]));
  // Gathers a block of ratings into plain arrays first: a tight loop the compiler can keep
  // in registers, and one buffer append per column and block.
  constexpr size_t kBlock = 4096;
  std::vector<uint32_t> users(kBlock), items(kBlock);
  std::vector<float> values(kBlock);
  std::vector<int64_t> times(ts ? kBlock : 0);
  for (size_t begin = 0; begin < n; begin += kBlock) {
    const size_t end = std::min(n, begin + kBlock);
    size_t m = 0;
    for (size_t r = begin; r < end; ++r) {
      const uint32_t u = c.user_index[r];
      if (source.part_of_user[u] != p) continue;
      users[m] = s->user_local[u];
      items[m] = s->item_local[c.item_index[r]];
      values[m] = c.rating[r];
      if (ts) times[m] = c.timestamp[r];
      ++m;
    }
    auto bytes = [m](const auto& v) {
      return std::string_view(reinterpret_cast<const char*>(v.data()), m * sizeof(v[0]));
    };
    RETURN_IF_ERROR(w[internal::kUserIndex].PutBytes(bytes(users)));
    RETURN_IF_ERROR(w[internal::kItemIndex].PutBytes(bytes(items)));
    RETURN_IF_ERROR(w[internal::kRating].PutBytes(bytes(values)));
    if (ts) RETURN_IF_ERROR(w[internal::kTimestamp].PutBytes(bytes(times)));
  }
  if (user_names) {
    RETURN_IF_ERROR(WriteNames(c.user_names, s->users, &w[internal::kUserNameOffsets],
                               &w[internal::kUserNameChars]));
  }
  if (item_names) {
    RETURN_IF_ERROR(WriteNames(c.item_names, s->items, &w[internal::kItemNameOffsets],
                               &w[internal::kItemNameChars]));
  }
  uint64_t sums[internal::kNumColumns];
  for (int col = 0; col < internal::kNumColumns; ++col) {
    RETURN_IF_ERROR(w[col].Flush());
    sums[col] = w[col].checksum();
  }
  h.payload_checksum = internal::PayloadChecksum(sums);
  h.header_checksum = internal::HeaderChecksum(h);
  RETURN_IF_ERROR(file->WriteAt(0, &h, sizeof(h)));
  if (sync) RETURN_IF_ERROR(file->Sync());
  RETURN_IF_ERROR(file->Close());
  info->users = static_cast<int64_t>(h.users);
  info->items = static_cast<int64_t>(h.items);
  info->ratings = static_cast<int64_t>(h.ratings);
  info->bytes = h.file_bytes;
  return Status::OK();
}

Status CheckColumns(const RatingColumns& c, const char* what) {
  const size_t n = c.size();
  if (c.user_index.size() != n || c.item_index.size() != n ||
      (!c.timestamp.empty() && c.timestamp.size() != n)) {
    return Status::InvalidArgument(std::string(what) + " ratings: columns of different lengths");
  }
  if ((!c.user_names.empty() && c.user_names.size() != c.user_ids.size()) ||
      (!c.item_names.empty() && c.item_names.size() != c.item_ids.size())) {
    return Status::InvalidArgument(std::string(what) + " ratings: names do not match the ids");
  }
  if (c.user_ids.size() > internal::kMaxCount || c.item_ids.size() > internal::kMaxCount ||
      n > internal::kMaxCount) {
    return Status::InvalidArgument(std::string(what) + " ratings: too many to store");
  }
  for (size_t r = 0; r < n; ++r) {
    if (c.user_index[r] >= c.user_ids.size() || c.item_index[r] >= c.item_ids.size()) {
      return Status::InvalidArgument(std::string(what) + " ratings: rating " + std::to_string(r) +
                                     " has an index outside the dictionaries");
    }
  }
  return Status::OK();
}

int64_t DistinctItems(const RatingColumns& c) {
  std::vector<bool> used(c.item_ids.size(), false);
  for (uint32_t i : c.item_index) used[i] = true;
  return std::count(used.begin(), used.end(), true);
}

}  // namespace

Status WritePrepared(const RatingColumns& train, const RatingColumns* test,
                     const PrepareOptions& options, const std::string& dir) {
  if (options.parts < 1 || options.parts > 99999) {
    return Status::InvalidArgument("prepare: parts must be in [1, 99999], got " +
                                   std::to_string(options.parts));
  }
  RETURN_IF_ERROR(CheckColumns(train, "train"));
  if (test != nullptr) RETURN_IF_ERROR(CheckColumns(*test, "test"));
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::IoError(dir + ": cannot create directory: " + ec.message());
  // A crash while parts are rewritten must not leave a MANIFEST that vouches for them.
  std::filesystem::remove(dir + "/MANIFEST", ec);
  if (ec) return Status::IoError(dir + "/MANIFEST: cannot remove: " + ec.message());

  std::vector<SplitSource> sources;
  sources.push_back({"train", &train, {}});
  if (test != nullptr) sources.push_back({"test", test, {}});
  for (SplitSource& s : sources) {
    s.part_of_user.resize(s.columns->user_ids.size());
    for (size_t u = 0; u < s.part_of_user.size(); ++u) {
      s.part_of_user[u] = static_cast<uint32_t>(PartitionOfUser(s.columns->user_ids[u], options.parts));
    }
  }

  const size_t num_tasks = sources.size() * static_cast<size_t>(options.parts);
  std::vector<Status> status(num_tasks);
  std::vector<PreparedPartInfo> infos(num_tasks);
  std::atomic<size_t> next{0};
  auto run = [&] {
    Scratch scratch;
    for (size_t t = next++; t < num_tasks; t = next++) {
      const SplitSource& source = sources[t / options.parts];
      const int part = static_cast<int>(t % options.parts);
      status[t] = WritePart(source, part, options.parts, PreparedPartPath(dir, source.name, part),
                            options.sync, &scratch, &infos[t]);
    }
  };
  const size_t num_threads = std::clamp<size_t>(options.threads, 1, num_tasks);
  std::vector<std::thread> threads;
  for (size_t i = 1; i < num_threads; ++i) threads.emplace_back(run);
  run();
  for (std::thread& t : threads) t.join();
  for (const Status& s : status) RETURN_IF_ERROR(s);

  PreparedInfo info;
  info.parts = options.parts;
  info.has_test = test != nullptr;
  info.has_timestamps = train.has_timestamps();
  info.has_names = !train.user_names.empty() || !train.item_names.empty();
  info.train.assign(infos.begin(), infos.begin() + options.parts);
  if (test != nullptr) info.test.assign(infos.begin() + options.parts, infos.end());
  for (const PreparedPartInfo& p : info.train) {
    info.train_ratings += p.ratings;
    info.train_users += p.users;  // each user lives in exactly one part
  }
  for (const PreparedPartInfo& p : info.test) {
    info.test_ratings += p.ratings;
    info.test_users += p.users;
  }
  info.train_items = DistinctItems(train);
  info.test_items = test != nullptr ? DistinctItems(*test) : 0;
  return WriteFileAtomically(dir + "/MANIFEST", internal::FormatManifest(info), options.sync);
}

}  // namespace psrec::data
