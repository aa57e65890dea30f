#include "data/data_stats.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include <glog/logging.h>

#include "common/json.h"

namespace psrec::data {
namespace {

// Nearest-rank percentiles of the non-zero counts (zero: an index with no ratings here).
CountPercentiles PercentilesOf(const std::vector<int64_t>& counts, int64_t* present) {
  std::vector<int64_t> v;
  v.reserve(counts.size());
  for (int64_t c : counts) {
    if (c > 0) v.push_back(c);
  }
  *present = static_cast<int64_t>(v.size());
  CountPercentiles p;
  if (v.empty()) return p;
  std::sort(v.begin(), v.end());
  auto rank = [&](double q) {
    size_t i = static_cast<size_t>(std::ceil(q * static_cast<double>(v.size())));
    return v[std::clamp<size_t>(i, 1, v.size()) - 1];
  };
  p.min = v.front();
  p.p50 = rank(0.50);
  p.p90 = rank(0.90);
  p.p99 = rank(0.99);
  p.max = v.back();
  double sum = 0;
  for (int64_t c : v) sum += static_cast<double>(c);
  p.mean = sum / static_cast<double>(v.size());
  return p;
}

std::string Num(double x) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.6g", x);
  return buf;
}

std::string PercentilesText(const CountPercentiles& p) {
  return "min " + std::to_string(p.min) + ", p50 " + std::to_string(p.p50) + ", p90 " +
         std::to_string(p.p90) + ", p99 " + std::to_string(p.p99) + ", max " +
         std::to_string(p.max) + ", mean " + Num(p.mean);
}

Json PercentilesJson(const CountPercentiles& p) {
  Json j;
  j["min"] = p.min;
  j["p50"] = p.p50;
  j["p90"] = p.p90;
  j["p99"] = p.p99;
  j["max"] = p.max;
  j["mean"] = JsonNumber(p.mean, 6);
  return j;
}

}  // namespace

void DataStatsBuilder::Add(std::span<const uint32_t> user_index,
                           std::span<const uint32_t> item_index, std::span<const float> rating,
                           std::span<const int64_t> timestamp) {
  CHECK_EQ(user_index.size(), rating.size());
  CHECK_EQ(item_index.size(), rating.size());
  CHECK(timestamp.empty() || timestamp.size() == rating.size());
  for (size_t i = 0; i < rating.size(); ++i) {
    if (user_index[i] >= per_user_.size()) per_user_.resize(user_index[i] + 1);
    if (item_index[i] >= per_item_.size()) per_item_.resize(item_index[i] + 1);
    ++per_user_[user_index[i]];
    ++per_item_[item_index[i]];
    const float r = rating[i];
    if (count_ == 0) min_ = max_ = r;
    min_ = std::min(min_, r);
    max_ = std::max(max_, r);
    sum_ += r;
    ++count_;
    if (!too_many_values_) {
      ++exact_[r];
      if (exact_.size() > kMaxExactValues) {
        too_many_values_ = true;
        for (const auto& [value, n] : exact_) all_ratings_.insert(all_ratings_.end(), n, value);
        exact_.clear();
      }
    } else {
      all_ratings_.push_back(r);
    }
  }
  if (!timestamp.empty()) {
    auto [lo, hi] = std::minmax_element(timestamp.begin(), timestamp.end());
    if (!has_timestamps_) {
      timestamp_min_ = *lo;
      timestamp_max_ = *hi;
    }
    timestamp_min_ = std::min(timestamp_min_, *lo);
    timestamp_max_ = std::max(timestamp_max_, *hi);
    has_timestamps_ = true;
  }
}

DataStats DataStatsBuilder::Finish() const {
  DataStats s;
  s.ratings = count_;
  s.per_user = PercentilesOf(per_user_, &s.users);
  s.per_item = PercentilesOf(per_item_, &s.items);
  if (s.users > 0 && s.items > 0) {
    s.density = static_cast<double>(count_) /
                (static_cast<double>(s.users) * static_cast<double>(s.items));
  }
  s.rating_mean = count_ > 0 ? sum_ / static_cast<double>(count_) : 0;
  s.rating_min = min_;
  s.rating_max = max_;
  if (!too_many_values_) {
    s.histogram = exact_;
  } else {
    s.histogram_binned = true;
    s.bin_width = (max_ - min_) / kHistogramBins;
    for (int b = 0; b < kHistogramBins; ++b) s.histogram[min_ + b * s.bin_width] = 0;
    for (float r : all_ratings_) {
      int b = s.bin_width > 0 ? static_cast<int>((r - min_) / s.bin_width) : 0;
      b = std::clamp(b, 0, kHistogramBins - 1);
      ++s.histogram[min_ + b * s.bin_width];
    }
  }
  s.has_timestamps = has_timestamps_;
  s.timestamp_min = timestamp_min_;
  s.timestamp_max = timestamp_max_;
  return s;
}

DataStats ComputeDataStats(const RatingColumns& columns) {
  DataStatsBuilder builder;
  builder.Add(columns.user_index, columns.item_index, columns.rating, columns.timestamp);
  return builder.Finish();
}

std::string FormatDataStatsText(const DataStats& s) {
  std::string out = "users: " + std::to_string(s.users) + "\nitems: " +
                    std::to_string(s.items) + "\nratings: " + std::to_string(s.ratings) +
                    "\ndensity: " + Num(s.density) + "\nrating: mean " + Num(s.rating_mean) +
                    ", min " + Num(s.rating_min) + ", max " + Num(s.rating_max) + "\n";
  if (s.has_timestamps) {
    out += "timestamps: " + std::to_string(s.timestamp_min) + " .. " +
           std::to_string(s.timestamp_max) + "\n";
  }
  out += s.histogram_binned ? "rating histogram (bins of " + Num(s.bin_width) + "):\n"
                            : "rating histogram:\n";
  for (const auto& [value, count] : s.histogram) {
    char line[96];
    std::snprintf(line, sizeof(line), "  %-10s %10lld  %5.1f%%\n", Num(value).c_str(),
                  static_cast<long long>(count),
                  s.ratings > 0 ? 100.0 * static_cast<double>(count) /
                                      static_cast<double>(s.ratings)
                                : 0.0);
    out += line;
  }
  out += "ratings per user: " + PercentilesText(s.per_user) + "\n";
  out += "ratings per item: " + PercentilesText(s.per_item) + "\n";
  return out;
}

std::string FormatDataStatsJson(const DataStats& s) {
  Json j;
  j["users"] = s.users;
  j["items"] = s.items;
  j["ratings"] = s.ratings;
  j["density"] = JsonNumber(s.density, 6);
  j["rating_mean"] = JsonNumber(s.rating_mean, 6);
  j["rating_min"] = JsonNumber(s.rating_min, 6);
  j["rating_max"] = JsonNumber(s.rating_max, 6);
  j["histogram_binned"] = s.histogram_binned;
  Json histogram = Json::array();
  for (const auto& [value, count] : s.histogram) {
    histogram.push_back(Json{{"value", JsonNumber(value, 6)}, {"count", count}});
  }
  j["histogram"] = std::move(histogram);
  j["ratings_per_user"] = PercentilesJson(s.per_user);
  j["ratings_per_item"] = PercentilesJson(s.per_item);
  if (s.has_timestamps) {
    j["timestamp_min"] = s.timestamp_min;
    j["timestamp_max"] = s.timestamp_max;
  }
  return JsonText(j) + "\n";
}

}  // namespace psrec::data
