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
  if (f.has_target_epsilon()) {
    return bad("target_epsilon",
               "not with buffered: how many steps a client's update enters is known only as "
               "the run goes (set noise_multiplier; the run reports epsilon each step)");
  }
  return Status::OK();
}

}  // namespace psrec::train
