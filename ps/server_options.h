// ServerOptions: what one parameter server process (or thread, under `psrec sim`) needs.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/proto/config.pb.h"
#include "common/status.h"
#include "table/table_spec.h"
#include "checkpoint/checkpoint_writer.h"
#include "wire/transport.h"

namespace psrec::ps {

struct ServerOptions {
  // training.consistency / staleness / seed, job_id and cluster.max_frame_bytes,
  // handshake_timeout_ms and max_connections (cluster.token is not read: see secret).
  config::JobConfig job;
  // The job secret (wire/handshake_auth.h): workers must prove they know it. Required
  // (non-empty); the caller draws or reads it (cli: rank 0 under mpirun, psrec sim, or
  // cluster.token / token_file). Never sent, never logged.
  std::string secret;
  // The job's tables (models::TableSpecsFor): the REMOTE ones are served. The server knows
  // them as rows of floats only, never as a model's.
  std::vector<TableSpec> tables;
  int server_id = 0;
  int num_servers = 1;
  int num_workers = 1;  // handshakes must agree; the clocks of all of them are tracked
  std::string bind_address = "127.0.0.1";
  int port = 0;  // 0: the OS picks (Server::port() tells which)
  // Also listen on an abstract Unix-domain socket and advertise it in the handshake reply,
  // so that workers on this host move their traffic off the TCP stack (about twice the
  // bandwidth and half the round trip on loopback). TCP stays for everyone else.
  bool local_socket = true;
  // Resume: a checkpoint directory (root/step-N) whose rows of this server's shard
  // (ServerOf over num_servers, from every file: resharding) are loaded before listening,
  // and the clock every worker starts at (its manifest's clock).
  std::string resume_from;
  int32_t start_clock = 0;
  // A fresh start's rows other than the initializer's (NeuMF from pretrained models:
  // train/pretrained_rows.h): called once per served table before listening, unless
  // resume_from is set; put(key, payload) sets the row (spec.dim floats) with the optimizer's
  // initial state. keep(key) says which keys are this server's. Null: none.
  using KeepKey = std::function<bool(uint64_t key)>;
  using PutRow = std::function<void(uint64_t key, const float* payload)>;
  std::function<Status(const TableSpec& spec, const KeepKey& keep, const PutRow& put)>
      initial_rows;
  // How the server listens and what its connections run over. Not owned; must outlive the
  // server. Tests give a wire::FrameTap to see (or break) the frames the server sends.
  wire::Transport* transport = wire::Transport::Default();
  // Test seam: faults for this server's background checkpoint writer.
  std::optional<checkpoint::CheckpointFaults> checkpoint_faults;
};

}  // namespace psrec::ps
