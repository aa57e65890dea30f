// psrec report RUN_DIR [--compare RUN_DIR...] [--out FILE]: the run as one HTML page of
// charts (cli/report_page.h), readable offline.
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/report_page.h"
#include "common/flags.h"

namespace psrec::cli {

int RunReportCommand(int argc, char** argv) {
  std::vector<std::string> dirs;
  std::vector<std::string> compare;
  std::string out;
  FlagSet flags("psrec report",
                "Write one self-contained HTML page (inline SVG, no script, no network) with\n"
                "the run's config, summary and charts over epochs and over wall time: every\n"
                "metric in metrics.jsonl (train/test RMSE, ...), ratings/s, bytes on the wire,\n"
                "pull wait, staleness, checkpoint pauses, restarts. --compare overlays other\n"
                "runs (e.g. the same job with 1, 2 and 4 workers) on the same charts.");
  flags.SetPositional("RUN_DIR", &dirs, 1, 1);
  flags.AddRepeated("compare", &compare, "another run directory to overlay");
  flags.AddString("out", &out, "the HTML file [default: RUN_DIR/report.html]");
  Status s = flags.Parse(argc, argv);
  if (flags.help_requested()) {
    std::cout << flags.Usage();
    return 0;
  }
  if (!s.ok()) {
    std::cerr << "psrec report: " << s.message() << "\n";
    return 2;
  }
  dirs.insert(dirs.end(), compare.begin(), compare.end());
  std::vector<RunDirectory> runs;
  for (const std::string& dir : dirs) {
    Result<RunDirectory> run = LoadRunDirectory(dir);
    if (!run.ok()) {
      std::cerr << "psrec report: " << run.status().message() << "\n";
      return 1;
    }
    if (run->bad_lines > 0) {
      std::cerr << "psrec report: warning: " << dir << "/metrics.jsonl: skipped "
                << run->bad_lines << " unreadable line(s)\n";
    }
    runs.push_back(std::move(*run));
  }
  if (out.empty()) out = dirs.front() + "/report.html";
  std::ofstream file(out, std::ios::binary);
  file << RenderReportPage(runs);
  file.close();
  if (!file) {
    std::cerr << "psrec report: " << out << ": write failed\n";
    return 1;
  }
  std::cout << "wrote " << out << "\n";
  return 0;
}

}  // namespace psrec::cli
