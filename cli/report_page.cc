#include "cli/report_page.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <sstream>

#include "cli/report_svg.h"

namespace psrec::cli {
namespace {

constexpr int kChartWidth = 520;
constexpr int kChartHeight = 300;

std::string ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// The chart a metrics field belongs to (see the header).
std::string GroupOf(const std::string& field) {
  for (const char* prefix : {"train_", "test_"}) {
    const std::string p = prefix;
    if (field.compare(0, p.size(), p) == 0 && field.size() > p.size()) {
      return field.substr(p.size());
    }
  }
  if (field.compare(0, 6, "bytes_") == 0) return "bytes";
  if (field.compare(0, 11, "checkpoint_") == 0) return "checkpoint";
  return field;
}

// Training-quality groups (from train_/test_ fields) are also drawn over time.
bool IsQualityField(const std::string& field) { return GroupOf(field) != field &&
                                                       field.rfind("bytes_", 0) != 0 &&
                                                       field.rfind("checkpoint_", 0) != 0; }

struct GroupInfo {
  std::string title;
  std::string y_label;
};

GroupInfo DescribeGroup(const std::string& group) {
  static const std::map<std::string, GroupInfo> kKnown = {
      {"rmse", {"RMSE (train sample, test)", "RMSE"}},
      {"mae", {"MAE", "MAE"}},
      {"loss", {"training loss (MSE over the epoch's batches)", "loss"}},
      {"ratings_per_sec", {"throughput, all workers", "ratings/s"}},
      {"ratings", {"ratings trained per epoch", "ratings"}},
      {"epoch_sec", {"epoch time (training)", "seconds"}},
      {"eval_sec", {"evaluation time", "seconds"}},
      {"learning_rate", {"learning rate (item table)", "learning rate"}},
      {"bytes", {"bytes on the wire (cumulative, all workers)", "bytes"}},
      {"pull_wait_sec", {"pull wait (cumulative, summed over workers)", "seconds"}},
      {"max_staleness", {"max staleness at any pull", "clocks"}},
      {"checkpoint", {"checkpoint pause and snapshot", "seconds"}},
      {"restarts", {"restarts so far", "restarts"}},
  };
  auto it = kKnown.find(group);
  if (it != kKnown.end()) return it->second;
  return {group, group};
}

double NumberOr(const Json& object, const char* key, double fallback) {
  auto it = object.find(key);
  return it != object.end() && it->is_number() ? it->get<double>() : fallback;
}

// Groups in order of first appearance, with their fields in order of first appearance.
std::vector<std::pair<std::string, std::vector<std::string>>> Groups(
    const std::vector<RunDirectory>& runs) {
  std::vector<std::pair<std::string, std::vector<std::string>>> groups;
  for (const RunDirectory& run : runs) {
    for (const Json& epoch : run.epochs) {
      for (auto it = epoch.begin(); it != epoch.end(); ++it) {
        if (it.key() == "epoch" || !(it->is_number() || it->is_null())) continue;
        const std::string group = GroupOf(it.key());
        auto g = std::find_if(groups.begin(), groups.end(),
                              [&](const auto& e) { return e.first == group; });
        if (g == groups.end()) {
          groups.push_back({group, {}});
          g = groups.end() - 1;
        }
        if (std::find(g->second.begin(), g->second.end(), it.key()) == g->second.end()) {
          g->second.push_back(it.key());
        }
      }
    }
  }
  return groups;
}

// x of each epoch: its number, or the wall time at its end.
std::vector<double> XValues(const RunDirectory& run, bool over_time) {
  std::vector<double> xs;
  double elapsed = 0;
  for (const Json& epoch : run.epochs) {
    elapsed += NumberOr(epoch, "epoch_sec", 0) + NumberOr(epoch, "eval_sec", 0);
    xs.push_back(over_time ? elapsed : NumberOr(epoch, "epoch", xs.size() + 1.0));
  }
  return xs;
}

LineChart MakeChart(const std::vector<RunDirectory>& runs, const std::string& group,
                    const std::vector<std::string>& fields, bool over_time) {
  const GroupInfo info = DescribeGroup(group);
  LineChart chart;
  chart.title = info.title;
  chart.y_label = info.y_label;
  chart.x_label = over_time ? "wall time (s, training and evaluation)" : "epoch";
  for (const RunDirectory& run : runs) {
    const std::vector<double> xs = XValues(run, over_time);
    for (const std::string& field : fields) {
      ChartSeries series;
      if (runs.size() == 1) {
        series.name = field;
      } else {
        series.name = fields.size() == 1 ? run.label : run.label + ": " + field;
      }
      for (size_t i = 0; i < run.epochs.size(); ++i) {
        const double y = NumberOr(run.epochs[i], field.c_str(),
                                  std::numeric_limits<double>::quiet_NaN());
        if (std::isfinite(y)) series.points.push_back({xs[i], y});
      }
      if (!series.points.empty()) chart.series.push_back(std::move(series));
    }
  }
  return chart;
}

std::string Html(const std::string& text) { return EscapeXml(text); }

std::string SummaryTable(const RunDirectory& run) {
  std::ostringstream out;
  out << "<table class=\"summary\">\n";
  auto row = [&](const std::string& key, const std::string& value) {
    out << "<tr><th>" << Html(key) << "</th><td>" << Html(value) << "</td></tr>\n";
  };
  row("directory", run.dir);
  if (run.summary.is_object()) {
    for (auto it = run.summary.begin(); it != run.summary.end(); ++it) {
      if (it.key() == "final") continue;
      row(it.key(), it->dump());
    }
    auto final = run.summary.find("final");
    if (final != run.summary.end() && final->is_object()) {
      for (auto it = final->begin(); it != final->end(); ++it) {
        row("final " + it.key(), it->dump());
      }
    }
  } else {
    row("summary", "no summary.json: the run has not finished (or failed)");
  }
  row("epochs recorded", std::to_string(run.epochs.size()));
  if (run.bad_lines > 0) row("unreadable metrics lines", std::to_string(run.bad_lines));
  out << "</table>\n";
  return out.str();
}

}  // namespace

Result<RunDirectory> LoadRunDirectory(const std::string& dir) {
  RunDirectory run;
  run.dir = dir;
  std::filesystem::path path(dir);
  run.label = path.filename().string();
  if (run.label.empty()) run.label = path.parent_path().filename().string();
  std::ifstream metrics(dir + "/metrics.jsonl");
  if (!metrics) return Status::NotFound(dir + "/metrics.jsonl: not found (not a run directory?)");
  std::string line;
  while (std::getline(metrics, line)) {
    if (line.empty()) continue;
    Json object = Json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (object.is_object()) {
      run.epochs.push_back(std::move(object));
    } else {
      ++run.bad_lines;
    }
  }
  run.config_text = ReadWholeFile(dir + "/config.textproto");
  const std::string summary = ReadWholeFile(dir + "/summary.json");
  if (!summary.empty()) {
    Json parsed = Json::parse(summary, nullptr, /*allow_exceptions=*/false);
    if (parsed.is_object()) run.summary = std::move(parsed);
  }
  return run;
}

std::string RenderReportPage(const std::vector<RunDirectory>& runs) {
  std::vector<RunDirectory> labelled = runs;
  if (runs.size() > 1) {
    for (RunDirectory& run : labelled) {
      if (run.summary.is_object()) {
        run.label += " (" + std::to_string(static_cast<int>(NumberOr(run.summary, "servers", 0))) +
                     "S/" + std::to_string(static_cast<int>(NumberOr(run.summary, "workers", 0))) +
                     "W)";
      }
    }
  }
  std::ostringstream page;
  std::string title = "psrec report: " + labelled.front().label;
  for (size_t i = 1; i < labelled.size(); ++i) title += ", " + labelled[i].label;
  page << "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>"
       << Html(title) << "</title>\n<style>\n"
       << "body{font-family:sans-serif;margin:16px;color:#222;background:#fff}\n"
       << ".charts{display:flex;flex-wrap:wrap;gap:12px}\n"
       << ".charts svg{border:1px solid #ddd}\n"
       << "table.summary{border-collapse:collapse;font-size:13px;margin-bottom:8px}\n"
       << "table.summary th,table.summary td{border:1px solid #ddd;padding:2px 8px;"
       << "text-align:left}\n"
       << "pre{background:#f6f6f6;padding:8px;font-size:12px;overflow:auto;max-height:400px}\n"
       << "</style>\n</head>\n<body>\n<h1>" << Html(title) << "</h1>\n";

  const auto groups = Groups(labelled);
  page << "<h2>Over epochs</h2>\n<div class=\"charts\" id=\"over-epochs\">\n";
  for (const auto& [group, fields] : groups) {
    page << RenderLineChartSvg(MakeChart(labelled, group, fields, false), kChartWidth,
                               kChartHeight);
  }
  page << "</div>\n<h2>Over time</h2>\n<div class=\"charts\" id=\"over-time\">\n";
  for (const auto& [group, fields] : groups) {
    if (group != "ratings_per_sec" && !IsQualityField(fields.front())) continue;
    page << RenderLineChartSvg(MakeChart(labelled, group, fields, true), kChartWidth,
                               kChartHeight);
  }
  page << "</div>\n";
  for (const RunDirectory& run : labelled) {
    page << "<h2>Run " << Html(run.label) << "</h2>\n" << SummaryTable(run);
    page << "<details><summary>config.textproto</summary>\n<pre>"
         << Html(run.config_text.empty() ? "(absent)" : run.config_text)
         << "</pre></details>\n";
  }
  page << "</body>\n</html>\n";
  return page.str();
}

}  // namespace psrec::cli
