// Warnings about a job config that is valid but probably not what its author meant. Each is
// one line (no trailing newline), or empty when there is nothing to say; the process that
// reports the job prints it once on stderr, before training starts.
//
// Thread safety: pure functions of their arguments (NoTestSetWarning reads the header files
// of a prepared directory).
#pragma once

#include <string>

#include "common/proto/config.pb.h"

namespace psrec::cli {

// The job will train without evaluation (no test RMSE; the epoch lines show "-"): split
// kind GIVEN (the default) with no data.test_path, a prepared directory without test
// parts, or synthetic data with test_fraction 0. Training on all data on purpose is
// legitimate (a model for `psrec recommend`), so this is a warning, not an error.
std::string NoTestSetWarning(const config::DataConfig& data);

// `psrec sim` binds its servers to 127.0.0.1 on ports the OS picks, whatever the config
// says: an in-process job is never reachable from the network and concurrent runs never
// clash on a port. Names cluster.bind_address, cluster.base_port and
// cluster.advertise_address when the config sets them to other than their defaults.
std::string SimIgnoredClusterWarning(const config::ClusterConfig& cluster);

}  // namespace psrec::cli
