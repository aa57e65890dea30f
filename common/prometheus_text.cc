#include "common/prometheus_text.h"

#include <cmath>
#include <cstdio>

#include <glog/logging.h>

namespace psrec {
namespace {

bool ValidName(const std::string& name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
    if (!alpha && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

std::string EscapeHelp(const std::string& help) {
  std::string out;
  for (char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

std::string PrometheusNumber(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  char text[40];
  if (value == std::floor(value) && std::abs(value) < 1e15) {
    std::snprintf(text, sizeof(text), "%.0f", value);
  } else {
    std::snprintf(text, sizeof(text), "%.15g", value);
  }
  return text;
}

std::string EscapePrometheusLabelValue(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

void PrometheusText::Family(const std::string& name, const std::string& help, const char* type) {
  CHECK(ValidName(name)) << "bad metric name " << name;
  if (!families_.insert(name).second) return;
  text_ += "# HELP " + name + " " + EscapeHelp(help) + "\n";
  text_ += "# TYPE " + name + " " + type + "\n";
}

void PrometheusText::Sample(const std::string& name, const PrometheusLabels& labels,
                            double value) {
  text_ += name;
  if (!labels.empty()) {
    text_ += '{';
    for (size_t i = 0; i < labels.size(); ++i) {
      CHECK(ValidName(labels[i].first) && labels[i].first.rfind("__", 0) != 0)
          << "bad label name " << labels[i].first;
      if (i > 0) text_ += ',';
      text_ += labels[i].first + "=\"" + EscapePrometheusLabelValue(labels[i].second) + "\"";
    }
    text_ += '}';
  }
  text_ += ' ' + PrometheusNumber(value) + '\n';
}

void PrometheusText::Counter(const std::string& name, const std::string& help, double value,
                             const PrometheusLabels& labels) {
  Family(name, help, "counter");
  Sample(name, labels, value);
}

void PrometheusText::Gauge(const std::string& name, const std::string& help, double value,
                           const PrometheusLabels& labels) {
  Family(name, help, "gauge");
  Sample(name, labels, value);
}

void PrometheusText::Histogram(const std::string& name, const std::string& help,
                               const std::vector<double>& upper_bounds,
                               const std::vector<uint64_t>& counts, double sum,
                               const PrometheusLabels& labels) {
  CHECK_EQ(counts.size(), upper_bounds.size() + 1);
  Family(name, help, "histogram");
  uint64_t cumulative = 0;
  for (size_t i = 0; i <= upper_bounds.size(); ++i) {
    cumulative += counts[i];
    PrometheusLabels with_le = labels;
    with_le.emplace_back("le", i < upper_bounds.size() ? PrometheusNumber(upper_bounds[i])
                                                       : std::string("+Inf"));
    Sample(name + "_bucket", with_le, static_cast<double>(cumulative));
  }
  Sample(name + "_sum", labels, sum);
  Sample(name + "_count", labels, static_cast<double>(cumulative));
}

}  // namespace psrec
