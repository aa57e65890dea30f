#include "tests/common/prometheus_check.h"

#include <cmath>
#include <cstdlib>
#include <map>
#include <set>
#include <sstream>
#include <vector>

namespace psrec::testing {
namespace {

bool NameChar(char c, bool first, bool colon) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_') return true;
  if (colon && c == ':') return true;
  return !first && c >= '0' && c <= '9';
}

bool ValidName(const std::string& name, bool colon) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    if (!NameChar(name[i], i == 0, colon)) return false;
  }
  return true;
}

bool ParseValue(const std::string& text, double* value) {
  if (text == "+Inf" || text == "Inf") { *value = INFINITY; return true; }
  if (text == "-Inf") { *value = -INFINITY; return true; }
  if (text == "NaN") { *value = NAN; return true; }
  if (text.empty()) return false;
  char* end = nullptr;
  *value = std::strtod(text.c_str(), &end);
  return end == text.c_str() + text.size() && std::isfinite(*value);
}

struct Family {
  std::string type;
  bool help = false;
  bool ended = false;
};

struct HistogramSeries {
  std::vector<std::pair<double, double>> buckets;  // (le, count) in order
  double count = -1;
};

}  // namespace

std::string CheckPrometheusText(const std::string& text) {
  if (text.empty() || text.back() != '\n') return "does not end in a newline";
  std::map<std::string, Family> families;
  std::map<std::string, HistogramSeries> histograms;  // family + labels without le
  std::set<std::string> samples;
  std::string current;  // the family of the previous sample
  std::istringstream in(text);
  std::string line;
  int number = 0;
  auto fail = [&](const std::string& why) {
    return "line " + std::to_string(number) + ": " + why + ": " + line;
  };
  while (std::getline(in, line)) {
    ++number;
    if (line.empty()) continue;
    if (line[0] == '#') {
      std::istringstream words(line);
      std::string hash, kind, name;
      words >> hash >> kind >> name;
      if (kind != "HELP" && kind != "TYPE") continue;  // a plain comment
      if (!ValidName(name, true)) return fail("bad metric name in " + kind);
      Family& family = families[name];
      if (family.ended || (!current.empty() && current == name)) {
        return fail(kind + " after the family's samples");
      }
      if (kind == "HELP") {
        if (family.help) return fail("second HELP");
        family.help = true;
        const std::string help = line.substr(line.find(name) + name.size());
        for (size_t i = 0; i < help.size(); ++i) {
          if (help[i] == '\\' && (i + 1 == help.size() || (help[i + 1] != '\\' &&
                                                           help[i + 1] != 'n'))) {
            return fail("bad escape in HELP");
          }
          if (help[i] == '\\') ++i;
        }
      } else {
        std::string type, extra;
        words >> type >> extra;
        if (!family.type.empty()) return fail("second TYPE");
        if (type != "counter" && type != "gauge" && type != "histogram" && type != "summary" &&
            type != "untyped") {
          return fail("unknown type '" + type + "'");
        }
        if (!extra.empty()) return fail("text after the type");
        family.type = type;
      }
      continue;
    }
    // name{labels} value [timestamp]
    size_t at = 0;
    while (at < line.size() && line[at] != '{' && line[at] != ' ') ++at;
    const std::string name = line.substr(0, at);
    if (!ValidName(name, true)) return fail("bad metric name");
    std::map<std::string, std::string> labels;
    std::string label_key;  // labels without le, in order
    if (at < line.size() && line[at] == '{') {
      ++at;
      while (true) {
        if (at < line.size() && line[at] == '}') { ++at; break; }
        size_t eq = line.find('=', at);
        if (eq == std::string::npos) return fail("label without =");
        const std::string label = line.substr(at, eq - at);
        if (!ValidName(label, false) || label.rfind("__", 0) == 0) return fail("bad label name");
        if (eq + 1 >= line.size() || line[eq + 1] != '"') return fail("label value not quoted");
        std::string value;
        size_t i = eq + 2;
        for (; i < line.size() && line[i] != '"'; ++i) {
          if (line[i] == '\\') {
            if (i + 1 >= line.size()) return fail("unterminated escape");
            const char e = line[++i];
            if (e != '\\' && e != '"' && e != 'n') return fail("bad escape in label value");
            value += e == 'n' ? '\n' : e;
          } else {
            value += line[i];
          }
        }
        if (i >= line.size()) return fail("unterminated label value");
        if (!labels.emplace(label, value).second) return fail("label given twice");
        if (label != "le") label_key += label + "=" + value + ",";
        at = i + 1;
        if (at < line.size() && line[at] == ',') ++at;
        else if (at >= line.size() || line[at] != '}') return fail("expected , or }");
      }
    }
    if (at >= line.size() || line[at] != ' ') return fail("no value");
    std::istringstream rest(line.substr(at + 1));
    std::string value_text, timestamp, extra;
    rest >> value_text >> timestamp >> extra;
    double value = 0;
    if (!ParseValue(value_text, &value)) return fail("bad value '" + value_text + "'");
    if (!extra.empty()) return fail("text after the timestamp");
    // The sample's family: its name, or a histogram's name without a suffix.
    std::string family_name = name, suffix;
    if (families.count(name) == 0) {
      for (const char* s : {"_bucket", "_sum", "_count"}) {
        const std::string sfx = s;
        if (name.size() > sfx.size() && name.compare(name.size() - sfx.size(), sfx.size(), sfx) == 0 &&
            families.count(name.substr(0, name.size() - sfx.size())) != 0) {
          family_name = name.substr(0, name.size() - sfx.size());
          suffix = sfx;
        }
      }
    }
    auto family = families.find(family_name);
    if (family == families.end() || family->second.type.empty()) return fail("no TYPE before it");
    if (family->second.ended) return fail("family's samples are not contiguous");
    if (!current.empty() && current != family_name) families[current].ended = true;
    current = family_name;
    const std::string& type = family->second.type;
    if (!samples.insert(name + "{" + label_key + "le=" +
                        (labels.count("le") ? labels["le"] : "") + "}").second) {
      return fail("duplicate sample");
    }
    if (type == "counter" && !(value >= 0)) return fail("negative counter");
    if (type == "histogram") {
      if (suffix.empty()) return fail("histogram sample without _bucket/_sum/_count");
      HistogramSeries& series = histograms[family_name + "{" + label_key + "}"];
      if (suffix == "_bucket") {
        double le = 0;
        if (labels.count("le") == 0 || !ParseValue(labels["le"], &le)) {
          return fail("bucket without a valid le");
        }
        if (!series.buckets.empty()) {
          if (!(le > series.buckets.back().first)) return fail("le not increasing");
          if (value < series.buckets.back().second) return fail("bucket count decreases");
        }
        series.buckets.push_back({le, value});
      } else if (suffix == "_count") {
        series.count = value;
      } else if (labels.count("le") != 0) {
        return fail("le on _sum");
      }
    } else if (labels.count("le") != 0 && type != "summary" && type != "untyped") {
      // le is reserved for histograms; a gauge or counter with it would confuse queries.
      return fail("le label outside a histogram");
    }
  }
  for (const auto& [key, series] : histograms) {
    if (series.buckets.empty() || !std::isinf(series.buckets.back().first)) {
      return "histogram " + key + ": no le=\"+Inf\" bucket";
    }
    if (series.count != series.buckets.back().second) {
      return "histogram " + key + ": _count differs from the +Inf bucket";
    }
  }
  return "";
}

}  // namespace psrec::testing
