// Entry points of the `psrec` subcommands. Each takes the arguments after `psrec`
// (argv[0] is the subcommand name), prints errors itself and returns the process exit code.
#pragma once

namespace psrec::launcher {

int RunDataCommand(int argc, char** argv);    // psrec data synth|prepare|stats|split
int RunConfigCommand(int argc, char** argv);  // psrec config print|check

}  // namespace psrec::launcher
