// Planted low-rank ratings (docs/data.md, "Synthetic data"; config::SyntheticConfig):
//   r(u, i) = global_mean + b_u + b_i + p_u . q_i + e,
//   p_u, q_i ~ N(0, factor_std^2 I_rank), b_u, b_i ~ N(0, bias_std^2), e ~ N(0, noise_std^2),
// so the noise floor of test RMSE is noise_std. Users have keys 0..num_users-1 and items
// 0..num_items-1. Item i is the (i+1)-th most popular: each user rates ratings_per_user
// distinct items drawn with probability proportional to 1 / (i + 1)^zipf_exponent (Vose alias
// table; a draw of an item the user already has is repeated, and when the draws stall, after
// 16 k + 64 of them, the most popular items not yet taken complete the set). Of each user's
// k ratings the last min(k - 1, round(k * test_fraction)) drawn go to test.
//
// Determinism: user u draws from its own generator seeded by (seed, u), item i's factors from
// (seed, i), so the output depends on the seed only, not on the thread count or on which users
// are generated.
//
// Thread safety: pure functions (GenerateSynthetic starts and joins its own threads).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/proto/config.pb.h"
#include "data/ratings.h"
#include "common/status.h"

namespace psrec::data {

struct SyntheticTruth {
  int rank = 0;
  std::vector<float> user_factors;  // num_users x rank, row-major; empty unless kept
  std::vector<float> item_factors;  // num_items x rank, row-major; empty unless kept
  std::vector<float> user_bias, item_bias;  // empty unless kept
  double global_mean = 0;
};

// Dictionaries hold the users and items that occur, in key order; truth vectors are indexed
// by key and cover every user and item, whichever users were generated.
struct SyntheticData {
  RatingColumns train, test;  // ratings grouped by user, in user order
  SyntheticTruth truth;
};

struct SyntheticOptions {
  int threads = 0;  // 0: hardware threads, at most 8. The output does not depend on it.
  // Generate only the users u with PartitionOfUser(u, num_workers) == worker (common/keys.h).
  // Their ratings are exactly those a full generation gives them.
  int worker = 0;
  int num_workers = 1;
};

// Fails with InvalidArgument when the config is out of range (see config.proto) or
// ratings_per_user exceeds num_items.
Result<SyntheticData> GenerateSynthetic(const config::SyntheticConfig& config, bool keep_truth);
Result<SyntheticData> GenerateSynthetic(const config::SyntheticConfig& config, bool keep_truth,
                                        const SyntheticOptions& options);

// Writes the truth as NumPy files into directory `path` (created when missing), readable by
// numpy.load: user_factors.npy (float32, num_users x rank), item_factors.npy (num_items x
// rank), user_bias.npy, item_bias.npy (float32 vectors), and truth.txt ("rank R" and
// "global_mean M" lines).
Status WriteSyntheticTruth(const SyntheticTruth& truth, const std::string& path);

}  // namespace psrec::data
