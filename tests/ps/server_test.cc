// Loopback tests of ps::Server with a minimal blocking client written from the codec
// (tests/ps/server_test_client.h), so the server is checked against the protocol, not
// against client/ps_client.
#include "ps/server.h"
#include "models/mf/biased_mf.h"
#include "models/model_tables.h"

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "tests/ps/server_test_client.h"

namespace psrec::ps {
namespace {

using namespace server_test;  // NOLINT: the test client and helpers

TEST(ServerTest, HandshakeThenPullReturnsDeterministicRows) {
  const config::JobConfig job = TestJob();
  std::unique_ptr<Server> server = StartServer(job, 1);
  ASSERT_NE(server, nullptr);
  ASSERT_GT(server->port(), 0);
  TestClient client(server->port());
  ASSERT_EQ(client.Handshake(0, 1), wire::MessageType::kHandshakeReply);

  const std::vector<uint64_t> keys = {7, 1ULL << 40, 3, 7};
  const std::vector<float> rows = client.Pull(1, models::kItemTable, 0, keys);
  ASSERT_EQ(rows.size(), keys.size() * kRow);
  EXPECT_EQ(rows, ExpectedRows(job, models::kItemTable, keys));
  EXPECT_EQ(client.Pull(2, models::kItemTable, 0, keys), rows) << "second pull differs";
  EXPECT_NE(std::vector<float>(rows.begin(), rows.begin() + kRow),
            std::vector<float>(rows.begin() + kRow, rows.begin() + 2 * kRow));

  // Another server of the same job creates the same rows.
  std::unique_ptr<Server> other = StartServer(job, 1);
  TestClient client2(other->port());
  ASSERT_EQ(client2.Handshake(0, 1), wire::MessageType::kHandshakeReply);
  EXPECT_EQ(client2.Pull(1, models::kItemTable, 0, keys), rows);

  const ServerStats stats = server->stats();
  EXPECT_EQ(stats.pulls, 2u);
  EXPECT_EQ(stats.rows_pulled, 8u);
  EXPECT_GT(stats.bytes_in, 0u);
  EXPECT_GT(stats.bytes_out, 2 * keys.size() * kRow * sizeof(float));
}

TEST(ServerTest, EmptyPullIsAnswered) {
  std::unique_ptr<Server> server = StartServer(TestJob(), 1);
  TestClient client(server->port());
  ASSERT_EQ(client.Handshake(0, 1), wire::MessageType::kHandshakeReply);
  EXPECT_TRUE(client.Pull(5, models::kUserTable, 0, {}).empty());
}

TEST(ServerTest, PushAppliesSgd) {
  const config::JobConfig job = TestJob();
  std::unique_ptr<Server> server = StartServer(job, 1);
  TestClient client(server->port());
  ASSERT_EQ(client.Handshake(0, 1), wire::MessageType::kHandshakeReply);
  const std::vector<uint64_t> keys = {11, 12};
  const std::vector<float> before = client.Pull(1, models::kUserTable, 0, keys);
  std::vector<float> grads(keys.size() * kRow);
  for (size_t i = 0; i < grads.size(); ++i) grads[i] = 0.5f + static_cast<float>(i);
  const float lr = 0.25f;
  client.SendPush(2, models::kUserTable, lr, keys, grads);
  client.ExpectAck(2);
  const std::vector<float> after = client.Pull(3, models::kUserTable, 0, keys);
  ASSERT_EQ(after.size(), before.size());
  for (size_t i = 0; i < after.size(); ++i) {
    EXPECT_FLOAT_EQ(after[i], before[i] - lr * grads[i]) << i;
  }
  EXPECT_EQ(server->stats().rows_pushed, 2u);
}

TEST(ServerTest, FailedHandshakesCloseOnlyThatConnection) {
  std::unique_ptr<Server> server = StartServer(TestJob(), 2);
  TestClient good(server->port());
  ASSERT_EQ(good.Handshake(1, 2), wire::MessageType::kHandshakeReply);
  struct Case {
    const char* name;
    int worker, workers;
    std::string secret, job;
    uint32_t version;
  };
  const Case cases[] = {
      {"bad secret", 0, 2, "guess", "server-test", wire::kProtocolVersion},
      {"other job", 0, 2, kTestSecret, "other-job", wire::kProtocolVersion},
      {"worker count", 0, 3, kTestSecret, "server-test", wire::kProtocolVersion},
      {"worker id", 2, 2, kTestSecret, "server-test", wire::kProtocolVersion},
      {"version", 0, 2, kTestSecret, "server-test", wire::kProtocolVersion + 1},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    TestClient bad(server->port());
    EXPECT_EQ(bad.Handshake(c.worker, c.workers, c.secret, c.job, c.version),
              wire::MessageType::kError);
    EXPECT_EQ(bad.last_error(), "handshake refused");
    EXPECT_FALSE(bad.Read().has_value()) << "still open after a refused handshake";
    EXPECT_EQ(good.Pull(1, models::kItemTable, 0, {1, 2}).size(), 2u * kRow);
  }
  EXPECT_EQ(server->stats().handshakes_refused, 5u);

  // A request before the handshake is refused too.
  TestClient eager(server->port());
  eager.SendPull(1, models::kItemTable, 0, {1});
  eager.ExpectErrorThenClose();
  TestClient late(server->port());
  EXPECT_EQ(late.Handshake(0, 2), wire::MessageType::kHandshakeReply);
}

// Writes one malformed frame; the server must close that connection only.
using BadFrameWriter = void (*)(TestClient&);

TEST(ServerTest, BadFrameClosesOnlyThatConnection) {
  const std::vector<std::pair<const char*, BadFrameWriter>> bad_frames = {
      {"unknown type",
       [](TestClient& c) {
         const uint8_t frame[] = {0, 0, 0, 0, 77};
         c.SendRaw(frame, sizeof(frame));
       }},
      {"oversized",
       [](TestClient& c) {
         wire::AppendFrameHeader(wire::MessageType::kPull, (1 << 20) + 1, &c.out());
         c.Send(c.out());
       }},
      {"undecodable body",
       [](TestClient& c) {
         wire::AppendFrameHeader(wire::MessageType::kPull, 3, &c.out());
         c.out().Append("\x2a\x10\x01", 3);
         c.Send(c.out());
       }},
      {"unknown table", [](TestClient& c) { c.SendPull(1, 9, 0, {1}); }},
      {"wrong grads size",
       [](TestClient& c) { c.SendPush(1, models::kItemTable, 0.1f, {1, 2}, std::vector<float>(7)); }},
      {"reply type from a client",
       [](TestClient& c) {
         wire::AppendAck(1, &c.out());
         c.Send(c.out());
       }},
      {"second handshake",
       [](TestClient& c) { EXPECT_EQ(c.Handshake(0, 2), wire::MessageType::kError); }},
      {"clock of another worker", [](TestClient& c) { c.SendClock(1, 1, 3); }},
  };
  std::unique_ptr<Server> server = StartServer(TestJob(), 2);
  TestClient good(server->port());
  ASSERT_EQ(good.Handshake(1, 2), wire::MessageType::kHandshakeReply);
  for (const auto& [name, write_bad_frame] : bad_frames) {
    SCOPED_TRACE(name);
    TestClient bad(server->port());
    ASSERT_EQ(bad.Handshake(0, 2), wire::MessageType::kHandshakeReply);
    write_bad_frame(bad);
    if (std::string(name) == "second handshake") {
      EXPECT_FALSE(bad.Read().has_value());
    } else {
      bad.ExpectErrorThenClose();
    }
    EXPECT_EQ(good.Pull(1, models::kItemTable, 0, {5}).size(), size_t{kRow});
  }
  EXPECT_EQ(server->stats().connections_dropped, bad_frames.size());
}

TEST(ServerTest, ConcurrentConnectionsLoseNoUpdate) {
  const config::JobConfig job = TestJob();
  constexpr int kWorkers = 4;
  constexpr int kRounds = 50;
  std::unique_ptr<Server> server = StartServer(job, kWorkers);
  std::vector<std::unique_ptr<TestClient>> clients;
  for (int w = 0; w < kWorkers; ++w) {
    clients.push_back(std::make_unique<TestClient>(server->port()));
    ASSERT_EQ(clients.back()->Handshake(w, kWorkers), wire::MessageType::kHandshakeReply);
  }
  const std::vector<uint64_t> keys = {100, 200};
  const std::vector<float> start = clients[0]->Pull(1, models::kItemTable, 0, keys);
  const std::vector<float> grads(keys.size() * kRow, 1.0f);
  // Every client sends all its pushes before reading any Ack: they interleave on the server.
  std::vector<std::thread> threads;
  for (int w = 0; w < kWorkers; ++w) {
    threads.emplace_back([&, w] {
      for (int r = 0; r < kRounds; ++r) clients[w]->SendPush(r, models::kItemTable, 0.5f, keys, grads);
      for (int r = 0; r < kRounds; ++r) clients[w]->ExpectAck(r);
    });
  }
  for (std::thread& t : threads) t.join();
  const std::vector<float> end = clients[1]->Pull(2, models::kItemTable, 0, keys);
  for (size_t i = 0; i < end.size(); ++i) {
    // 200 SGD steps of 0.5 each, all exactly representable.
    EXPECT_FLOAT_EQ(end[i], start[i] - 0.5f * kWorkers * kRounds) << i;
  }
}

TEST(ServerTest, RunOnTableThreadSeesServedTables) {
  config::JobConfig job = TestJob();
  models::MutableTableConfig(&job, "user")->set_placement(config::TableConfig::LOCAL);
  std::unique_ptr<Server> server = StartServer(job, 1);
  TestClient client(server->port());
  ASSERT_EQ(client.Handshake(0, 1), wire::MessageType::kHandshakeReply);
  client.Pull(1, models::kItemTable, 0, {1, 2, 3});
  size_t rows = 0;
  bool user_served = true;
  ASSERT_TRUE(server
                  ->RunOnTableThread([&](ServedTables& tables) {
                    rows = tables[models::kItemTable]->size();
                    user_served = tables[models::kUserTable] != nullptr;
                  })
                  .ok());
  EXPECT_EQ(rows, 3u);
  EXPECT_FALSE(user_served);
  // A LOCAL table is not served: pulling it is a protocol error.
  client.SendPull(2, models::kUserTable, 0, {1});
  client.ExpectErrorThenClose();
  server->Stop();
  EXPECT_EQ(server->RunOnTableThread([](ServedTables&) {}).code(), Status::Code::kAborted);
}

TEST(ServerTest, StopIsPromptWithConnectionsOpen) {
  std::unique_ptr<Server> server = StartServer(TestJob(config::BSP), 2);
  TestClient idle(server->port());  // never says a word
  TestClient parked(server->port());
  ASSERT_EQ(parked.Handshake(0, 2), wire::MessageType::kHandshakeReply);
  parked.SendClock(1, 0, 5);
  parked.ExpectAck(1);
  parked.SendPull(2, models::kItemTable, 5, {1});
  TestClient partial(server->port());
  ASSERT_EQ(partial.Handshake(1, 2), wire::MessageType::kHandshakeReply);
  wire::AppendFrameHeader(wire::MessageType::kPull, 1000, &partial.out());
  partial.Send(partial.out());  // a header whose body never comes

  const auto start = std::chrono::steady_clock::now();
  server->Stop();
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_LT(elapsed, std::chrono::seconds(1));
  EXPECT_FALSE(idle.Read().has_value());
  EXPECT_FALSE(parked.Read().has_value());
  EXPECT_FALSE(partial.Read().has_value());
  server->Stop();  // idempotent
  EXPECT_THROW(TestClient late(server->port()), boost::system::system_error);
}

TEST(ServerTest, StartRejectsBadOptions) {
  ServerOptions options;
  options.job = TestJob();
  options.tables = models::TableSpecsForJob(options.job).value();
  EXPECT_EQ(Server::Start(options).status().code(), Status::Code::kInvalidArgument)
      << "a server without a job secret";
  options.secret = kTestSecret;
  options.server_id = 2;
  options.num_servers = 2;
  EXPECT_EQ(Server::Start(options).status().code(), Status::Code::kInvalidArgument);
  options.server_id = 0;
  options.bind_address = "not-an-ip";
  EXPECT_EQ(Server::Start(options).status().code(), Status::Code::kInvalidArgument);
  options.bind_address = "127.0.0.1";
  std::unique_ptr<Server> first = StartServer(TestJob(), 1);
  options.port = first->port();
  EXPECT_EQ(Server::Start(options).status().code(), Status::Code::kUnavailable);
}

}  // namespace
}  // namespace psrec::ps
