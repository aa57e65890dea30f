// psrec data prepare | synth: the two ways to produce a prepared (binary) data set.
#include <cmath>
#include <filesystem>
#include <iostream>
#include <string>

#include "data/binary_format.h"
#include "common/flags.h"
#include "data/split.h"
#include "data/synthetic.h"
#include "cli/data_io.h"
#include "cli/data_subcommands.h"

namespace psrec::cli {
namespace {

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

void PrintWritten(const std::string& dir, const data::RatingColumns& train,
                  const data::RatingColumns* test, int parts) {
  std::cout << "wrote " << dir << ": " << parts << (parts == 1 ? " part" : " parts")
            << ", train " << train.size() << " ratings (" << train.user_ids.size()
            << " users, " << train.item_ids.size() << " items)";
  if (test != nullptr) {
    std::cout << ", test " << test->size() << " ratings (" << test->user_ids.size()
              << " users, " << test->item_ids.size() << " items)";
  }
  std::cout << ", " << DirectoryBytes(dir) << " bytes\n";
}

}  // namespace

int RunDataPrepare(int argc, char** argv) {
  std::string input, test_path, out, kind;
  InputFlags input_flags;
  config::SplitConfig split;
  int parts = 1;
  double test_fraction = split.test_fraction();
  int leave_last_k = split.leave_last_k();
  int64_t seed = static_cast<int64_t>(split.seed());
  FlagSet flags("psrec data prepare",
                "Read ratings text, optionally split it, and write the binary format "
                "partitioned by user into --parts parts (one per worker).");
  flags.AddString("input", &input, "ratings text file (train, or everything to split)", true);
  flags.AddString("test", &test_path, "test ratings file (implies --split given)");
  AddInputFlags(&flags, &input_flags, /*with_binary=*/false);
  flags.AddInt("parts", &parts, "number of parts (workers)");
  flags.AddString("split", &kind,
                  "random, leave-last-out or given; default: given with --test, else none");
  flags.AddDouble("test-fraction", &test_fraction, "random: share of ratings in test");
  flags.AddInt("leave-last-k", &leave_last_k, "leave-last-out: ratings per user in test");
  flags.AddInt("seed", &seed, "random: seed of the split");
  flags.AddString("out", &out, "output directory", true);
  if (int code = ParseFlags(&flags, argc, argv, "prepare"); code >= 0) return code;

  if (kind.empty()) kind = test_path.empty() ? "none" : "given";
  if (parts < 1) {
    std::cerr << "psrec data prepare: --parts must be >= 1\n";
    return 2;
  }
  if ((kind == "given") != !test_path.empty()) {
    std::cerr << "psrec data prepare: --test goes with --split given (and only with it)\n";
    return 2;
  }
  if (kind != "none" && kind != "given" && kind != "random" && kind != "leave-last-out") {
    std::cerr << "psrec data prepare: --split: expected random, leave-last-out or given, got '"
              << kind << "'\n";
    return 2;
  }
  Result<config::DataConfig> data = DataConfigFromFlags(input_flags, input);
  if (!data.ok()) return Fail(data.status());
  if (data->format() == config::BINARY) {
    return Fail(Status::InvalidArgument(input + ": is already a prepared directory"));
  }
  data::ReadReport report;
  Result<data::RatingColumns> train = ReadTextInput(input, *data, &report);
  if (!train.ok()) return Fail(train.status());

  data::PrepareOptions options;
  options.parts = parts;
  Status written;
  if (kind == "none") {
    written = data::WritePrepared(*train, nullptr, options, out);
    if (written.ok()) PrintWritten(out, *train, nullptr, parts);
  } else if (kind == "given") {
    data::ReadReport test_report;
    Result<data::RatingColumns> test = ReadTextInput(test_path, *data, &test_report);
    if (!test.ok()) return Fail(test.status());
    written = data::WritePrepared(*train, &*test, options, out);
    if (written.ok()) PrintWritten(out, *train, &*test, parts);
  } else {
    split.set_kind(kind == "random" ? config::SplitConfig::RANDOM
                                    : config::SplitConfig::LEAVE_LAST_OUT);
    split.set_test_fraction(test_fraction);
    split.set_leave_last_k(leave_last_k);
    split.set_seed(static_cast<uint64_t>(seed));
    Result<data::SplitResult> parts_of = data::SplitRatings(std::move(*train), split);
    if (!parts_of.ok()) return Fail(parts_of.status().WithContext(input));
    written = data::WritePrepared(parts_of->train, &parts_of->test, options, out);
    if (written.ok()) PrintWritten(out, parts_of->train, &parts_of->test, parts);
  }
  if (!written.ok()) return Fail(written);
  return 0;
}

int RunDataSynth(int argc, char** argv) {
  config::SyntheticConfig synth;
  int64_t users = synth.num_users(), items = synth.num_items(), seed = synth.seed();
  int rank = synth.rank(), ratings_per_user = synth.ratings_per_user(), parts = 1;
  double noise_std = synth.noise_std(), zipf = synth.zipf_exponent();
  double factor_std = synth.factor_std(), bias_std = synth.bias_std();
  double global_mean = synth.global_mean(), test_fraction = synth.test_fraction();
  std::string out;
  bool text = false;
  FlagSet flags("psrec data synth",
                "Generate planted low-rank ratings r = mu + b_u + b_i + p_u.q_i + e (docs/data.md, "
                "'Synthetic data') in the binary format, with a test split and the true "
                "factors (DIR/truth).");
  flags.AddInt("users", &users, "number of users");
  flags.AddInt("items", &items, "number of items");
  flags.AddInt("rank", &rank, "true rank of the factors");
  flags.AddInt("ratings-per-user", &ratings_per_user, "ratings each user gives");
  flags.AddDouble("noise-std", &noise_std, "std of the noise e (the test RMSE floor)");
  flags.AddDouble("zipf", &zipf, "Zipf exponent of item popularity (0: uniform)");
  flags.AddDouble("factor-std", &factor_std, "std of each factor entry");
  flags.AddDouble("bias-std", &bias_std, "std of the user and item biases");
  flags.AddDouble("global-mean", &global_mean, "mu");
  flags.AddDouble("test-fraction", &test_fraction, "share of each user's ratings in test");
  flags.AddInt("seed", &seed, "seed; the output depends on it only");
  flags.AddInt("parts", &parts, "number of parts (workers)");
  flags.AddString("out", &out, "output directory", true);
  flags.AddBool("text", &text, "also write DIR/train.txt and DIR/test.txt (LIBMF)");
  if (int code = ParseFlags(&flags, argc, argv, "synth"); code >= 0) return code;
  if (parts < 1) {
    std::cerr << "psrec data synth: --parts must be >= 1\n";
    return 2;
  }
  synth.set_num_users(users);
  synth.set_num_items(items);
  synth.set_rank(rank);
  synth.set_ratings_per_user(ratings_per_user);
  synth.set_noise_std(noise_std);
  synth.set_zipf_exponent(zipf);
  synth.set_factor_std(factor_std);
  synth.set_bias_std(bias_std);
  synth.set_global_mean(global_mean);
  synth.set_test_fraction(test_fraction);
  synth.set_seed(static_cast<uint64_t>(seed));

  Result<data::SyntheticData> generated = data::GenerateSynthetic(synth, /*keep_truth=*/true);
  if (!generated.ok()) return Fail(generated.status());
  data::PrepareOptions options;
  options.parts = parts;
  const data::RatingColumns* test = generated->test.size() > 0 ? &generated->test : nullptr;
  Status s = data::WritePrepared(generated->train, test, options, out);
  if (!s.ok()) return Fail(s);
  PrintWritten(out, generated->train, test, parts);
  const std::string truth_dir = (std::filesystem::path(out) / "truth").string();
  s = data::WriteSyntheticTruth(generated->truth, truth_dir);
  if (!s.ok()) return Fail(s);
  std::cout << "wrote " << truth_dir << " (true factors and biases, rank " << rank << ")\n";
  if (text) {
    const std::string train_txt = (std::filesystem::path(out) / "train.txt").string();
    const std::string test_txt = (std::filesystem::path(out) / "test.txt").string();
    s = WriteLibmfText(generated->train, train_txt);
    if (s.ok()) s = WriteLibmfText(generated->test, test_txt);
    if (!s.ok()) return Fail(s);
    std::cout << "wrote " << train_txt << " and " << test_txt << "\n";
  }
  // Predicting with the true parameters leaves only e: its std is the best reachable RMSE.
  std::cout << "noise floor: test RMSE >= " << noise_std << " (noise_std; signal std "
            << std::sqrt(2 * bias_std * bias_std +
                         rank * std::pow(factor_std, 4))
            << ")\n";
  return 0;
}

}  // namespace psrec::cli
