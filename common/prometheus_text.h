// PrometheusText: builds a page of the Prometheus text exposition format, version 0.0.4
// (what `GET /metrics` returns, content type kPrometheusContentType). Each metric family gets
// its # HELP and # TYPE lines once, before its first sample; label values and help texts are
// escaped as the format requires (\\, \" and \n in label values; \\ and \n in help).
//
// REQUIRES: metric and label names match [a-zA-Z_:][a-zA-Z0-9_:]* (CHECKed: they are
// constants of the program), and a family's samples are added together.
// Thread safety: one thread per object.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace psrec {

inline constexpr const char kPrometheusContentType[] = "text/plain; version=0.0.4; charset=utf-8";

using PrometheusLabels = std::vector<std::pair<std::string, std::string>>;

class PrometheusText {
 public:
  // `name` should end in _total (a convention the format's users rely on).
  void Counter(const std::string& name, const std::string& help, double value,
               const PrometheusLabels& labels = {});
  void Gauge(const std::string& name, const std::string& help, double value,
             const PrometheusLabels& labels = {});
  // `upper_bounds` ascending (+Inf is added); `counts[i]` observations in bucket i alone
  // (not cumulative), with one more entry for the observations above the last bound.
  // REQUIRES: counts.size() == upper_bounds.size() + 1.
  void Histogram(const std::string& name, const std::string& help,
                 const std::vector<double>& upper_bounds, const std::vector<uint64_t>& counts,
                 double sum, const PrometheusLabels& labels = {});

  const std::string& text() const { return text_; }

 private:
  void Family(const std::string& name, const std::string& help, const char* type);
  void Sample(const std::string& name, const PrometheusLabels& labels, double value);

  std::string text_;
  std::set<std::string> families_;
};

// A sample value as the format writes it: integers without a fraction, +Inf, -Inf, NaN.
std::string PrometheusNumber(double value);

// `value` escaped for a label value (between double quotes).
std::string EscapePrometheusLabelValue(const std::string& value);

}  // namespace psrec
