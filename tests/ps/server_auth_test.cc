// The server's side of the handshake (wire/handshake_auth.h) against a peer written from
// the codec: an outsider that knows the job id but not the job secret can neither pull nor
// push on any path, learns nothing from its refusal, and an idle connection is closed.
#include <chrono>
#include <cstring>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "models/model_tables.h"
#include "ps/server.h"
#include "tests/ps/server_test_client.h"

namespace psrec::ps {
namespace {

using namespace server_test;  // NOLINT: the test client and helpers
using Clock = std::chrono::steady_clock;

constexpr int kWorkers = 2;

// How an outsider tries to get at the tables without the secret.
struct Attempt {
  const char* name;
  std::function<void(TestClient&)> send;
};

wire::Handshake Hello(int worker_id, const std::string& client_nonce) {
  wire::Handshake hs;
  hs.set_protocol_version(wire::kProtocolVersion);
  hs.set_job_id("server-test");  // the outsider knows the job id
  hs.set_worker_id(worker_id);
  hs.set_num_workers(kWorkers);
  hs.set_client_nonce(client_nonce);
  return hs;
}

// Appended to c.out(), sent by the caller in the same write as what precedes them (a
// refused connection may be closed before a second write).
void AppendPullAndPush(TestClient& c) {
  const std::vector<uint64_t> keys = {1, 2, 3};
  wire::AppendPullRequest(1, models::kItemTable, 0, keys, &c.out());
  const std::vector<float> huge(keys.size() * kRow, 1e30f);
  uint8_t* dst = wire::AppendPushRequest(
      wire::PushHeader::Gradients(2, models::kItemTable, 0.5f), keys, huge.size(), &c.out());
  std::memcpy(dst, huge.data(), huge.size() * sizeof(float));
}

TEST(ServerAuthTest, OutsiderWithTheJobIdIsRefusedOnEveryPath) {
  std::unique_ptr<Server> server = StartServer(TestJob(), kWorkers);
  ASSERT_NE(server, nullptr);
  // A proof made for another connection's nonce (seen on the wire by the outsider).
  TestClient observed(server->port());
  wire::Handshake seen = Hello(0, std::string(wire::kNonceBytes, 'a'));
  seen.set_proof(wire::WorkerProof(kTestSecret, observed.server_nonce(), seen));

  const std::vector<Attempt> attempts = {
      {"pull and push without a handshake", AppendPullAndPush},
      {"clock without a handshake", [](TestClient& c) { c.SendClock(1, 0, 5); }},
      {"checkpoint without a handshake",
       [](TestClient& c) {
         wire::CheckpointRequest request;
         request.set_request_id(1);
         request.set_dir("/tmp/psrec-outsider");
         wire::AppendControl(wire::MessageType::kCheckpoint, request, &c.out());
         c.Send(c.out());
       }},
      {"handshake with a guessed secret, then pull and push",
       [](TestClient& c) {
         wire::Handshake hs = Hello(0, std::string(wire::kNonceBytes, 'b'));
         hs.set_proof(wire::WorkerProof("psrec", c.server_nonce(), hs));
         wire::AppendHandshake(hs, &c.out());
         AppendPullAndPush(c);  // pipelined behind the handshake: must not be served
       }},
      {"handshake without a proof, then pull and push",
       [](TestClient& c) {
         wire::AppendHandshake(Hello(1, std::string(wire::kNonceBytes, 'c')), &c.out());
         AppendPullAndPush(c);
       }},
      {"a proof replayed from another connection, then pull and push",
       [&seen](TestClient& c) {
         wire::AppendHandshake(seen, &c.out());
         AppendPullAndPush(c);
       }},
      {"a protocol-2 handshake with the clear-text token field",
       [](TestClient& c) {
         // Field 3 (string token = "psrec") as version 2 wrote it, then version 2.
         const char raw[] = "\x08\x02\x12\x0bserver-test\x1a\x05psrec";
         const std::string body(raw, sizeof(raw) - 1);
         wire::AppendFrameHeader(wire::MessageType::kHandshake,
                                 static_cast<uint32_t>(body.size()), &c.out());
         c.out().Append(body.data(), body.size());
         AppendPullAndPush(c);
       }},
      {"garbage instead of a handshake",
       [](TestClient& c) {
         const uint8_t frame[] = {3, 0, 0, 0, 1, 0xff, 0xff, 0xff};
         c.SendRaw(frame, sizeof(frame));
       }},
  };
  for (const Attempt& attempt : attempts) {
    SCOPED_TRACE(attempt.name);
    TestClient outsider(server->port());
    ASSERT_EQ(outsider.server_nonce().size(), wire::kNonceBytes);
    attempt.send(outsider);
    if (!outsider.out().empty()) outsider.Send(outsider.out());
    // One Error, which says nothing about the job, then the connection is closed.
    std::optional<Frame> frame = outsider.Read();
    ASSERT_TRUE(frame.has_value());
    ASSERT_EQ(frame->type, wire::MessageType::kError);
    wire::Error error;
    ASSERT_TRUE(wire::DecodeControl(frame->body.span(), &error).ok());
    EXPECT_EQ(error.request_id(), 0u);
    EXPECT_EQ(error.message(), "handshake refused");
    EXPECT_FALSE(outsider.Read().has_value()) << "open after a refusal";
  }
  const ServerStats stats = server->stats();
  EXPECT_EQ(stats.handshakes_refused, attempts.size());
  EXPECT_EQ(stats.requests, 0u);
  EXPECT_EQ(stats.pulls, 0u);
  EXPECT_EQ(stats.pushes, 0u);
  ASSERT_TRUE(server
                  ->RunOnTableThread([](ServedTables& tables) {
                    for (const auto& table : tables) {
                      if (table != nullptr) {
                        EXPECT_EQ(table->size(), 0u) << "a row was created";
                      }
                    }
                  })
                  .ok());

  // The worker with the secret is served as before, on a fresh connection of its own.
  TestClient worker(server->port());
  ASSERT_EQ(worker.Handshake(0, kWorkers), wire::MessageType::kHandshakeReply);
  EXPECT_EQ(worker.Pull(1, models::kItemTable, 0, {1, 2}).size(), 2u * kRow);
}

TEST(ServerAuthTest, RefusalsNameNeitherJobNorWorkerCount) {
  config::JobConfig job = TestJob();
  job.set_job_id("a-distinctive-job-name");
  std::unique_ptr<Server> server = StartServer(job, 3);
  ASSERT_NE(server, nullptr);
  // Wrong job id, wrong worker count (right secret), worker id out of range.
  const std::vector<std::function<wire::MessageType(TestClient&)>> handshakes = {
      [](TestClient& c) { return c.Handshake(0, 3, kTestSecret, "psrec"); },
      [&](TestClient& c) { return c.Handshake(0, 7, kTestSecret, job.job_id()); },
      [&](TestClient& c) { return c.Handshake(5, 3, kTestSecret, job.job_id()); },
  };
  for (const auto& handshake : handshakes) {
    TestClient peer(server->port());
    ASSERT_EQ(handshake(peer), wire::MessageType::kError);
    EXPECT_EQ(peer.last_error(), "handshake refused");
    EXPECT_EQ(peer.last_error().find("distinctive"), std::string::npos);
    EXPECT_EQ(peer.last_error().find('3'), std::string::npos);
  }
  EXPECT_EQ(server->stats().handshakes_refused, handshakes.size());
}

TEST(ServerAuthTest, IdleConnectionIsClosedAfterTheHandshakeTimeout) {
  config::JobConfig job = TestJob();
  constexpr int kTimeoutMs = 100;
  job.mutable_cluster()->set_handshake_timeout_ms(kTimeoutMs);
  std::unique_ptr<Server> server = StartServer(job, kWorkers);
  ASSERT_NE(server, nullptr);
  TestClient worker(server->port());
  ASSERT_EQ(worker.Handshake(0, kWorkers), wire::MessageType::kHandshakeReply);

  const Clock::time_point start = Clock::now();
  TestClient idle(server->port());
  TestClient partial(server->port());
  const uint8_t half_header[] = {40, 0};
  partial.SendRaw(half_header, sizeof(half_header));
  EXPECT_FALSE(idle.Read().has_value()) << "an idle connection stayed open";
  EXPECT_FALSE(partial.Read().has_value()) << "a half-sent handshake stayed open";
  const double waited = std::chrono::duration<double>(Clock::now() - start).count();
  EXPECT_GE(waited, 0.9 * kTimeoutMs / 1000.0);
  EXPECT_LT(waited, 5.0);
  EXPECT_EQ(server->stats().handshake_timeouts, 2u);
  // The handshaken worker outlived the timeout.
  EXPECT_EQ(worker.Pull(1, models::kItemTable, 0, {9}).size(), size_t{kRow});
  EXPECT_EQ(server->stats().handshake_timeouts, 2u);
}

TEST(ServerAuthTest, ConnectionsBeyondTheLimitAreClosedAtOnce) {
  config::JobConfig job = TestJob();
  job.mutable_cluster()->set_max_connections(2 * kWorkers);
  std::unique_ptr<Server> server = StartServer(job, kWorkers);
  ASSERT_NE(server, nullptr);
  std::vector<std::unique_ptr<TestClient>> open;
  for (int i = 0; i < 2 * kWorkers; ++i) {
    open.push_back(std::make_unique<TestClient>(server->port()));
    ASSERT_EQ(open.back()->server_nonce().size(), wire::kNonceBytes);
  }
  TestClient over(server->port());
  EXPECT_TRUE(over.server_nonce().empty()) << "a connection beyond the limit was served";
  EXPECT_EQ(server->stats().connections_over_limit, 1u);
  // A slot frees up when a connection closes.
  open.pop_back();
  const Clock::time_point deadline = Clock::now() + std::chrono::seconds(5);
  bool served = false;
  while (!served && Clock::now() < deadline) {
    TestClient next(server->port());
    served = next.server_nonce().size() == wire::kNonceBytes;
    if (served) {
      EXPECT_EQ(next.Handshake(0, kWorkers), wire::MessageType::kHandshakeReply);
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  EXPECT_TRUE(served);
}

TEST(ServerAuthTest, StartRefusesALimitBelowTheWorkers) {
  ServerOptions options;
  options.job = TestJob();
  options.job.mutable_cluster()->set_max_connections(3);
  options.secret = kTestSecret;
  options.tables = models::TableSpecsForJob(options.job).value();
  options.num_workers = 2;
  EXPECT_EQ(Server::Start(options).status().code(), Status::Code::kInvalidArgument);
}

}  // namespace
}  // namespace psrec::ps
