// RatingsShard helpers and LoadWorkerData (data/dataset.h).
#include "data/dataset.h"

#include <absl/container/flat_hash_map.h>

#include "data/binary_format.h"
#include "common/keys.h"
#include "data/split.h"
#include "data/synthetic.h"
#include "data/text_reader.h"

namespace psrec::data {
namespace {

// Names packed as NameColumn wants them.
struct PackedNames {
  std::vector<uint64_t> offsets;
  std::string chars;
};

PackedNames Pack(std::vector<std::string>* names) {
  PackedNames packed;
  if (names->empty()) return packed;
  packed.offsets.reserve(names->size() + 1);
  packed.offsets.push_back(0);
  for (const std::string& name : *names) {
    packed.chars += name;
    packed.offsets.push_back(packed.chars.size());
  }
  names->clear();
  names->shrink_to_fit();
  return packed;
}

struct OwnedColumns {
  RatingColumns columns;
  PackedNames user_names, item_names;
};

NameColumn View(const PackedNames& names) { return {names.offsets, names.chars}; }

// Appends the ratings of chosen users from several shards into one RatingColumns,
// re-encoding their dictionaries.
class ShardMerger {
 public:
  // Appends the ratings r of `shard` whose user key satisfies keep_user.
  template <typename KeepUser>
  void Add(const RatingsShard& shard, const KeepUser& keep_user) {
    std::vector<uint32_t> user_map(shard.user_ids.size(), kDropped);
    for (size_t u = 0; u < shard.user_ids.size(); ++u) {
      if (keep_user(shard.user_ids[u])) {
        user_map[u] = Intern(shard.user_ids[u], shard.user_names, u, &users_, &out_.user_ids,
                             &out_.user_names);
      }
    }
    std::vector<uint32_t> item_map(shard.item_ids.size(), kDropped);
    for (size_t r = 0; r < shard.size(); ++r) {
      const uint32_t user = user_map[shard.user_index[r]];
      if (user == kDropped) continue;
      uint32_t& item = item_map[shard.item_index[r]];
      if (item == kDropped) {
        item = Intern(shard.item_ids[shard.item_index[r]], shard.item_names, shard.item_index[r],
                      &items_, &out_.item_ids, &out_.item_names);
      }
      out_.user_index.push_back(user);
      out_.item_index.push_back(item);
      out_.rating.push_back(shard.rating[r]);
      if (shard.has_timestamps()) out_.timestamp.push_back(shard.timestamp[r]);
    }
  }
  RatingColumns Take() { return std::move(out_); }

 private:
  static constexpr uint32_t kDropped = ~0u;

  static uint32_t Intern(uint64_t key, const NameColumn& names, size_t index,
                         absl::flat_hash_map<uint64_t, uint32_t>* dict, std::vector<uint64_t>* ids,
                         std::vector<std::string>* out_names) {
    auto [it, inserted] = dict->try_emplace(key, static_cast<uint32_t>(ids->size()));
    if (inserted) {
      ids->push_back(key);
      if (!names.empty()) out_names->emplace_back(names[index]);
    }
    return it->second;
  }

  absl::flat_hash_map<uint64_t, uint32_t> users_, items_;
  RatingColumns out_;
};

RatingColumns OwnUsers(const RatingColumns& all, int worker, int num_workers) {
  std::vector<bool> mine(all.user_ids.size());
  for (size_t u = 0; u < mine.size(); ++u) mine[u] = PartitionOfUser(all.user_ids[u], num_workers) == worker;
  std::vector<bool> keep(all.size());
  for (size_t r = 0; r < all.size(); ++r) keep[r] = mine[all.user_index[r]];
  return SelectRatings(all, keep);
}

Result<WorkerData> LoadBinary(const config::DataConfig& data, int worker, int num_workers) {
  const std::string& dir = data.train_path();
  if (!data.test_path().empty()) {
    return Status::InvalidArgument(
        "data.test_path must be empty with format BINARY: the prepared directory " + dir +
        " holds its own test parts");
  }
  ASSIGN_OR_RETURN(PreparedInfo info, ReadPreparedInfo(dir));
  WorkerData out;
  if (info.parts == num_workers) {
    ASSIGN_OR_RETURN(out.train, OpenPreparedPart(dir, "train", worker, num_workers));
    if (info.has_test) {
      ASSIGN_OR_RETURN(out.test, OpenPreparedPart(dir, "test", worker, num_workers));
    }
    return out;
  }
  LOG(WARNING) << dir << " was prepared for " << info.parts << " workers, this job has "
               << num_workers << ": every worker reads all parts and keeps its users. Prepare "
               << "with " << num_workers << " parts to read only each worker's share.";
  auto mine = [&](uint64_t user) { return PartitionOfUser(user, num_workers) == worker; };
  for (const char* split : {"train", "test"}) {
    if (std::string_view(split) == "test" && !info.has_test) break;
    ShardMerger merger;
    for (int p = 0; p < info.parts; ++p) {
      ASSIGN_OR_RETURN(RatingsShard part, OpenPreparedPart(dir, split, p, info.parts));
      merger.Add(part, mine);
    }
    (std::string_view(split) == "train" ? out.train : out.test) = ShardFromColumns(merger.Take());
  }
  return out;
}

// ReadRatingsFile, reporting the lines skipped under data.skip_bad_lines.
Result<RatingColumns> ReadText(const std::string& path, const config::DataConfig& data) {
  ReadReport report;
  Result<RatingColumns> columns = ReadRatingsFile(path, data, &report);
  if (columns.ok() && report.skipped > 0) {
    LOG(WARNING) << path << ": skipped " << report.skipped << " bad lines (" << FormatSkipped(report) << ")";
  }
  return columns;
}

Result<WorkerData> LoadText(const config::DataConfig& data, int worker, int num_workers) {
  ASSIGN_OR_RETURN(RatingColumns all, ReadText(data.train_path(), data));
  RatingColumns test;
  if (data.split().kind() == config::SplitConfig::GIVEN) {
    if (!data.test_path().empty()) {
      ASSIGN_OR_RETURN(test, ReadText(data.test_path(), data));
    }
  } else {
    if (!data.test_path().empty()) {
      return Status::InvalidArgument(
          "data.test_path is set but data.split.kind is not GIVEN: choose one test set");
    }
    ASSIGN_OR_RETURN(SplitResult split, SplitRatings(std::move(all), data.split()));
    all = std::move(split.train);
    test = std::move(split.test);
  }
  WorkerData out;
  out.train = ShardFromColumns(OwnUsers(all, worker, num_workers));
  out.test = ShardFromColumns(OwnUsers(test, worker, num_workers));
  return out;
}

}  // namespace

RatingsShard ShardFromColumns(RatingColumns columns) {
  auto owned = std::make_shared<OwnedColumns>();
  owned->columns = std::move(columns);
  RatingColumns& c = owned->columns;
  owned->user_names = Pack(&c.user_names);
  owned->item_names = Pack(&c.item_names);
  RatingsShard shard;
  shard.user_ids = c.user_ids;
  shard.item_ids = c.item_ids;
  shard.user_index = c.user_index;
  shard.item_index = c.item_index;
  shard.rating = c.rating;
  shard.timestamp = c.timestamp;
  shard.user_names = View(owned->user_names);
  shard.item_names = View(owned->item_names);
  shard.storage = std::move(owned);
  return shard;
}

RatingsShard DictionariesOnly(const RatingsShard& shard) {
  RatingColumns c;
  c.user_ids.assign(shard.user_ids.begin(), shard.user_ids.end());
  c.item_ids.assign(shard.item_ids.begin(), shard.item_ids.end());
  for (size_t i = 0; i < shard.user_names.size(); ++i) c.user_names.emplace_back(shard.user_names[i]);
  for (size_t i = 0; i < shard.item_names.size(); ++i) c.item_names.emplace_back(shard.item_names[i]);
  return ShardFromColumns(std::move(c));
}

RatingColumns ColumnsFromShard(const RatingsShard& shard) {
  RatingColumns c;
  c.user_ids.assign(shard.user_ids.begin(), shard.user_ids.end());
  c.item_ids.assign(shard.item_ids.begin(), shard.item_ids.end());
  c.user_index.assign(shard.user_index.begin(), shard.user_index.end());
  c.item_index.assign(shard.item_index.begin(), shard.item_index.end());
  c.rating.assign(shard.rating.begin(), shard.rating.end());
  c.timestamp.assign(shard.timestamp.begin(), shard.timestamp.end());
  for (size_t i = 0; i < shard.user_names.size(); ++i) c.user_names.emplace_back(shard.user_names[i]);
  for (size_t i = 0; i < shard.item_names.size(); ++i) c.item_names.emplace_back(shard.item_names[i]);
  return c;
}

Result<WorkerData> LoadWorkerData(const config::DataConfig& data, int worker, int num_workers) {
  CHECK(num_workers >= 1 && worker >= 0 && worker < num_workers)
      << "worker " << worker << " of " << num_workers;
  if (data.format() == config::BINARY) {
    if (data.train_path().empty()) return Status::InvalidArgument("data.train_path: empty, and format is BINARY");
    return LoadBinary(data, worker, num_workers);
  }
  if (!data.train_path().empty()) return LoadText(data, worker, num_workers);
  if (!data.has_synthetic()) {
    return Status::InvalidArgument("data: set train_path, or synthetic to generate a data set");
  }
  SyntheticOptions options;
  options.worker = worker;
  options.num_workers = num_workers;
  ASSIGN_OR_RETURN(SyntheticData generated, GenerateSynthetic(data.synthetic(), false, options));
  WorkerData out;
  out.train = ShardFromColumns(std::move(generated.train));
  out.test = ShardFromColumns(std::move(generated.test));
  return out;
}

}  // namespace psrec::data
