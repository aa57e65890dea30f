// GenerateSynthetic and WriteSyntheticTruth (data/synthetic.h).
#include "data/synthetic.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <filesystem>
#include <thread>

#include "common/keys.h"
#include "common/mapped_file.h"

namespace psrec::data {
namespace {

constexpr uint64_t kUserSalt = 0x7573657273ULL;  // "users"
constexpr uint64_t kItemSalt = 0x6974656d73ULL;  // "items"
constexpr size_t kUsersPerTask = 512;

// splitmix64 (Steele, Lea, Flood 2014): tiny state, so one generator per user is free, and
// its output is specified, unlike std::normal_distribution's.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t Next() { return Mix64(state_ += 0x9e3779b97f4a7c15ULL); }
  double Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }  // [0, 1)
  // Marsaglia's polar method; the second variate of each pair is kept for the next call.
  double Normal() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    double x, y, s;
    do {
      x = 2 * Uniform() - 1;
      y = 2 * Uniform() - 1;
      s = x * x + y * y;
    } while (s >= 1 || s == 0);
    const double f = std::sqrt(-2 * std::log(s) / s);
    spare_ = y * f;
    has_spare_ = true;
    return x * f;
  }

 private:
  uint64_t state_;
  double spare_ = 0;
  bool has_spare_ = false;
};

Rng UserRng(uint64_t seed, uint64_t user) { return Rng(Mix64(Mix64(seed ^ kUserSalt) + user)); }
Rng ItemRng(uint64_t seed, uint64_t item) { return Rng(Mix64(Mix64(seed ^ kItemSalt) + item)); }

// Draws bias then factors, the order every caller relies on.
float DrawParams(Rng* rng, const config::SyntheticConfig& c, float* factors) {
  const float bias = static_cast<float>(c.bias_std() * rng->Normal());
  for (int k = 0; k < c.rank(); ++k) factors[k] = static_cast<float>(c.factor_std() * rng->Normal());
  return bias;
}

// Vose's alias method: O(1) draws from a fixed discrete distribution.
class AliasTable {
 public:
  explicit AliasTable(const std::vector<double>& weights) {
    const size_t n = weights.size();
    prob_.resize(n);
    alias_.resize(n);
    double total = 0;
    for (double w : weights) total += w;
    std::vector<double> scaled(n);
    std::vector<uint32_t> small, large;
    for (size_t i = 0; i < n; ++i) {
      scaled[i] = weights[i] * static_cast<double>(n) / total;
      (scaled[i] < 1 ? small : large).push_back(static_cast<uint32_t>(i));
    }
    while (!small.empty() && !large.empty()) {
      uint32_t s = small.back(), l = large.back();
      small.pop_back();
      prob_[s] = scaled[s];
      alias_[s] = l;
      scaled[l] = scaled[l] + scaled[s] - 1;
      if (scaled[l] < 1) {
        large.pop_back();
        small.push_back(l);
      }
    }
    for (uint32_t i : large) prob_[i] = 1, alias_[i] = i;
    for (uint32_t i : small) prob_[i] = 1, alias_[i] = i;  // rounding leftovers
  }
  uint32_t Draw(Rng* rng) const {
    const double x = rng->Uniform() * static_cast<double>(prob_.size());
    const size_t i = std::min(static_cast<size_t>(x), prob_.size() - 1);
    return x - static_cast<double>(i) < prob_[i] ? static_cast<uint32_t>(i) : alias_[i];
  }

 private:
  std::vector<double> prob_;
  std::vector<uint32_t> alias_;
};

Status Validate(const config::SyntheticConfig& c) {
  auto bad = [](const std::string& what) { return Status::InvalidArgument("synthetic." + what); };
  if (c.num_users() < 1 || c.num_users() > (1LL << 32) - 1) return bad("num_users must be in [1, 2^32)");
  if (c.num_items() < 1 || c.num_items() > (1LL << 32) - 1) return bad("num_items must be in [1, 2^32)");
  if (c.rank() < 1 || c.rank() > 1024) return bad("rank must be in [1, 1024]");
  if (!(c.factor_std() >= 0) || !(c.bias_std() >= 0) || !(c.noise_std() >= 0)) {
    return bad("factor_std, bias_std and noise_std must be >= 0");
  }
  if (!std::isfinite(c.global_mean())) return bad("global_mean must be finite");
  if (!(c.zipf_exponent() >= 0) || !std::isfinite(c.zipf_exponent())) return bad("zipf_exponent must be >= 0");
  if (c.ratings_per_user() < 1) return bad("ratings_per_user must be >= 1");
  if (c.ratings_per_user() > c.num_items()) {
    return bad("ratings_per_user (" + std::to_string(c.ratings_per_user()) +
               ") exceeds num_items (" + std::to_string(c.num_items()) + ")");
  }
  if (!(c.test_fraction() >= 0 && c.test_fraction() < 1)) return bad("test_fraction must be in [0, 1)");
  return Status::OK();
}

// Runs body(thread, begin, end) over [0, n) in chunks on `threads` threads.
template <typename Body>
void ParallelFor(size_t n, size_t chunk, int threads, const Body& body) {
  std::atomic<size_t> next{0};
  auto run = [&](int thread) {
    for (size_t b = next.fetch_add(chunk); b < n; b = next.fetch_add(chunk)) {
      body(thread, b, std::min(n, b + chunk));
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(run, t);
  run(0);
  for (std::thread& t : pool) t.join();
}

// Drops dictionary items no rating uses, keeping key order.
void CompactItems(RatingColumns* c) {
  std::vector<uint32_t> map(c->item_ids.size(), 0);
  for (uint32_t i : c->item_index) map[i] = 1;
  std::vector<uint64_t> ids;
  for (size_t i = 0; i < map.size(); ++i) {
    if (map[i] == 0) continue;
    map[i] = static_cast<uint32_t>(ids.size());
    ids.push_back(c->item_ids[i]);
  }
  if (ids.size() == c->item_ids.size()) return;
  for (uint32_t& i : c->item_index) i = map[i];
  c->item_ids = std::move(ids);
}

}  // namespace

Result<SyntheticData> GenerateSynthetic(const config::SyntheticConfig& config, bool keep_truth) {
  return GenerateSynthetic(config, keep_truth, SyntheticOptions());
}

Result<SyntheticData> GenerateSynthetic(const config::SyntheticConfig& config, bool keep_truth,
                                        const SyntheticOptions& options) {
  RETURN_IF_ERROR(Validate(config));
  if (options.num_workers < 1 || options.worker < 0 || options.worker >= options.num_workers) {
    return Status::InvalidArgument("synthetic: worker " + std::to_string(options.worker) +
                                   " of " + std::to_string(options.num_workers) + " does not exist");
  }
  const int threads = options.threads > 0
                          ? options.threads
                          : std::clamp(static_cast<int>(std::thread::hardware_concurrency()), 1, 8);
  const uint64_t seed = config.seed();
  const size_t rank = static_cast<size_t>(config.rank());
  const size_t num_users = static_cast<size_t>(config.num_users());
  const size_t num_items = static_cast<size_t>(config.num_items());
  const size_t k = static_cast<size_t>(config.ratings_per_user());
  const size_t held = std::min<size_t>(
      k - 1, static_cast<size_t>(std::llround(static_cast<double>(k) * config.test_fraction())));
  const size_t kept = k - held;

  SyntheticData out;
  SyntheticTruth& truth = out.truth;
  truth.rank = config.rank();
  truth.global_mean = config.global_mean();
  std::vector<float> item_factors(num_items * rank), item_bias(num_items);
  ParallelFor(num_items, 4096, threads, [&](int, size_t begin, size_t end) {
    for (size_t i = begin; i < end; ++i) {
      Rng rng = ItemRng(seed, i);
      item_bias[i] = DrawParams(&rng, config, &item_factors[i * rank]);
    }
  });
  std::vector<double> weights(num_items);
  for (size_t i = 0; i < num_items; ++i) {
    weights[i] = std::pow(static_cast<double>(i + 1), -config.zipf_exponent());
  }
  const AliasTable popularity(weights);

  std::vector<uint64_t> users;
  for (uint64_t u = 0; u < num_users; ++u) {
    if (options.num_workers == 1 || PartitionOfUser(u, options.num_workers) == options.worker) {
      users.push_back(u);
    }
  }
  RatingColumns& train = out.train;
  RatingColumns& test = out.test;
  train.user_ids = users;
  train.item_ids.resize(num_items);
  for (size_t i = 0; i < num_items; ++i) train.item_ids[i] = i;
  train.user_index.resize(users.size() * kept);
  train.item_index.resize(users.size() * kept);
  train.rating.resize(users.size() * kept);
  if (held > 0) {
    test.user_ids = users;
    test.item_ids = train.item_ids;
    test.user_index.resize(users.size() * held);
    test.item_index.resize(users.size() * held);
    test.rating.resize(users.size() * held);
  }

  // taken[thread][item] == position + 1 marks the items the user at `position` already has.
  std::vector<std::vector<uint32_t>> taken(threads, std::vector<uint32_t>(num_items, 0));
  const size_t stall = 16 * k + 64;
  ParallelFor(users.size(), kUsersPerTask, threads, [&](int thread, size_t begin, size_t end) {
    std::vector<uint32_t>& mark = taken[thread];
    std::vector<float> factors(rank);
    for (size_t pos = begin; pos < end; ++pos) {
      const uint32_t tag = static_cast<uint32_t>(pos + 1);
      Rng rng = UserRng(seed, users[pos]);
      const double base = config.global_mean() + DrawParams(&rng, config, factors.data());
      size_t attempts = 0, fallback = 0;
      for (size_t t = 0; t < k; ++t) {
        uint32_t item;
        do {
          if (attempts++ < stall) {
            item = popularity.Draw(&rng);
          } else {
            while (mark[fallback] == tag) ++fallback;
            item = static_cast<uint32_t>(fallback);
          }
        } while (mark[item] == tag);
        mark[item] = tag;
        const float* q = &item_factors[item * rank];
        double dot = 0;
        for (size_t d = 0; d < rank; ++d) dot += static_cast<double>(factors[d]) * q[d];
        const float r = static_cast<float>(base + item_bias[item] + dot + config.noise_std() * rng.Normal());
        RatingColumns& dst = t < kept ? train : test;
        const size_t at = t < kept ? pos * kept + t : pos * held + (t - kept);
        dst.user_index[at] = static_cast<uint32_t>(pos);
        dst.item_index[at] = item;
        dst.rating[at] = r;
      }
    }
  });
  taken.clear();
  CompactItems(&train);
  CompactItems(&test);

  if (keep_truth) {
    truth.user_factors.resize(num_users * rank);
    truth.user_bias.resize(num_users);
    ParallelFor(num_users, 4096, threads, [&](int, size_t begin, size_t end) {
      for (size_t u = begin; u < end; ++u) {
        Rng rng = UserRng(seed, u);
        truth.user_bias[u] = DrawParams(&rng, config, &truth.user_factors[u * rank]);
      }
    });
    truth.item_factors = std::move(item_factors);
    truth.item_bias = std::move(item_bias);
  }
  return out;
}

namespace {

// NumPy .npy version 1.0: magic, header length, a Python dict literal padded with spaces to
// a multiple of 64 bytes, then the little-endian float32 data in C order.
std::string NpyFloat32(const std::vector<float>& values, size_t rows, size_t cols) {
  std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + std::to_string(rows) +
                     (cols == 0 ? std::string(",") : ", " + std::to_string(cols)) + "), }";
  const size_t unpadded = 10 + dict.size() + 1;
  dict.append((64 - unpadded % 64) % 64, ' ');
  dict.push_back('\n');
  std::string out("\x93NUMPY\x01\x00", 8);
  const uint16_t header_len = static_cast<uint16_t>(dict.size());
  out.append(reinterpret_cast<const char*>(&header_len), 2);
  out += dict;
  out.append(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float));
  return out;
}

}  // namespace

Status WriteSyntheticTruth(const SyntheticTruth& truth, const std::string& path) {
  if (truth.rank < 1 || truth.user_factors.empty() || truth.item_factors.empty()) {
    return Status::InvalidArgument(path + ": no synthetic truth to write (generated without it)");
  }
  const size_t rank = static_cast<size_t>(truth.rank);
  const size_t users = truth.user_bias.size(), items = truth.item_bias.size();
  if (truth.user_factors.size() != users * rank || truth.item_factors.size() != items * rank) {
    return Status::InvalidArgument(path + ": synthetic truth has inconsistent sizes");
  }
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) return Status::IoError(path + ": cannot create directory: " + ec.message());
  RETURN_IF_ERROR(WriteFileAtomically(path + "/user_factors.npy",
                                      NpyFloat32(truth.user_factors, users, rank), false));
  RETURN_IF_ERROR(WriteFileAtomically(path + "/item_factors.npy",
                                      NpyFloat32(truth.item_factors, items, rank), false));
  RETURN_IF_ERROR(WriteFileAtomically(path + "/user_bias.npy", NpyFloat32(truth.user_bias, users, 0), false));
  RETURN_IF_ERROR(WriteFileAtomically(path + "/item_bias.npy", NpyFloat32(truth.item_bias, items, 0), false));
  char mean[64];
  std::snprintf(mean, sizeof(mean), "%.17g", truth.global_mean);
  return WriteFileAtomically(path + "/truth.txt",
                             "rank " + std::to_string(truth.rank) + "\nglobal_mean " + mean + "\n",
                             false);
}

}  // namespace psrec::data
