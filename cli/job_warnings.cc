#include "cli/job_warnings.h"

#include <vector>

#include "data/binary_format.h"

namespace psrec::cli {
namespace {

constexpr char kNoEvaluation[] =
    ": training without evaluation (no test RMSE; the epoch lines show \"-\")";

}  // namespace

std::string NoTestSetWarning(const config::DataConfig& data) {
  if (data.format() == config::BINARY) {
    // An unreadable directory is the loader's error to report, with its reason.
    Result<data::PreparedInfo> info = data::ReadPreparedInfo(data.train_path());
    if (!info.ok() || info->has_test) return "";
    return "data.train_path " + data.train_path() + " was prepared without a test set" +
           kNoEvaluation + "; prepare it with --test FILE or --split";
  }
  if (data.train_path().empty()) {
    if (!data.has_synthetic() || data.synthetic().test_fraction() > 0) return "";
    return std::string("data.synthetic.test_fraction is 0") + kNoEvaluation;
  }
  if (data.split().kind() != config::SplitConfig::GIVEN || !data.test_path().empty()) return "";
  return std::string("data.test_path is not set and data.split.kind is GIVEN") + kNoEvaluation +
         "; set data.test_path, or data.split.kind RANDOM or LEAVE_LAST_OUT to hold out part "
         "of data.train_path";
}

std::string SimIgnoredClusterWarning(const config::ClusterConfig& cluster) {
  const config::ClusterConfig defaults;
  std::vector<std::string> ignored;
  if (cluster.bind_address() != defaults.bind_address()) {
    ignored.push_back("cluster.bind_address \"" + cluster.bind_address() + "\"");
  }
  if (cluster.base_port() != defaults.base_port()) {
    ignored.push_back("cluster.base_port " + std::to_string(cluster.base_port()));
  }
  if (cluster.advertise_address() != defaults.advertise_address()) {
    ignored.push_back("cluster.advertise_address \"" + cluster.advertise_address() + "\"");
  }
  if (ignored.empty()) return "";
  std::string list;
  for (size_t i = 0; i < ignored.size(); ++i) {
    list += (i == 0 ? "" : i + 1 == ignored.size() ? " and " : ", ") + ignored[i];
  }
  return list + (ignored.size() == 1 ? " is" : " are") +
         " ignored: psrec sim binds its servers to 127.0.0.1 on ports the OS picks (these "
         "settings are for psrec train)";
}

}  // namespace psrec::cli
