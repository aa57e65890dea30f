// psrec config print|check: the effective config of a job, or just its validation.
#include <iostream>
#include <string>
#include <vector>

#include "common/config.h"
#include "models/model_tables.h"
#include "common/flags.h"
#include "cli/commands.h"

namespace psrec::cli {

int RunConfigCommand(int argc, char** argv) {
  std::string verb = argc >= 2 ? argv[1] : "";
  if (verb != "print" && verb != "check") {
    std::cout << "Usage: psrec config print|check --config FILE [--set field.path=value ...]\n\n"
                 "  print   show the effective config: the file, the overrides, every default\n"
                 "  check   validate only; exit 0 when the config is valid\n";
    return verb.empty() || verb == "--help" || verb == "help" ? 0 : 2;
  }
  std::string config_path;
  std::vector<std::string> overrides;
  FlagSet flags("psrec config " + verb, verb == "print"
                                            ? "Print the effective job config (defaults filled in)."
                                            : "Validate a job config.");
  flags.AddString("config", &config_path, "job config (Protobuf text); empty: the defaults");
  flags.AddRepeated("set", &overrides, "override one field, e.g. --set training.epochs=5");
  Status s = flags.Parse(argc, argv, 2);
  if (flags.help_requested()) {
    std::cout << flags.Usage();
    return 0;
  }
  if (!s.ok()) {
    std::cerr << "psrec config " << verb << ": " << s.message() << "\n";
    return 2;
  }
  Result<config::JobConfig> job = LoadJobConfig(config_path, overrides);
  if (!job.ok()) {
    std::cerr << "psrec config " << verb << ": " << job.status().message() << "\n";
    return 1;
  }
  Result<models::JobModel> job_model = models::ModelForJob(*job);
  if (!job_model.ok()) {
    std::cerr << "psrec config " << verb << ": "
              << (config_path.empty() ? "<defaults>" : config_path) << ": "
              << job_model.status().message() << "\n";
    return 1;
  }
  if (verb == "print") {
    std::cout << EffectiveConfigText(models::WithEveryTable(*job_model->model, *job));
  } else {
    std::cout << (config_path.empty() ? "<defaults>" : config_path) << ": valid\n";
  }
  return 0;
}

}  // namespace psrec::cli
