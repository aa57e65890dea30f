// The job secret (wire/handshake_auth.h) from the config: cluster.token, or the contents of
// cluster.token_file. `psrec train` (rank 0, then shared over MPI) and `psrec sim` draw a
// random one when neither is set, so a job is closed to outsiders without any setting.
//
// Thread safety: pure functions (reads the file system).
#pragma once

#include <string>

#include "common/proto/config.pb.h"
#include "common/status.h"

namespace psrec::cli {

// The configured secret, or "" when neither field is set. InvalidArgument when both are
// set or the file is empty; NotFound / IoError when it cannot be read.
Result<std::string> ConfiguredJobSecret(const config::ClusterConfig& cluster);

// The configured secret, or a freshly drawn one.
Result<std::string> ConfiguredOrDrawnJobSecret(const config::ClusterConfig& cluster);

}  // namespace psrec::cli
