// ServerOptions: what one parameter server process (or thread, under `psrec sim`) needs.
#pragma once

#include <string>

#include "common/proto/config.pb.h"

namespace psrec::ps {

struct ServerOptions {
  // Tables (TableSpecsForJob; REMOTE tables are served), training.consistency / staleness /
  // seed, job_id, cluster.token and cluster.max_frame_bytes.
  config::JobConfig job;
  int server_id = 0;
  int num_servers = 1;
  int num_workers = 1;  // handshakes must agree; the clocks of all of them are tracked
  std::string bind_address = "127.0.0.1";
  int port = 0;  // 0: the OS picks (Server::port() tells which)
};

}  // namespace psrec::ps
