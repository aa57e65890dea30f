// Loopback tests of ps::Server with a minimal blocking client written here from the codec,
// so the server is checked against the protocol, not against worker/ps_client.
#include "ps/server.h"

#include <chrono>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <gtest/gtest.h>

#include "common/frame_codec.h"
#include "common/table_spec.h"
#include "ps/embedding_table.h"

namespace psrec::ps {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;

constexpr int kDim = 4;  // model.dim; rows hold kDim + 1 floats (bias)
constexpr int kRow = kDim + 1;

config::JobConfig TestJob(config::Consistency consistency = config::ASP, int staleness = 0) {
  config::JobConfig job;
  job.set_job_id("server-test");
  job.mutable_cluster()->set_token("secret");
  job.mutable_cluster()->set_max_frame_bytes(1 << 20);
  job.mutable_model()->set_dim(kDim);
  job.mutable_training()->set_consistency(consistency);
  job.mutable_training()->set_staleness(staleness);
  job.mutable_training()->set_seed(99);
  return job;
}

std::unique_ptr<Server> StartServer(const config::JobConfig& job, int num_workers) {
  ServerOptions options;
  options.job = job;
  options.num_workers = num_workers;
  Result<std::unique_ptr<Server>> server = Server::Start(options);
  EXPECT_TRUE(server.ok()) << server.status().ToString();
  return server.ok() ? std::move(server).value() : nullptr;
}

struct Frame {
  wire::MessageType type = wire::MessageType::kError;
  ByteBuffer body;
};

// A blocking client with a deadline on every read, so a broken server fails the test
// instead of hanging it.
class TestClient {
 public:
  explicit TestClient(int port) : socket_(io_) {
    socket_.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    socket_.set_option(tcp::no_delay(true));
  }

  void Send(ByteBuffer& frames) {
    asio::write(socket_, asio::buffer(frames.data(), frames.size()));
    frames.Clear();
  }
  void SendRaw(const void* p, size_t n) { asio::write(socket_, asio::buffer(p, n)); }

  // The next frame, or nullopt when the server closed the connection.
  std::optional<Frame> Read() {
    uint8_t header[wire::kFrameHeaderBytes];
    if (!ReadExactly(header, sizeof(header))) return std::nullopt;
    Result<wire::FrameHeader> h = wire::ParseFrameHeader(header, 1 << 30);
    EXPECT_TRUE(h.ok()) << h.status().ToString();
    if (!h.ok()) return std::nullopt;
    Frame frame;
    frame.type = h->type;
    uint8_t* body = frame.body.Grow(h->body_bytes);
    if (h->body_bytes > 0 && !ReadExactly(body, h->body_bytes)) return std::nullopt;
    return frame;
  }

  wire::MessageType Handshake(int worker_id, int num_workers, std::string token = "secret",
                              std::string job_id = "server-test",
                              uint32_t version = wire::kProtocolVersion) {
    wire::Handshake hs;
    hs.set_protocol_version(version);
    hs.set_job_id(job_id);
    hs.set_token(token);
    hs.set_worker_id(worker_id);
    hs.set_num_workers(num_workers);
    wire::AppendHandshake(hs, &out_);
    Send(out_);
    std::optional<Frame> reply = Read();
    return reply ? reply->type : wire::MessageType::kAck;  // kAck: closed without a word
  }

  void SendPull(uint64_t request_id, TableId table, int32_t clock,
                const std::vector<uint64_t>& keys) {
    wire::AppendPullRequest(request_id, table, clock, keys, &out_);
    Send(out_);
  }

  // Reads a PullReply for request_id; values by key, kRow floats each.
  std::vector<float> ReadPullReply(uint64_t request_id, wire::PullReplyView* view_out = nullptr) {
    std::optional<Frame> frame = Read();
    EXPECT_TRUE(frame.has_value());
    if (!frame) return {};
    EXPECT_EQ(frame->type, wire::MessageType::kPullReply);
    wire::PullReplyView view;
    EXPECT_TRUE(wire::DecodePullReply(frame->body.span(), &view).ok());
    EXPECT_EQ(view.request_id, request_id);
    std::vector<float> values(view.num_floats);
    if (!values.empty()) std::memcpy(values.data(), view.values, view.num_floats * 4);
    if (view_out != nullptr) *view_out = view;
    view_out = nullptr;
    return values;
  }

  std::vector<float> Pull(uint64_t request_id, TableId table, int32_t clock,
                          const std::vector<uint64_t>& keys) {
    SendPull(request_id, table, clock, keys);
    return ReadPullReply(request_id);
  }

  void SendPush(uint64_t request_id, TableId table, float lr, const std::vector<uint64_t>& keys,
                const std::vector<float>& grads) {
    uint8_t* dst = wire::AppendPushRequest(request_id, table, lr, keys, grads.size(), &out_);
    std::memcpy(dst, grads.data(), grads.size() * sizeof(float));
    Send(out_);
  }

  void ExpectAck(uint64_t request_id) {
    std::optional<Frame> frame = Read();
    ASSERT_TRUE(frame.has_value());
    ASSERT_EQ(frame->type, wire::MessageType::kAck);
    wire::Ack ack;
    ASSERT_TRUE(wire::DecodeControl(frame->body.span(), &ack).ok());
    EXPECT_EQ(ack.request_id(), request_id);
  }

  void SendClock(uint64_t request_id, int worker, int32_t clock) {
    wire::AppendClock(request_id, worker, clock, &out_);
    Send(out_);
  }

  // The server sends an Error and closes.
  void ExpectErrorThenClose() {
    std::optional<Frame> frame = Read();
    ASSERT_TRUE(frame.has_value());
    EXPECT_EQ(frame->type, wire::MessageType::kError);
    EXPECT_FALSE(Read().has_value()) << "connection still open after an Error";
  }

  ByteBuffer& out() { return out_; }

 private:
  bool ReadExactly(uint8_t* p, size_t n) {
    bool done = false;
    boost::system::error_code result;
    asio::async_read(socket_, asio::buffer(p, n),
                     [&](const boost::system::error_code& ec, size_t) {
                       done = true;
                       result = ec;
                     });
    io_.restart();
    io_.run_for(std::chrono::seconds(10));
    if (!done) {
      ADD_FAILURE() << "no answer from the server within 10 s";
      socket_.close();
      io_.restart();
      io_.run();
      return false;
    }
    return !result;
  }

  asio::io_context io_;
  tcp::socket socket_;
  ByteBuffer out_;
};

std::vector<float> ExpectedRows(const config::JobConfig& job, TableId table,
                                const std::vector<uint64_t>& keys) {
  EmbeddingTable reference(TableSpecsForJob(job)[table], job.training().seed());
  std::vector<float> rows(keys.size() * reference.dim());
  reference.Pull(keys, rows.data());
  return rows;
}

TEST(ServerTest, HandshakeThenPullReturnsDeterministicRows) {
  const config::JobConfig job = TestJob();
  std::unique_ptr<Server> server = StartServer(job, 1);
  ASSERT_NE(server, nullptr);
  ASSERT_GT(server->port(), 0);
  TestClient client(server->port());
  ASSERT_EQ(client.Handshake(0, 1), wire::MessageType::kHandshakeReply);

  const std::vector<uint64_t> keys = {7, 1ULL << 40, 3, 7};
  const std::vector<float> rows = client.Pull(1, kItemTable, 0, keys);
  ASSERT_EQ(rows.size(), keys.size() * kRow);
  EXPECT_EQ(rows, ExpectedRows(job, kItemTable, keys));
  EXPECT_EQ(client.Pull(2, kItemTable, 0, keys), rows) << "second pull differs";
  EXPECT_NE(std::vector<float>(rows.begin(), rows.begin() + kRow),
            std::vector<float>(rows.begin() + kRow, rows.begin() + 2 * kRow));

  // Another server of the same job creates the same rows.
  std::unique_ptr<Server> other = StartServer(job, 1);
  TestClient client2(other->port());
  ASSERT_EQ(client2.Handshake(0, 1), wire::MessageType::kHandshakeReply);
  EXPECT_EQ(client2.Pull(1, kItemTable, 0, keys), rows);

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
  EXPECT_TRUE(client.Pull(5, kUserTable, 0, {}).empty());
}

TEST(ServerTest, PushAppliesSgd) {
  const config::JobConfig job = TestJob();
  std::unique_ptr<Server> server = StartServer(job, 1);
  TestClient client(server->port());
  ASSERT_EQ(client.Handshake(0, 1), wire::MessageType::kHandshakeReply);
  const std::vector<uint64_t> keys = {11, 12};
  const std::vector<float> before = client.Pull(1, kUserTable, 0, keys);
  std::vector<float> grads(keys.size() * kRow);
  for (size_t i = 0; i < grads.size(); ++i) grads[i] = 0.5f + static_cast<float>(i);
  const float lr = 0.25f;
  client.SendPush(2, kUserTable, lr, keys, grads);
  client.ExpectAck(2);
  const std::vector<float> after = client.Pull(3, kUserTable, 0, keys);
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
    std::string token, job;
    uint32_t version;
  };
  const Case cases[] = {
      {"bad token", 0, 2, "guess", "server-test", wire::kProtocolVersion},
      {"other job", 0, 2, "secret", "other-job", wire::kProtocolVersion},
      {"worker count", 0, 3, "secret", "server-test", wire::kProtocolVersion},
      {"worker id", 2, 2, "secret", "server-test", wire::kProtocolVersion},
      {"version", 0, 2, "secret", "server-test", wire::kProtocolVersion + 1},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    TestClient bad(server->port());
    EXPECT_EQ(bad.Handshake(c.worker, c.workers, c.token, c.job, c.version),
              wire::MessageType::kError);
    EXPECT_FALSE(bad.Read().has_value()) << "still open after a refused handshake";
    EXPECT_EQ(good.Pull(1, kItemTable, 0, {1, 2}).size(), 2u * kRow);
  }
  EXPECT_EQ(server->stats().handshakes_refused, 5u);

  // A request before the handshake is refused too.
  TestClient eager(server->port());
  eager.SendPull(1, kItemTable, 0, {1});
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
       [](TestClient& c) { c.SendPush(1, kItemTable, 0.1f, {1, 2}, std::vector<float>(7)); }},
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
    EXPECT_EQ(good.Pull(1, kItemTable, 0, {5}).size(), size_t{kRow});
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
  const std::vector<float> start = clients[0]->Pull(1, kItemTable, 0, keys);
  const std::vector<float> grads(keys.size() * kRow, 1.0f);
  // Every client sends all its pushes before reading any Ack: they interleave on the server.
  std::vector<std::thread> threads;
  for (int w = 0; w < kWorkers; ++w) {
    threads.emplace_back([&, w] {
      for (int r = 0; r < kRounds; ++r) clients[w]->SendPush(r, kItemTable, 0.5f, keys, grads);
      for (int r = 0; r < kRounds; ++r) clients[w]->ExpectAck(r);
    });
  }
  for (std::thread& t : threads) t.join();
  const std::vector<float> end = clients[1]->Pull(2, kItemTable, 0, keys);
  for (size_t i = 0; i < end.size(); ++i) {
    // 200 SGD steps of 0.5 each, all exactly representable.
    EXPECT_FLOAT_EQ(end[i], start[i] - 0.5f * kWorkers * kRounds) << i;
  }
}

TEST(ServerTest, BspParksPullUntilEveryWorkerReachesItsClock) {
  const config::JobConfig job = TestJob(config::BSP);
  std::unique_ptr<Server> server = StartServer(job, 2);
  TestClient w0(server->port());
  TestClient w1(server->port());
  ASSERT_EQ(w0.Handshake(0, 2), wire::MessageType::kHandshakeReply);
  ASSERT_EQ(w1.Handshake(1, 2), wire::MessageType::kHandshakeReply);
  const std::vector<uint64_t> keys = {42};
  const std::vector<float> before = w0.Pull(1, kItemTable, 0, keys);

  w0.SendClock(2, 0, 1);
  w0.ExpectAck(2);
  w0.SendPull(3, kItemTable, 1, keys);
  // Requests are handled in order, so an Ack for a later clock proves the pull was parked.
  w0.SendClock(4, 0, 1);
  w0.ExpectAck(4);
  EXPECT_EQ(server->stats().pulls_parked, 1u);

  // Worker 1's push precedes its clock on its connection: the released pull must see it.
  const std::vector<float> grads(kRow, 2.0f);
  w1.SendPush(5, kItemTable, 0.5f, keys, grads);
  w1.SendClock(6, 1, 1);
  w1.ExpectAck(5);
  w1.ExpectAck(6);
  wire::PullReplyView view;
  const std::vector<float> after = w0.ReadPullReply(3, &view);
  EXPECT_EQ(view.slowest_clock, 1);
  EXPECT_GE(view.blocked_us, 0);
  ASSERT_EQ(after.size(), size_t{kRow});
  for (int i = 0; i < kRow; ++i) EXPECT_FLOAT_EQ(after[i], before[i] - 1.0f);
}

TEST(ServerTest, SspAnswersWithinStalenessAndAspNeverWaits) {
  for (const auto consistency : {config::SSP, config::ASP}) {
    SCOPED_TRACE(config::Consistency_Name(consistency));
    std::unique_ptr<Server> server = StartServer(TestJob(consistency, 1), 2);
    TestClient w0(server->port());
    TestClient w1(server->port());
    ASSERT_EQ(w0.Handshake(0, 2), wire::MessageType::kHandshakeReply);
    ASSERT_EQ(w1.Handshake(1, 2), wire::MessageType::kHandshakeReply);
    w0.SendClock(1, 0, 2);
    w0.ExpectAck(1);
    // Clock 1 is within staleness 1 of worker 1 (at 0): answered at once.
    EXPECT_EQ(w0.Pull(2, kItemTable, 1, {1}).size(), size_t{kRow});
    // Clock 2 is 2 ahead of the slowest: parked under SSP, answered under ASP.
    w0.SendPull(3, kItemTable, 2, {1});
    w0.SendClock(4, 0, 2);
    std::optional<Frame> first = w0.Read();
    ASSERT_TRUE(first.has_value());
    if (consistency == config::ASP) {
      EXPECT_EQ(first->type, wire::MessageType::kPullReply);
      w0.ExpectAck(4);
      EXPECT_EQ(server->stats().pulls_parked, 0u);
      EXPECT_EQ(server->stats().max_staleness, 2);
    } else {
      EXPECT_EQ(first->type, wire::MessageType::kAck) << "SSP answered a pull 2 clocks ahead";
      w1.SendClock(5, 1, 1);
      w1.ExpectAck(5);
      wire::PullReplyView view;
      EXPECT_EQ(w0.ReadPullReply(3, &view).size(), size_t{kRow});
      EXPECT_EQ(view.slowest_clock, 1);
      EXPECT_EQ(server->stats().pulls_parked, 1u);
      EXPECT_EQ(server->stats().max_staleness, 1);
    }
  }
}

TEST(ServerTest, FinishReleasesParkedPulls) {
  std::unique_ptr<Server> server = StartServer(TestJob(config::BSP), 2);
  TestClient w0(server->port());
  TestClient w1(server->port());
  ASSERT_EQ(w0.Handshake(0, 2), wire::MessageType::kHandshakeReply);
  ASSERT_EQ(w1.Handshake(1, 2), wire::MessageType::kHandshakeReply);
  w0.SendClock(1, 0, 3);
  w0.ExpectAck(1);
  w0.SendPull(2, kItemTable, 3, {9});
  wire::AppendFinish(3, 1, &w1.out());
  w1.Send(w1.out());
  w1.ExpectAck(3);
  EXPECT_EQ(w0.ReadPullReply(2).size(), size_t{kRow});
}

TEST(ServerTest, ParkedPullOfAClosedConnectionIsDropped) {
  std::unique_ptr<Server> server = StartServer(TestJob(config::BSP), 2);
  TestClient w1(server->port());
  ASSERT_EQ(w1.Handshake(1, 2), wire::MessageType::kHandshakeReply);
  {
    TestClient w0(server->port());
    ASSERT_EQ(w0.Handshake(0, 2), wire::MessageType::kHandshakeReply);
    w0.SendClock(1, 0, 2);
    w0.ExpectAck(1);
    w0.SendPull(2, kItemTable, 2, {4});
    w0.SendClock(3, 0, 2);
    w0.ExpectAck(3);  // the pull is parked
  }  // worker 0 goes away with its pull parked
  // Worker 0 reconnects; worker 1 catching up must not answer the dead connection's pull.
  TestClient again(server->port());
  ASSERT_EQ(again.Handshake(0, 2), wire::MessageType::kHandshakeReply);
  w1.SendClock(4, 1, 2);
  w1.ExpectAck(4);
  EXPECT_EQ(again.Pull(5, kItemTable, 2, {4}).size(), size_t{kRow});
  EXPECT_EQ(server->stats().pulls_parked, 1u);
}

TEST(ServerTest, RunOnTableThreadSeesServedTables) {
  config::JobConfig job = TestJob();
  job.mutable_user_table()->set_placement(config::TableConfig::LOCAL);
  std::unique_ptr<Server> server = StartServer(job, 1);
  TestClient client(server->port());
  ASSERT_EQ(client.Handshake(0, 1), wire::MessageType::kHandshakeReply);
  client.Pull(1, kItemTable, 0, {1, 2, 3});
  size_t rows = 0;
  bool user_served = true;
  ASSERT_TRUE(server
                  ->RunOnTableThread([&](ServedTables& tables) {
                    rows = tables[kItemTable]->size();
                    user_served = tables[kUserTable] != nullptr;
                  })
                  .ok());
  EXPECT_EQ(rows, 3u);
  EXPECT_FALSE(user_served);
  // A LOCAL table is not served: pulling it is a protocol error.
  client.SendPull(2, kUserTable, 0, {1});
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
  parked.SendPull(2, kItemTable, 5, {1});
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
