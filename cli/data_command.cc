// psrec data stats|prepare|synth|split: ingest ratings, prepare them for workers, generate
// planted data, and describe a data set.
#include <iostream>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "data/binary_format.h"
#include "data/data_stats.h"
#include "common/flags.h"
#include "data/split.h"
#include "cli/data_split_ncf.h"
#include "cli/commands.h"
#include "cli/data_io.h"
#include "cli/data_subcommands.h"

namespace psrec::cli {
namespace {

// Adds a piece whose dictionaries are its own to a builder whose index space is the keys'.
class KeyedStats {
 public:
  void Add(std::span<const uint64_t> user_ids, std::span<const uint64_t> item_ids,
           std::span<const uint32_t> user_index, std::span<const uint32_t> item_index,
           std::span<const float> rating, std::span<const int64_t> timestamp) {
    std::vector<uint32_t> user_global = Translate(user_ids, user_index, &users_);
    std::vector<uint32_t> item_global = Translate(item_ids, item_index, &items_);
    builder_.Add(user_global, item_global, rating, timestamp);
  }
  data::DataStats Finish() const { return builder_.Finish(); }

 private:
  static std::vector<uint32_t> Translate(std::span<const uint64_t> ids,
                                         std::span<const uint32_t> index,
                                         absl::flat_hash_map<uint64_t, uint32_t>* global) {
    std::vector<uint32_t> to_global(ids.size());
    for (size_t i = 0; i < ids.size(); ++i) {
      to_global[i] =
          global->try_emplace(ids[i], static_cast<uint32_t>(global->size())).first->second;
    }
    std::vector<uint32_t> out(index.size());
    for (size_t r = 0; r < index.size(); ++r) out[r] = to_global[index[r]];
    return out;
  }

  absl::flat_hash_map<uint64_t, uint32_t> users_, items_;
  data::DataStatsBuilder builder_;
};

// Statistics of every part of a prepared directory, train and test together.
Result<data::DataStats> PreparedStats(const std::string& dir) {
  ASSIGN_OR_RETURN(data::PreparedInfo info, data::ReadPreparedInfo(dir));
  KeyedStats stats;
  for (const char* split : {"train", "test"}) {
    if (std::string(split) == "test" && !info.has_test) continue;
    for (int part = 0; part < info.parts; ++part) {
      ASSIGN_OR_RETURN(data::RatingsShard shard,
                       data::OpenPreparedPart(dir, split, part, info.parts));
      stats.Add(shard.user_ids, shard.item_ids, shard.user_index, shard.item_index,
                shard.rating, shard.timestamp);
    }
  }
  return stats.Finish();
}

// Parses flags; returns -1 to go on, else the exit code.
int ParseFlags(FlagSet* flags, int argc, char** argv, const std::string& verb) {
  Status s = flags->Parse(argc, argv, 1);
  if (flags->help_requested()) {
    std::cout << flags->Usage();
    return 0;
  }
  if (!s.ok()) {
    std::cerr << "psrec data " << verb << ": " << s.message() << "\n";
    return 2;
  }
  return -1;
}

int Fail(const Status& s) {
  std::cerr << s.message() << "\n";
  return 1;
}

}  // namespace

int RunDataStats(int argc, char** argv) {
  std::string input;
  InputFlags input_flags;
  bool json = false;
  FlagSet flags("psrec data stats",
                "Print users, items, ratings, density, the rating histogram and percentiles "
                "of ratings per user and per item of a ratings file or prepared directory.");
  flags.AddString("input", &input, "ratings text file or prepared directory", true);
  AddInputFlags(&flags, &input_flags, /*with_binary=*/true);
  flags.AddBool("json", &json, "print one JSON object instead of text");
  if (int code = ParseFlags(&flags, argc, argv, "stats"); code >= 0) return code;

  Result<config::DataConfig> data = DataConfigFromFlags(input_flags, input);
  if (!data.ok()) return Fail(data.status());
  Result<data::DataStats> stats = Status::Internal("not computed");
  if (data->format() == config::BINARY) {
    stats = PreparedStats(input);
  } else {
    data::ReadReport report;
    Result<data::RatingColumns> columns = ReadTextInput(input, *data, &report);
    if (!columns.ok()) return Fail(columns.status());
    stats = data::ComputeDataStats(*columns);
  }
  if (!stats.ok()) return Fail(stats.status());
  std::cout << (json ? data::FormatDataStatsJson(*stats) : data::FormatDataStatsText(*stats));
  return 0;
}

int RunDataSplit(int argc, char** argv) {
  std::string input, out_train, out_test, out_negatives, kind = "random";
  int64_t negatives = 99;
  InputFlags input_flags;
  config::SplitConfig split;
  double test_fraction = split.test_fraction();
  int leave_last_k = split.leave_last_k();
  int64_t seed = static_cast<int64_t>(split.seed());
  FlagSet flags("psrec data split",
                "Split a ratings file into train and test LIBMF text files ('user item "
                "rating').");
  flags.AddString("input", &input, "ratings text file", true);
  AddInputFlags(&flags, &input_flags, /*with_binary=*/false);
  flags.AddString("split", &kind,
                  "random, leave-last-out, or ncf-leave-one-out (train, test and NCF "
                  ".test.negative files; docs/data.md)");
  flags.AddDouble("test-fraction", &test_fraction, "random: share of ratings in test");
  flags.AddInt("leave-last-k", &leave_last_k, "leave-last-out: ratings per user in test");
  flags.AddInt("seed", &seed, "random: seed of the split");
  flags.AddString("out-train", &out_train, "train output file", true);
  flags.AddString("out-test", &out_test, "test output file", true);
  flags.AddString("out-negatives", &out_negatives,
                  "ncf-leave-one-out: the negatives file ('(user,item)\\tneg1\\t...')");
  flags.AddInt("negatives", &negatives, "ncf-leave-one-out: negatives per test item");
  if (int code = ParseFlags(&flags, argc, argv, "split"); code >= 0) return code;

  if (kind == "random") {
    split.set_kind(config::SplitConfig::RANDOM);
  } else if (kind == "leave-last-out" || kind == "ncf-leave-one-out") {
    split.set_kind(config::SplitConfig::LEAVE_LAST_OUT);
  } else {
    std::cerr << "psrec data split: --split: expected random, leave-last-out or "
                 "ncf-leave-one-out, got '" << kind
              << "'\n";
    return 2;
  }
  split.set_test_fraction(test_fraction);
  split.set_leave_last_k(leave_last_k);
  split.set_seed(static_cast<uint64_t>(seed));
  Result<config::DataConfig> data = DataConfigFromFlags(input_flags, input);
  if (!data.ok()) return Fail(data.status());
  if (data->format() == config::BINARY) {
    return Fail(Status::InvalidArgument(input + ": data split reads text; use data prepare "
                                                "--split for prepared data"));
  }
  data::ReadReport report;
  Result<data::RatingColumns> columns = ReadTextInput(input, *data, &report);
  if (!columns.ok()) return Fail(columns.status());
  if (kind == "ncf-leave-one-out") {
    if (out_negatives.empty() || negatives < 1) {
      std::cerr << "psrec data split: ncf-leave-one-out needs --out-negatives and "
                   "--negatives >= 1\n";
      return 2;
    }
    Result<std::string> done =
        WriteNcfSplit(std::move(*columns), static_cast<int>(negatives),
                      static_cast<uint64_t>(seed), {out_train, out_test, out_negatives});
    if (!done.ok()) return Fail(done.status().WithContext(input));
    std::cout << *done << "\n";
    return 0;
  }
  Result<data::SplitResult> parts = data::SplitRatings(std::move(*columns), split);
  if (!parts.ok()) return Fail(parts.status().WithContext(input));
  Status s = WriteLibmfText(parts->train, out_train);
  if (s.ok()) s = WriteLibmfText(parts->test, out_test);
  if (!s.ok()) return Fail(s);
  std::cout << "wrote " << out_train << " (" << parts->train.size() << " ratings) and "
            << out_test << " (" << parts->test.size() << " ratings)\n";
  return 0;
}

int RunDataCommand(int argc, char** argv) {
  const std::string verb = argc >= 2 ? argv[1] : "";
  if (verb == "stats") return RunDataStats(argc - 1, argv + 1);
  if (verb == "prepare") return RunDataPrepare(argc - 1, argv + 1);
  if (verb == "synth") return RunDataSynth(argc - 1, argv + 1);
  if (verb == "split") return RunDataSplit(argc - 1, argv + 1);
  std::cout << "Usage: psrec data <verb> [flags]   (psrec data <verb> --help for its flags)\n\n"
               "  stats     users, items, ratings, density, histogram, percentiles\n"
               "  prepare   read text ratings, split, write the binary format for workers\n"
               "  synth     generate a planted low-rank data set in the binary format\n"
               "  split     split a text file into train and test LIBMF files\n";
  const bool asked = verb.empty() || verb == "--help" || verb == "-h" || verb == "help";
  if (!asked) std::cerr << "psrec data: unknown verb '" << verb << "'\n";
  return asked && !verb.empty() ? 0 : 2;
}

}  // namespace psrec::cli
