// Helpers shared by the data library tests: random but seeded ratings, comparison of rating
// sets by key, and private temporary directories.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "data/dataset.h"
#include "data/ratings.h"

namespace psrec::data::testing_util {

// `n` ratings of up to `users` x `items` with random 64-bit keys (a few small integers
// too), ratings in [1, 5] and, when asked, timestamps and string names.
inline RatingColumns RandomColumns(uint64_t seed, size_t users, size_t items, size_t n,
                                   bool timestamps, bool names) {
  std::mt19937_64 rng(seed);
  RatingColumns c;
  for (size_t u = 0; u < users; ++u) c.user_ids.push_back(u % 3 == 0 ? u : rng() >> 1);
  for (size_t i = 0; i < items; ++i) c.item_ids.push_back(i % 5 == 0 ? i : rng() >> 1);
  if (names) {
    for (size_t u = 0; u < users; ++u) c.user_names.push_back("user-" + std::to_string(u));
    for (size_t i = 0; i < items; ++i) c.item_names.push_back(std::string(i % 7, 'x') + "i" + std::to_string(i));
  }
  for (size_t r = 0; r < n; ++r) {
    c.user_index.push_back(static_cast<uint32_t>(rng() % users));
    c.item_index.push_back(static_cast<uint32_t>(rng() % items));
    c.rating.push_back(1.0f + static_cast<float>(rng() % 9) * 0.5f);
    if (timestamps) c.timestamp.push_back(static_cast<int64_t>(rng() % 1000000) + 1000000000);
  }
  return c;
}

// A rating by keys: (user key, item key, rating, timestamp or 0).
using Row = std::tuple<uint64_t, uint64_t, float, int64_t>;

template <typename Columns>
std::vector<Row> RowsOf(const Columns& c) {
  std::vector<Row> rows;
  for (size_t r = 0; r < c.rating.size(); ++r) {
    rows.emplace_back(c.user_ids[c.user_index[r]], c.item_ids[c.item_index[r]], c.rating[r],
                      c.timestamp.empty() ? 0 : c.timestamp[r]);
  }
  return rows;
}

inline std::vector<Row> Sorted(std::vector<Row> rows) {
  std::sort(rows.begin(), rows.end());
  return rows;
}

inline void Append(std::vector<Row>* all, const std::vector<Row>& more) {
  all->insert(all->end(), more.begin(), more.end());
}

// A fresh, empty directory under the test temp dir, unique per test.
inline std::string FreshDir(const std::string& name) {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string leaf = std::string("psrec_") + info->test_suite_name() + "_" + info->name() + "_" + name;
  std::replace(leaf.begin(), leaf.end(), '/', '_');  // parameterized tests have '/' in names
  std::filesystem::path dir = std::filesystem::path(::testing::TempDir()) / leaf;
  std::string s = dir.string();
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return s;
}

}  // namespace psrec::data::testing_util
