// `psrec`: one executable, one subcommand per use. See `psrec help`.
#include <cstring>
#include <iostream>
#include <string>

#include <glog/logging.h>

#include "cli/commands.h"

namespace {

struct Subcommand {
  const char* name;
  const char* summary;
  int (*run)(int argc, char** argv);
};

const Subcommand kSubcommands[] = {
    {"bench", "benchmarks: ingest, pushpull, train", psrec::cli::RunBenchCommand},
    {"ckpt", "inspect checkpoints: ls, info, verify, show, topk, similar, diff, export",
     psrec::cli::RunCkptCommand},
    {"config", "print or check a job config", psrec::cli::RunConfigCommand},
    {"data", "read, prepare, generate and describe ratings data", psrec::cli::RunDataCommand},
    {"privacy", "epsilon of DP training (RDP accountant), or the noise for a target epsilon",
     psrec::cli::RunPrivacyCommand},
    {"launch", "run a job (mpirun ... psrec train) and restart it from a checkpoint on failure",
     psrec::cli::RunLaunchCommand},
    {"recommend", "top items for a user from a checkpoint (same as 'psrec ckpt topk')",
     psrec::cli::RunRecommendCommand},
    {"report", "an HTML page of charts of a run, or several overlaid",
     psrec::cli::RunReportCommand},
    {"sim", "run a whole job (servers and workers) in one process, no MPI",
     psrec::cli::RunSimCommand},
    {"train", "one rank of an mpirun job: the first --servers ranks serve, the rest train",
     psrec::cli::RunTrainCommand},
};

void PrintHelp() {
  std::cout << "psrec: parameter-server training of recommender embeddings\n\n"
               "Usage: psrec <command> [flags]   (psrec <command> --help for its flags)\n"
               "       -v, --verbose with any command: internal logs too (servers, connections)\n\n"
               "Commands:\n";
  for (const auto& c : kSubcommands) {
    std::string name = c.name;
    std::cout << "  " << name << std::string(name.size() < 10 ? 10 - name.size() : 1, ' ')
              << c.summary << "\n";
  }
}

// Removes -v/--verbose from anywhere in argv (every command takes it) and says whether it
// was there.
bool TakeVerboseFlag(int* argc, char** argv) {
  bool verbose = false;
  int kept = 0;
  for (int i = 0; i < *argc; ++i) {
    if (i > 0 && (std::strcmp(argv[i], "-v") == 0 || std::strcmp(argv[i], "--verbose") == 0)) {
      verbose = true;
    } else {
      argv[kept++] = argv[i];
    }
  }
  *argc = kept;
  return verbose;
}

}  // namespace

int main(int argc, char** argv) {
  google::InitGoogleLogging(argv[0]);
  FLAGS_logtostderr = true;
  // Internal INFO logs (servers listening, connections closing) are for debugging: shown
  // with -v/--verbose only. Warnings and errors always go to stderr.
  FLAGS_minloglevel = TakeVerboseFlag(&argc, argv) ? google::GLOG_INFO : google::GLOG_WARNING;
  if (argc < 2 || std::strcmp(argv[1], "help") == 0 || std::strcmp(argv[1], "--help") == 0 ||
      std::strcmp(argv[1], "-h") == 0) {
    PrintHelp();
    return argc < 2 ? 2 : 0;
  }
  for (const auto& c : kSubcommands) {
    if (std::strcmp(argv[1], c.name) == 0) return c.run(argc - 1, argv + 1);
  }
  std::cerr << "psrec: unknown command '" << argv[1] << "' (see 'psrec help')\n";
  return 2;
}
