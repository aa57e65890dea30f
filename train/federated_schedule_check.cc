// CheckFederatedSchedule (train/federated_round.h): the settings of a FEDERATED job's
// schedule and server optimizer that no range rule can check alone.
#include <string>

#include "train/federated_round.h"

namespace psrec::train {

Status CheckFederatedSchedule(const config::JobConfig& job) {
  const config::FederatedConfig& f = job.training().federated();
  auto bad = [](const std::string& field, const std::string& why) {
    return Status::InvalidArgument("training.federated." + field + ": " + why);
  };
  if (f.server_optimizer() == config::FederatedConfig::SERVER_ADAM && f.server_momentum() > 0) {
    return bad("server_momentum",
               "is for server_optimizer SERVER_SGD; SERVER_ADAM has its own momentum "
               "(server_adam_beta1)");
  }
  if (!f.has_buffered()) return Status::OK();
  const config::BufferedAggregation& b = f.buffered();
  if (b.buffer_size() > b.concurrency()) {
    return bad("buffered.buffer_size",
               std::to_string(b.buffer_size()) + " updates per step need at least as many "
               "clients training at once (buffered.concurrency " +
                   std::to_string(b.concurrency()) + ")");
  }
  if (f.has_clip_norm()) {
    return bad("buffered",
               "not with DP (clip_norm): the accountant assumes Poisson sampling per round, "
               "and buffered clients are picked as slots free up");
  }
  if (f.secure_aggregation()) {
    return bad("buffered",
               "not with secure_aggregation: pairwise masks cancel only among the clients of "
               "one synchronous round");
  }
  return Status::OK();
}

}  // namespace psrec::train
