// The PS client and server over a wire::FrameTap on loopback: the frames a worker sends are
// exactly the requests it made (and none it did not make), and a frame lost or broken on
// the way, in either direction, fails the request with an error naming the other end.
#include <algorithm>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include <unistd.h>

#include <glog/logging.h>
#include <gtest/gtest.h>

#include "models/mf/biased_mf.h"
#include "models/model_tables.h"
#include "client/ps_client.h"
#include "ps/server.h"
#include "table/embedding_table.h"
#include "table/table_spec.h"
#include "tests/client/ps_test_cluster.h"
#include "wire/frame_codec.h"
#include "wire/frame_tap.h"
#include "wire/handshake_auth.h"

namespace psrec::client {
namespace {

using wire::FrameFault;
using wire::MessageType;

std::vector<MessageType> TypesOf(const std::vector<wire::SentFrame>& frames) {
  std::vector<MessageType> types;
  for (const wire::SentFrame& f : frames) types.push_back(f.type);
  return types;
}

// Collects the WARNING lines the server logs (it names the peer it drops there).
class WarningSink : public google::LogSink {
 public:
  WarningSink() { google::AddLogSink(this); }
  ~WarningSink() override { google::RemoveLogSink(this); }
  void send(google::LogSeverity severity, const char*, const char*, int, const struct ::tm*,
            const char* message, size_t length) override {
    if (severity != google::GLOG_WARNING) return;
    std::lock_guard<std::mutex> lock(mu_);
    lines_.emplace_back(message, length);
  }
  std::vector<std::string> lines() {
    std::lock_guard<std::mutex> lock(mu_);
    return lines_;
  }

 private:
  std::mutex mu_;
  std::vector<std::string> lines_;
};

TEST(PsClientTapTest, PushFramesCarryExactlyThePushedRows) {
  const config::JobConfig job = TestJob();
  TestCluster cluster(job, 2, 1);
  wire::FrameTap tap(wire::Transport::Default(), {});
  std::unique_ptr<PsClient> client =
      cluster.Connect(0, [&](PsClientOptions& o) { o.transport = &tap; });
  ASSERT_NE(client, nullptr);
  const TableSpec spec = models::TableSpecsForJob(job).value()[models::kItemTable];
  const size_t dim = static_cast<size_t>(spec.dim);
  std::vector<uint64_t> keys(300);
  for (size_t i = 0; i < keys.size(); ++i) keys[i] = i * 13 + 5;
  std::vector<float> grads(keys.size() * dim);
  for (size_t i = 0; i < grads.size(); ++i) grads[i] = 0.001f * static_cast<float>(i);
  ASSERT_TRUE(client->Push(models::kItemTable, keys, spec.dim, grads, 0.25f).ok());
  ASSERT_TRUE(client->Flush().ok());

  // Every pushed key travels once, to its server, with its own row; nothing else does.
  std::map<uint64_t, std::vector<float>> sent;
  std::map<int, int> server_of_stream;  // each stream carries the keys of one server
  wire::DecodeScratch scratch;
  for (const wire::SentFrame& frame : tap.frames(MessageType::kPush)) {
    wire::PushRequestView push;
    ASSERT_TRUE(wire::DecodePushRequest(frame.body, &scratch, &push).ok());
    EXPECT_EQ(push.kind, wire::PushRequest::GRADIENTS);
    EXPECT_EQ(push.table, models::kItemTable);
    EXPECT_FLOAT_EQ(push.learning_rate, 0.25f);
    ASSERT_EQ(push.values.size(), push.keys.size() * dim);
    for (size_t j = 0; j < push.keys.size(); ++j) {
      const int server = ServerOf(models::kItemTable, push.keys[j], 2);
      EXPECT_EQ(server_of_stream.emplace(frame.stream, server).first->second, server)
          << "key " << push.keys[j] << " went to the wrong server";
      EXPECT_TRUE(
          sent.emplace(push.keys[j], std::vector<float>(push.values.begin() + j * dim,
                                                        push.values.begin() + (j + 1) * dim))
              .second)
          << "key " << push.keys[j] << " pushed twice";
    }
  }
  EXPECT_EQ(server_of_stream.size(), 2u);
  ASSERT_EQ(sent.size(), keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    const std::vector<float> row(grads.begin() + i * dim, grads.begin() + (i + 1) * dim);
    EXPECT_EQ(sent[keys[i]], row) << "key " << keys[i];
  }
  EXPECT_EQ(tap.faults_applied(), 0);
}

TEST(PsClientTapTest, AWorkerSendsOnlyWhatItWasAskedTo) {
  const config::JobConfig job = TestJob();
  TestCluster cluster(job, 1, 1);
  wire::FrameTap tap(wire::Transport::Default(), {});
  std::unique_ptr<PsClient> client = cluster.Connect(0, [&](PsClientOptions& o) {
    o.transport = &tap;
    o.use_local_socket = false;  // one stream: one handshake
  });
  ASSERT_NE(client, nullptr);
  const TableSpec spec = models::TableSpecsForJob(job).value()[models::kItemTable];
  const std::vector<uint64_t> keys = {1, 2, 3};
  std::vector<float> rows(keys.size() * static_cast<size_t>(spec.dim));
  Result<PsClient::Ticket> t = client->Pull(models::kItemTable, keys, spec.dim, rows.data(), 0);
  ASSERT_TRUE(t.ok());
  ASSERT_TRUE(client->Wait(*t).ok());
  ASSERT_TRUE(client->Finish().ok());
  // A worker that only reads sends no push and no clock.
  EXPECT_EQ(TypesOf(tap.frames()),
            (std::vector<MessageType>{MessageType::kHandshake, MessageType::kPull,
                                      MessageType::kFinish}));

  // Deltas say so on the wire, with the table's state width.
  wire::FrameTap delta_tap(wire::Transport::Default(), {});
  TestCluster second(job, 1, 1);
  std::unique_ptr<PsClient> worker =
      second.Connect(0, [&](PsClientOptions& o) { o.transport = &delta_tap; });
  ASSERT_NE(worker, nullptr);
  table::EmbeddingTable local(spec, job.training().seed());
  const int state = local.state_floats();
  std::vector<float> deltas(keys.size() * static_cast<size_t>(spec.dim + state), 0.5f);
  ASSERT_TRUE(worker->PushDelta(models::kItemTable, keys, spec.dim, state, deltas).ok());
  ASSERT_TRUE(worker->Finish().ok());
  const std::vector<wire::SentFrame> pushes = delta_tap.frames(MessageType::kPush);
  ASSERT_EQ(pushes.size(), 1u);
  wire::DecodeScratch scratch;
  wire::PushRequestView push;
  ASSERT_TRUE(wire::DecodePushRequest(pushes[0].body, &scratch, &push).ok());
  EXPECT_EQ(push.kind, wire::PushRequest::DELTAS);
  EXPECT_EQ(push.state_floats, state);
  EXPECT_EQ(std::vector<float>(push.values.begin(), push.values.end()), deltas);
}

TEST(PsClientTapTest, TheJobSecretNeverCrossesTheWire) {
  const std::string secret = wire::DrawJobSecret().value();
  const config::JobConfig job = TestJob();
  wire::FrameTap server_tap(wire::Transport::Default(), {});
  wire::FrameTap worker_tap(wire::Transport::Default(), {});
  TestCluster cluster(job, 2, 1, &server_tap, secret);
  std::unique_ptr<PsClient> client =
      cluster.Connect(0, [&](PsClientOptions& o) { o.transport = &worker_tap; });
  ASSERT_NE(client, nullptr);
  const TableSpec spec = models::TableSpecsForJob(job).value()[models::kItemTable];
  const std::vector<uint64_t> keys = {1, 2, 3, 4};
  std::vector<float> rows(keys.size() * static_cast<size_t>(spec.dim));
  Result<PsClient::Ticket> t = client->Pull(models::kItemTable, keys, spec.dim, rows.data(), 0);
  ASSERT_TRUE(t.ok());
  ASSERT_TRUE(client->Wait(*t).ok());
  ASSERT_TRUE(client->Push(models::kItemTable, keys, spec.dim, rows, 0.1f).ok());
  ASSERT_TRUE(client->Finish().ok());

  std::vector<wire::SentFrame> frames = server_tap.frames();
  const std::vector<wire::SentFrame> sent = worker_tap.frames();
  frames.insert(frames.end(), sent.begin(), sent.end());
  // Both handshakes (TCP, then the local socket) with each of the two servers were seen.
  EXPECT_EQ(server_tap.frames(MessageType::kHandshakeChallenge).size(), 4u);
  EXPECT_EQ(worker_tap.frames(MessageType::kHandshake).size(), 4u);
  EXPECT_EQ(server_tap.frames(MessageType::kHandshakeReply).size(), 4u);
  // Not the secret, nor any 8 bytes of it, in any frame either way.
  constexpr size_t kWindow = 8;
  for (const wire::SentFrame& frame : frames) {
    const std::string body(frame.body.begin(), frame.body.end());
    for (size_t at = 0; at + kWindow <= secret.size(); ++at) {
      EXPECT_EQ(body.find(secret.substr(at, kWindow)), std::string::npos)
          << wire::MessageTypeName(frame.type) << " frame " << frame.index
          << " carries bytes " << at << ".." << at + kWindow << " of the secret";
    }
  }
}

TEST(PsClientTapTest, AGarbledPushIsRefusedNamingThePeer) {
  const config::JobConfig job = TestJob();
  TestCluster cluster(job, 1, 1);
  wire::FrameTap tap(wire::Transport::Default(),
                     {.faults = {{MessageType::kPush, 1, FrameFault::Action::kGarbleBody}}});
  std::unique_ptr<PsClient> client =
      cluster.Connect(0, [&](PsClientOptions& o) { o.transport = &tap; });
  ASSERT_NE(client, nullptr);
  const TableSpec spec = models::TableSpecsForJob(job).value()[models::kItemTable];
  const std::vector<uint64_t> keys = {10, 11, 12, 13};
  const std::vector<float> grads(keys.size() * static_cast<size_t>(spec.dim), 0.1f);
  WarningSink warnings;
  ASSERT_TRUE(client->Push(models::kItemTable, keys, spec.dim, grads, 0.1f).ok());
  ASSERT_TRUE(client->Flush().ok());  // push 0 arrives intact
  ASSERT_TRUE(client->Push(models::kItemTable, keys, spec.dim, grads, 0.1f).ok());
  const Status status = client->Flush();
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find("server 0 (" + cluster.address(0) + ")"), std::string::npos)
      << status.ToString();
  EXPECT_NE(status.message().find("Push frame"), std::string::npos) << status.ToString();
  EXPECT_EQ(tap.faults_applied(), 1);
  EXPECT_EQ(cluster.server(0).stats().pushes, 1u);
  EXPECT_EQ(cluster.server(0).stats().connections_dropped, 1u);
  // The server's log says whose frame it refused and why.
  const std::vector<std::string> lines = warnings.lines();
  EXPECT_TRUE(std::any_of(lines.begin(), lines.end(), [](const std::string& line) {
    return line.find("closing connection from local pid " + std::to_string(getpid())) !=
               std::string::npos &&
           line.find("Push frame") != std::string::npos;
  })) << "no warning names the peer";
}

TEST(PsClientTapTest, ADroppedPushIsReportedUnanswered) {
  const config::JobConfig job = TestJob();
  TestCluster cluster(job, 1, 1);
  wire::FrameTap tap(wire::Transport::Default(),
                     {.faults = {{MessageType::kPush, 0, FrameFault::Action::kDrop}}});
  std::unique_ptr<PsClient> client = cluster.Connect(0, [&](PsClientOptions& o) {
    o.transport = &tap;
    o.rpc_timeout = std::chrono::milliseconds(300);
  });
  ASSERT_NE(client, nullptr);
  const TableSpec spec = models::TableSpecsForJob(job).value()[models::kItemTable];
  const std::vector<uint64_t> keys = {7};
  const std::vector<float> grads(static_cast<size_t>(spec.dim), 1.0f);
  ASSERT_TRUE(client->Push(models::kItemTable, keys, spec.dim, grads, 0.1f).ok());
  const Status status = client->Flush();
  EXPECT_EQ(status.code(), Status::Code::kDeadlineExceeded) << status.ToString();
  EXPECT_NE(status.message().find("server 0"), std::string::npos) << status.ToString();
  EXPECT_NE(status.message().find("no reply to push"), std::string::npos) << status.ToString();
  EXPECT_EQ(cluster.server(0).stats().pushes, 0u);
  ASSERT_EQ(tap.frames(MessageType::kPush).size(), 1u);
  EXPECT_EQ(tap.frames(MessageType::kPush)[0].fault, FrameFault::Action::kDrop);
}

TEST(PsClientTapTest, AServerReplyOfNoKnownTypeFailsTheWorker) {
  const config::JobConfig job = TestJob();
  // The server's first pull reply goes out with a type byte no MessageType has.
  wire::FrameTap server_tap(
      wire::Transport::Default(),
      {.faults = {{MessageType::kPullReply, 0, FrameFault::Action::kBadType}}});
  TestCluster cluster(job, 1, 1, &server_tap);
  std::unique_ptr<PsClient> client = cluster.Connect(0);
  ASSERT_NE(client, nullptr);
  const TableSpec spec = models::TableSpecsForJob(job).value()[models::kItemTable];
  const std::vector<uint64_t> keys = {4, 5};
  std::vector<float> rows(keys.size() * static_cast<size_t>(spec.dim));
  Result<PsClient::Ticket> t = client->Pull(models::kItemTable, keys, spec.dim, rows.data(), 0);
  ASSERT_TRUE(t.ok());
  const Status status = client->Wait(*t);
  EXPECT_EQ(status.code(), Status::Code::kCorruption) << status.ToString();
  EXPECT_NE(status.message().find("server 0 (" + cluster.address(0) + ")"), std::string::npos)
      << status.ToString();
  EXPECT_NE(status.message().find("unknown message type 0"), std::string::npos)
      << status.ToString();
  // The tap saw the server's side: two handshakes (TCP, then the local socket), each a
  // challenge and a reply, then the broken reply.
  EXPECT_EQ(TypesOf(server_tap.frames()),
            (std::vector<MessageType>{MessageType::kHandshakeChallenge,
                                      MessageType::kHandshakeReply,
                                      MessageType::kHandshakeChallenge,
                                      MessageType::kHandshakeReply, MessageType::kPullReply}));
}

}  // namespace
}  // namespace psrec::client
