// The verbs of `psrec data` (cli/data_command.cc dispatches to them). Each takes the
// arguments after `psrec data` (argv[0] is the verb), prints its own errors (bad input as one
// "file:line: reason" line) and returns the exit code: 0 done, 1 failed, 2 bad flags.
#pragma once

namespace psrec::cli {

int RunDataStats(int argc, char** argv);    // cli/data_command.cc
int RunDataSplit(int argc, char** argv);    // cli/data_command.cc
int RunDataPrepare(int argc, char** argv);  // cli/data_prepare.cc
int RunDataSynth(int argc, char** argv);    // cli/data_prepare.cc

}  // namespace psrec::cli
