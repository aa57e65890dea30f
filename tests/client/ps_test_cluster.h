// TestCluster: real ps::Server instances on loopback for PS client tests, and the job they
// serve. Header-only test helper.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "models/model_tables.h"
#include "ps/server.h"
#include "client/ps_client.h"

namespace psrec::client {

// The job secret of every TestCluster (what psrec train / sim would draw).
inline constexpr const char* kTestSecret = "ps-client-test secret";

inline config::JobConfig TestJob(config::Consistency consistency = config::ASP,
                                 int staleness = 0) {
  config::JobConfig job;
  job.set_job_id("ps-client-test");
  job.mutable_cluster()->set_max_frame_bytes(64 << 20);
  job.mutable_model()->set_dim(7);  // rows of 8 floats
  job.mutable_training()->set_consistency(consistency);
  job.mutable_training()->set_staleness(staleness);
  job.mutable_training()->set_seed(1234);
  return job;
}

class TestCluster {
 public:
  // The servers listen through server_transport (a wire::FrameTap to see their replies)
  // and hold `secret`, which ClientOptions gives the workers too.
  TestCluster(const config::JobConfig& job, int num_servers, int num_workers,
              wire::Transport* server_transport = wire::Transport::Default(),
              std::string secret = kTestSecret)
      : job_(job), num_workers_(num_workers), secret_(std::move(secret)) {
    for (int s = 0; s < num_servers; ++s) {
      ps::ServerOptions options;
      options.job = job;
      options.secret = secret_;
      options.tables = models::TableSpecsForJob(options.job).value();
      options.server_id = s;
      options.num_servers = num_servers;
      options.num_workers = num_workers;
      options.transport = server_transport;
      Result<std::unique_ptr<ps::Server>> server = ps::Server::Start(options);
      EXPECT_TRUE(server.ok()) << server.status().ToString();
      if (!server.ok()) return;
      addresses_.push_back("127.0.0.1:" + std::to_string((*server)->port()));
      servers_.push_back(std::move(server).value());
    }
  }

  PsClientOptions ClientOptions(int worker) const {
    PsClientOptions options;
    options.worker_id = worker;
    options.num_workers = num_workers_;
    options.servers = addresses_;
    options.job_id = job_.job_id();
    options.secret = secret_;
    options.max_frame_bytes = static_cast<size_t>(job_.cluster().max_frame_bytes());
    options.connect_timeout = std::chrono::milliseconds(5000);
    return options;
  }

  // A connected client, or nullptr (with a test failure).
  std::unique_ptr<PsClient> Connect(
      int worker, const std::function<void(PsClientOptions&)>& tweak = nullptr) const {
    PsClientOptions options = ClientOptions(worker);
    if (tweak) tweak(options);
    Result<std::unique_ptr<PsClient>> client = PsClient::Connect(options);
    EXPECT_TRUE(client.ok()) << client.status().ToString();
    return client.ok() ? std::move(client).value() : nullptr;
  }

  ps::Server& server(int s) { return *servers_[static_cast<size_t>(s)]; }
  const std::string& address(int s) const { return addresses_[static_cast<size_t>(s)]; }

 private:
  config::JobConfig job_;
  int num_workers_;
  std::string secret_;
  std::vector<std::unique_ptr<ps::Server>> servers_;
  std::vector<std::string> addresses_;
};

}  // namespace psrec::client
