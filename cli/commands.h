// Entry points of the `psrec` subcommands. Each takes the arguments after `psrec`
// (argv[0] is the subcommand name), prints errors itself and returns the process exit code.
#pragma once

namespace psrec::cli {

int RunDataCommand(int argc, char** argv);    // psrec data synth|prepare|stats|split
int RunConfigCommand(int argc, char** argv);  // psrec config print|check
int RunCkptCommand(int argc, char** argv);    // psrec ckpt ls|info|verify|show|topk|similar|diff|export
int RunTrainCommand(int argc, char** argv);   // psrec train (one MPI rank)
int RunSimCommand(int argc, char** argv);     // psrec sim (a whole job in one process)
int RunLaunchCommand(int argc, char** argv);  // psrec launch (relaunch a failed job)
int RunBenchCommand(int argc, char** argv);   // psrec bench ingest|pushpull|train
int RunRecommendCommand(int argc, char** argv);  // psrec recommend = psrec ckpt topk
int RunPrivacyCommand(int argc, char** argv);    // psrec privacy (the RDP accountant)
int RunReportCommand(int argc, char** argv);     // psrec report (HTML charts of runs)

// psrec bench <name>
int RunBenchIngest(int argc, char** argv);
int RunBenchPushPull(int argc, char** argv);
int RunBenchTrain(int argc, char** argv);
int RunBenchRank(int argc, char** argv);   // cli/bench_rank.cc

}  // namespace psrec::cli
