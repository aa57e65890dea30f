// psrec bench: end-to-end benchmarks that print figures (never timed tests). Each benchmark
// is its own subcommand; `make bench` (scripts/bench.sh) runs the standard set.
#include <cstring>
#include <iostream>

#include "cli/commands.h"

namespace psrec::cli {
namespace {

struct Benchmark {
  const char* name;
  const char* summary;
  int (*run)(int argc, char** argv);
};

const Benchmark kBenchmarks[] = {
    {"ingest", "text ratings -> binary format: wall time, lines/s, peak RSS", RunBenchIngest},
    {"pushpull", "push/pull keys/s, MB/s and round-trip time, 1 server + 1 worker",
     RunBenchPushPull},
    {"train", "training ratings/s, epoch time, bytes per rating, peak RSS, RMSE", RunBenchTrain},
    {"rank", "full-ranking evaluation: users x items scored, top-K heaps, seconds", RunBenchRank},
};

void PrintBenchHelp() {
  std::cout << "Usage: psrec bench <benchmark> [flags]   (psrec bench <benchmark> --help)\n\n"
               "Benchmarks:\n";
  for (const auto& b : kBenchmarks) {
    std::cout << "  " << b.name << std::string(10 - std::strlen(b.name), ' ') << b.summary
              << "\n";
  }
}

}  // namespace

int RunBenchCommand(int argc, char** argv) {
  if (argc < 2 || std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0 ||
      std::strcmp(argv[1], "help") == 0) {
    PrintBenchHelp();
    return argc < 2 ? 2 : 0;
  }
  for (const auto& b : kBenchmarks) {
    if (std::strcmp(argv[1], b.name) == 0) return b.run(argc - 1, argv + 1);
  }
  std::cerr << "psrec bench: unknown benchmark '" << argv[1] << "' (see 'psrec bench help')\n";
  return 2;
}

}  // namespace psrec::cli
