// psrec bench ingest: how fast a LIBMF text file becomes the prepared binary format
// (issue #2: 20M lines in <= 1.5 s, memory <= 1.2x the output plus a constant).
//
// The input is generated first (not timed) in a fresh temporary directory: users in runs of
// ratings (as real files list them), items drawn with a Zipf-like skew, half-star ratings.
// Each repeat times ReadRatingsFile + WritePrepared (1 part) from a warm page cache.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "data/binary_format.h"
#include "common/flags.h"
#include "common/json.h"
#include "common/keys.h"
#include "data/text_reader.h"
#include "cli/commands.h"
#include "cli/data_io.h"

namespace psrec::cli {
namespace {

// Writes `lines` LIBMF lines to `path`. Deterministic: splitmix64 from a fixed seed.
Status GenerateLibmf(const std::string& path, int64_t lines, int64_t users, int64_t items) {
  std::unique_ptr<FILE, int (*)(FILE*)> file(std::fopen(path.c_str(), "wb"), &std::fclose);
  if (file == nullptr) return Status::IoError(path + ": cannot create");
  uint64_t state = 0x1234;
  auto next = [&state] { return Mix64(state += 0x9e3779b97f4a7c15ULL); };
  std::vector<char> buffer(1 << 20);
  size_t used = 0;
  const int64_t per_user = std::max<int64_t>(1, lines / users);
  for (int64_t line = 0; line < lines; ++line) {
    const int64_t user = 1 + line / per_user;
    // u^3 skews draws toward small ids: a few popular items, a long tail.
    const double u = static_cast<double>(next() >> 11) * 0x1.0p-53;
    const int64_t item = 1 + static_cast<int64_t>(u * u * u * static_cast<double>(items));
    const uint64_t half_stars = 2 + next() % 9;  // 1.0 .. 5.0
    char* p = buffer.data() + used;
    char* const end = buffer.data() + buffer.size();
    p = std::to_chars(p, end, user).ptr;
    *p++ = ' ';
    p = std::to_chars(p, end, item).ptr;
    *p++ = ' ';
    p = std::to_chars(p, end, half_stars / 2).ptr;
    if (half_stars % 2 == 1) {
      *p++ = '.';
      *p++ = '5';
    }
    *p++ = '\n';
    used = p - buffer.data();
    if (used > buffer.size() - 64) {
      if (std::fwrite(buffer.data(), 1, used, file.get()) != used) {
        return Status::IoError(path + ": write failed");
      }
      used = 0;
    }
  }
  if (std::fwrite(buffer.data(), 1, used, file.get()) != used || std::fflush(file.get()) != 0) {
    return Status::IoError(path + ": write failed");
  }
  return Status::OK();
}

// User + system CPU seconds of the process so far (all threads).
double CpuSeconds() {
  struct rusage usage;
  ::getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec * 1e-6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

double PeakRssBytes() {
  struct rusage usage;
  ::getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) * 1024.0;  // Linux reports KiB
}

}  // namespace

int RunBenchIngest(int argc, char** argv) {
  int64_t lines = 20000000;
  int64_t users = 0, items = 50000;
  int repeat = 3;
  bool json = false, keep = false;
  std::string input;
  FlagSet flags("psrec bench ingest",
                "Time LIBMF text -> prepared binary (ReadRatingsFile + WritePrepared, 1 "
                "part) on a generated file; prints the median wall time, lines/s, peak RSS "
                "and output bytes.");
  flags.AddInt("lines", &lines, "lines of the generated LIBMF file");
  flags.AddInt("users", &users, "distinct users (0: lines / 100)");
  flags.AddInt("items", &items, "item id range");
  flags.AddInt("repeat", &repeat, "timed runs; the median is reported");
  flags.AddString("input", &input, "time this text file instead of a generated one");
  flags.AddBool("keep", &keep, "keep the temporary directory");
  flags.AddBool("json", &json, "print one JSON object");
  Status s = flags.Parse(argc, argv, 1);
  if (flags.help_requested()) {
    std::cout << flags.Usage();
    return 0;
  }
  if (!s.ok() || lines < 1 || repeat < 1 || items < 1 || users < 0) {
    std::cerr << "psrec bench ingest: "
              << (s.ok() ? "--lines, --repeat and --items must be >= 1" : s.message()) << "\n";
    return 2;
  }
  if (users == 0) users = std::max<int64_t>(1, lines / 100);

  std::string tmpl = (std::filesystem::temp_directory_path() / "psrec-ingest-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) {
    std::cerr << "psrec bench ingest: cannot create a temporary directory\n";
    return 1;
  }
  const std::filesystem::path dir(tmpl);
  std::string text = input;
  if (text.empty()) {
    text = (dir / "ratings.libmf").string();
    if (ProgressWanted()) std::cerr << "generating " << lines << " lines in " << text << "\n";
    s = GenerateLibmf(text, lines, users, items);
  }
  const std::string out = (dir / "prepared").string();
  std::vector<double> seconds, cpu_seconds;
  data::ReadReport report;
  uint64_t output_bytes = 0;
  config::DataConfig data;
  data.set_format(input.empty() ? config::LIBMF : config::AUTO);
  for (int r = 0; r < repeat && s.ok(); ++r) {
    std::filesystem::remove_all(out);
    const auto start = std::chrono::steady_clock::now();
    const double cpu_start = CpuSeconds();
    {
      Result<data::RatingColumns> columns = data::ReadRatingsFile(text, data, &report);
      s = columns.ok() ? data::WritePrepared(*columns, nullptr, data::PrepareOptions(), out)
                       : columns.status();
    }  // the columns are freed inside the timed region, as a real `data prepare` does
    seconds.push_back(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    cpu_seconds.push_back(CpuSeconds() - cpu_start);
    output_bytes = DirectoryBytes(out);
    if (ProgressWanted() && s.ok()) std::cerr << "run " << r + 1 << ": " << seconds.back() << " s\n";
  }
  if (!keep) std::filesystem::remove_all(dir);
  if (!s.ok()) {
    std::cerr << s.message() << "\n";
    return 1;
  }
  std::vector<double> sorted = seconds;
  std::sort(sorted.begin(), sorted.end());
  const double median = sorted[sorted.size() / 2];
  // CPU time tells the cost apart from waiting for a busy machine's cores.
  std::sort(cpu_seconds.begin(), cpu_seconds.end());
  const double median_cpu = cpu_seconds[cpu_seconds.size() / 2];
  const double rss = PeakRssBytes();
  const double ratio = static_cast<double>(rss) / static_cast<double>(output_bytes);
  if (json) {
    Json j;
    j["bench"] = "ingest";
    j["lines"] = report.lines;
    j["ratings"] = report.ratings;
    j["repeat"] = repeat;
    j["median_s"] = JsonFixed(median, 4);
    j["min_s"] = JsonFixed(sorted.front(), 4);
    j["median_cpu_s"] = JsonFixed(median_cpu, 4);
    j["lines_per_s"] = JsonFixed(static_cast<double>(report.lines) / median, 0);
    j["peak_rss_bytes"] = JsonFixed(rss, 0);
    j["output_bytes"] = output_bytes;
    j["rss_over_output"] = JsonFixed(ratio, 3);
    std::cout << JsonText(j) << "\n";
    return 0;
  }
  char line[512];
  std::snprintf(line, sizeof(line),
                "ingest: %lld lines -> %llu bytes (1 part)\n"
                "  median %.3f s of %d (min %.3f s), %.1f M lines/s; median CPU %.3f s\n"
                "  peak RSS %.1f MiB = %.3f x output\n",
                static_cast<long long>(report.lines),
                static_cast<unsigned long long>(output_bytes), median, repeat, sorted.front(),
                static_cast<double>(report.lines) / median / 1e6, median_cpu, rss / (1 << 20),
                ratio);
  std::cout << line;
  return 0;
}

}  // namespace psrec::cli
