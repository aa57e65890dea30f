// Summary statistics of a ratings data set, for `psrec data stats`: counts, density, the
// rating histogram and percentiles of ratings per user and per item.
//
// Data may come in several pieces (the parts of a prepared data set): add each piece to a
// DataStatsBuilder with the dense user / item index space they share, then Finish().
//
// Thread safety: DataStatsBuilder is not thread-safe; DataStats is a plain value.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "data/ratings.h"

namespace psrec::data {

struct CountPercentiles {
  int64_t min = 0, p50 = 0, p90 = 0, p99 = 0, max = 0;
  double mean = 0;
};

struct DataStats {
  int64_t users = 0;    // users with at least one rating
  int64_t items = 0;    // items with at least one rating
  int64_t ratings = 0;
  double density = 0;   // ratings / (users * items)
  double rating_mean = 0;
  float rating_min = 0, rating_max = 0;
  // Exact rating value -> count when there are at most kMaxExactValues distinct values
  // (star ratings); otherwise kHistogramBins equal-width bins keyed by their lower edge.
  std::map<float, int64_t> histogram;
  bool histogram_binned = false;
  float bin_width = 0;
  CountPercentiles per_user;
  CountPercentiles per_item;
  bool has_timestamps = false;
  int64_t timestamp_min = 0, timestamp_max = 0;
};

inline constexpr size_t kMaxExactValues = 20;
inline constexpr int kHistogramBins = 10;

class DataStatsBuilder {
 public:
  // Adds ratings whose user_index / item_index point into a shared dense index space.
  // REQUIRES: the spans have equal length; timestamp is empty or as long.
  void Add(std::span<const uint32_t> user_index, std::span<const uint32_t> item_index,
           std::span<const float> rating, std::span<const int64_t> timestamp);
  DataStats Finish() const;

 private:
  std::vector<int64_t> per_user_;
  std::vector<int64_t> per_item_;
  // Distinct values while there are few; past kMaxExactValues every rating is kept so
  // that Finish() can place bins between the true min and max.
  std::map<float, int64_t> exact_;
  std::vector<float> all_ratings_;
  bool too_many_values_ = false;
  int64_t count_ = 0;
  double sum_ = 0;
  float min_ = 0, max_ = 0;
  bool has_timestamps_ = false;
  int64_t timestamp_min_ = 0, timestamp_max_ = 0;
};

DataStats ComputeDataStats(const RatingColumns& columns);

// "users: 943\nitems: 1682\nratings: 100000\ndensity: ...\n..." (the first three lines are a
// stable, greppable interface).
std::string FormatDataStatsText(const DataStats& stats);
// One line of JSON with the same fields (figures to 6 significant digits), ending in '\n'.
std::string FormatDataStatsJson(const DataStats& stats);

}  // namespace psrec::data
