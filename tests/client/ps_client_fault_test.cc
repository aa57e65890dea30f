// PS client failures and injected network faults, against real servers and against raw
// sockets that misbehave on purpose. Every failure must name the server and come promptly.
#include <atomic>
#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "wire/frame_codec.h"
#include "wire/handshake_auth.h"
#include "models/mf/biased_mf.h"
#include "models/model_tables.h"
#include "table/table_spec.h"
#include "tests/client/ps_test_cluster.h"
#include "client/ps_client.h"

namespace psrec::client {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using testing::HasSubstr;

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// A peer that accepts one connection and reads everything, answering only the handshake
// when told to (with a proof under kTestSecret, or a forged one when not `prove`): a server
// that hangs, or an impostor. It stops when its client hangs up, so it must outlive the
// client.
class SilentServer {
 public:
  explicit SilentServer(bool answer_handshake, bool prove = true)
      : acceptor_(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)),
        thread_([this, answer_handshake, prove] { Serve(answer_handshake, prove); }) {}
  ~SilentServer() {
    stop_ = true;
    boost::system::error_code ec;
    tcp::socket poke(io_);  // wakes an accept that never got its client
    poke.connect(acceptor_.local_endpoint(), ec);
    thread_.join();
  }
  std::string address() const {
    return "127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port());
  }

 private:
  void Serve(bool answer_handshake, bool prove) {
    boost::system::error_code ec;
    tcp::socket socket(io_);
    acceptor_.accept(socket, ec);
    if (ec || stop_) return;
    const std::string nonce(wire::kNonceBytes, 's');
    if (answer_handshake) {
      wire::HandshakeChallenge challenge;
      challenge.set_protocol_version(wire::kProtocolVersion);
      challenge.set_server_nonce(nonce);
      ByteBuffer out;
      wire::AppendControl(wire::MessageType::kHandshakeChallenge, challenge, &out);
      asio::write(socket, asio::buffer(out.data(), out.size()), ec);
    }
    std::vector<uint8_t> buf(1 << 16);
    bool answered = false;
    while (!stop_) {
      const size_t n = socket.read_some(asio::buffer(buf), ec);
      if (ec) break;
      if (answer_handshake && !answered && n > wire::kFrameHeaderBytes) {
        // The worker's Handshake, whole in its first read (one small frame on loopback).
        wire::Handshake hello;
        EXPECT_TRUE(wire::DecodeControl(std::span<const uint8_t>(buf.data(), n)
                                            .subspan(wire::kFrameHeaderBytes),
                                        &hello)
                        .ok());
        wire::HandshakeReply reply;
        reply.set_protocol_version(wire::kProtocolVersion);
        reply.set_server_id(0);
        reply.set_num_servers(1);
        reply.set_proof(prove ? wire::ServerProof(kTestSecret, nonce, hello, reply)
                              : std::string(wire::kProofBytes, '\0'));
        ByteBuffer out;
        wire::AppendHandshakeReply(reply, &out);
        asio::write(socket, asio::buffer(out.data(), out.size()), ec);
        answered = true;
      }
    }
  }

  asio::io_context io_;
  tcp::acceptor acceptor_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

PsClientOptions OptionsFor(std::vector<std::string> servers) {
  PsClientOptions options;
  options.servers = std::move(servers);
  options.job_id = "ps-client-test";
  options.secret = kTestSecret;
  return options;
}

TEST(PsClientFaultTest, ServerStoppedMidRunFailsPromptlyNamingIt) {
  const config::JobConfig job = TestJob();
  TestCluster cluster(job, 3, 1);
  std::unique_ptr<PsClient> client = cluster.Connect(0);
  ASSERT_NE(client, nullptr);
  const int dim = models::TableSpecsForJob(job).value()[models::kItemTable].dim;
  std::vector<uint64_t> keys(3000);
  for (size_t i = 0; i < keys.size(); ++i) keys[i] = i;
  std::vector<float> rows(keys.size() * static_cast<size_t>(dim));
  Result<PsClient::Ticket> t = client->Pull(models::kItemTable, keys, dim, rows.data(), 0);
  ASSERT_TRUE(t.ok());
  ASSERT_TRUE(client->Wait(*t).ok());

  cluster.server(1).Stop();
  const auto start = Clock::now();
  const std::string name = "server 1 (" + cluster.address(1) + ")";
  // The pull may be issued before the client sees the connection close; either way it fails.
  Status status;
  t = client->Pull(models::kItemTable, keys, dim, rows.data(), 0);
  status = t.ok() ? client->Wait(*t) : t.status();
  EXPECT_FALSE(status.ok());
  EXPECT_THAT(status.message(), HasSubstr(name));
  EXPECT_LT(SecondsSince(start), 2.0) << "rpc_timeout is 30 s: the close must be noticed";
  // Sticky: every later call returns the same error.
  std::vector<float> grads(rows.size(), 0.5f);
  Status push = client->Push(models::kItemTable, keys, dim, grads, 0.1f);
  EXPECT_EQ(push.message(), status.message());
  EXPECT_EQ(client->Flush().message(), status.message());
  EXPECT_EQ(client->Finish().message(), status.message());
}

TEST(PsClientFaultTest, ServerThatNeverRepliesTimesOutWithinRpcTimeout) {
  SilentServer silent(/*answer_handshake=*/true);
  PsClientOptions options = OptionsFor({silent.address()});
  options.rpc_timeout = std::chrono::milliseconds(300);
  Result<std::unique_ptr<PsClient>> client = PsClient::Connect(options);
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  std::vector<uint64_t> keys = {1, 2, 3};
  std::vector<float> rows(keys.size() * 4);
  const auto start = Clock::now();
  Result<PsClient::Ticket> t = (*client)->Pull(models::kItemTable, keys, 4, rows.data(), 0);
  ASSERT_TRUE(t.ok());
  const Status status = (*client)->Wait(*t);
  const double waited = SecondsSince(start);
  EXPECT_EQ(status.code(), Status::Code::kDeadlineExceeded);
  EXPECT_EQ(status.message(),
            "server 0 (" + silent.address() + "): no reply to pull within 300 ms");
  EXPECT_GE(waited, 0.29);
  EXPECT_LT(waited, 0.8);
}

TEST(PsClientFaultTest, UnansweredHandshakeFailsConnectWithinConnectTimeout) {
  SilentServer silent(/*answer_handshake=*/false);
  PsClientOptions options = OptionsFor({silent.address()});
  options.connect_timeout = std::chrono::milliseconds(300);
  const auto start = Clock::now();
  Result<std::unique_ptr<PsClient>> client = PsClient::Connect(options);
  ASSERT_FALSE(client.ok());
  EXPECT_THAT(client.status().message(), HasSubstr("server 0 (" + silent.address() + ")"));
  EXPECT_THAT(client.status().message(), HasSubstr("handshake"));
  EXPECT_LT(SecondsSince(start), 1.0);
}

TEST(PsClientFaultTest, ServerWithoutTheSecretIsNotBelieved) {
  // It accepts any worker and answers like a server of the job, but cannot prove it.
  SilentServer impostor(/*answer_handshake=*/true, /*prove=*/false);
  PsClientOptions options = OptionsFor({impostor.address()});
  Result<std::unique_ptr<PsClient>> client = PsClient::Connect(options);
  ASSERT_FALSE(client.ok());
  EXPECT_THAT(client.status().message(), HasSubstr("server 0 (" + impostor.address() + ")"));
  EXPECT_THAT(client.status().message(), HasSubstr("cannot prove it belongs to this job"));
}

TEST(PsClientFaultTest, AClientNeedsTheJobSecret) {
  TestCluster cluster(TestJob(), 1, 1);
  PsClientOptions options = cluster.ClientOptions(0);
  options.secret.clear();
  EXPECT_EQ(PsClient::Connect(options).status().code(), Status::Code::kInvalidArgument);
}

TEST(PsClientFaultTest, ConnectRetriesUntilTheServerListens) {
  // Reserve a free port, release it, and start the server there only after a delay.
  int port = 0;
  {
    asio::io_context io;
    tcp::acceptor probe(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    port = probe.local_endpoint().port();
  }
  config::JobConfig job = TestJob();
  std::unique_ptr<ps::Server> server;
  std::thread starter([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    ps::ServerOptions options;
    options.job = job;
    options.secret = kTestSecret;
    options.tables = models::TableSpecsForJob(options.job).value();
    options.port = port;
    Result<std::unique_ptr<ps::Server>> started = ps::Server::Start(options);
    ASSERT_TRUE(started.ok()) << started.status().ToString();
    server = std::move(started).value();
  });
  PsClientOptions options = OptionsFor({"127.0.0.1:" + std::to_string(port)});
  options.connect_timeout = std::chrono::milliseconds(5000);
  Result<std::unique_ptr<PsClient>> client = PsClient::Connect(options);
  starter.join();
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  EXPECT_TRUE((*client)->Finish().ok());
}

TEST(PsClientFaultTest, NothingListeningFailsAfterConnectTimeout) {
  int port = 0;
  {
    asio::io_context io;
    tcp::acceptor probe(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    port = probe.local_endpoint().port();
  }
  PsClientOptions options = OptionsFor({"127.0.0.1:" + std::to_string(port)});
  options.connect_timeout = std::chrono::milliseconds(300);
  const auto start = Clock::now();
  Result<std::unique_ptr<PsClient>> client = PsClient::Connect(options);
  ASSERT_FALSE(client.ok());
  EXPECT_EQ(client.status().code(), Status::Code::kUnavailable);
  EXPECT_THAT(client.status().message(),
              HasSubstr("server 0 (127.0.0.1:" + std::to_string(port) + "): cannot connect"));
  EXPECT_GE(SecondsSince(start), 0.29);
  EXPECT_LT(SecondsSince(start), 1.5);
  EXPECT_EQ(PsClient::Connect(OptionsFor({"no-port"})).status().code(),
            Status::Code::kInvalidArgument);
}

TEST(PsClientFaultTest, RefusedHandshakeNamesTheServerAndNothingOfTheJob) {
  TestCluster cluster(TestJob(), 2, 1);
  Result<std::unique_ptr<PsClient>> client = PsClient::Connect([&] {
    PsClientOptions options = cluster.ClientOptions(0);
    options.secret = "wrong";
    return options;
  }());
  ASSERT_FALSE(client.ok());
  EXPECT_EQ(client.status().message(),
            "server 0 (" + cluster.address(0) + "): handshake refused");
  EXPECT_EQ(cluster.server(0).stats().handshakes_refused, 1u);
}

TEST(PsClientFaultTest, BadArgumentsAreRejectedWithoutPoisoningTheClient) {
  TestCluster cluster(TestJob(), 1, 1);
  std::unique_ptr<PsClient> client = cluster.Connect(0);
  ASSERT_NE(client, nullptr);
  std::vector<uint64_t> keys = {1, 2};
  std::vector<float> grads(3);
  EXPECT_EQ(client->Push(models::kItemTable, keys, 8, grads, 0.1f).code(),
            Status::Code::kInvalidArgument);
  EXPECT_EQ(client->Pull(models::kItemTable, keys, 0, grads.data(), 0).status().code(),
            Status::Code::kInvalidArgument);
  EXPECT_EQ(client->Wait(777).code(), Status::Code::kInvalidArgument);
  EXPECT_TRUE(client->Finish().ok());
}

// Median round trip of 1-key pulls.
double MedianPullSeconds(PsClient& client, int dim, int n) {
  std::vector<double> times;
  std::vector<float> row(static_cast<size_t>(dim));
  for (int i = 0; i < n; ++i) {
    const uint64_t key = static_cast<uint64_t>(i);
    const auto start = Clock::now();
    Result<PsClient::Ticket> t = client.Pull(models::kItemTable, {&key, 1}, dim, row.data(), 0);
    EXPECT_TRUE(t.ok() && client.Wait(*t).ok());
    times.push_back(SecondsSince(start));
  }
  std::nth_element(times.begin(), times.begin() + n / 2, times.end());
  return times[static_cast<size_t>(n / 2)];
}

TEST(PsClientFaultTest, InjectedLatencyDelaysEveryRequest) {
  const config::JobConfig job = TestJob();
  const int dim = models::TableSpecsForJob(job).value()[models::kItemTable].dim;
  TestCluster cluster(job, 1, 1);
  std::unique_ptr<PsClient> plain = cluster.Connect(0);
  ASSERT_NE(plain, nullptr);
  const double base = MedianPullSeconds(*plain, dim, 21);
  plain.reset();
  std::unique_ptr<PsClient> slow = cluster.Connect(0, [](PsClientOptions& o) {
    o.faults.latency_us = 20'000;
  });
  ASSERT_NE(slow, nullptr);
  const double delayed = MedianPullSeconds(*slow, dim, 11);
  EXPECT_GE(delayed, 0.020);
  EXPECT_LT(base, 0.010);
  EXPECT_GT(delayed, base + 0.015);
}

TEST(PsClientFaultTest, BandwidthCapPacesLargePushes) {
  const config::JobConfig job = TestJob();
  const int dim = models::TableSpecsForJob(job).value()[models::kItemTable].dim;
  TestCluster cluster(job, 1, 1);
  std::unique_ptr<PsClient> client = cluster.Connect(0, [](PsClientOptions& o) {
    o.faults.bandwidth_mbps = 8;  // 1 MB/s
  });
  ASSERT_NE(client, nullptr);
  std::vector<uint64_t> keys(5000);  // 5000 * (8 + 32) bytes = 200 kB: 0.2 s at 1 MB/s
  for (size_t i = 0; i < keys.size(); ++i) keys[i] = i;
  std::vector<float> grads(keys.size() * static_cast<size_t>(dim), 0.25f);
  const auto start = Clock::now();
  ASSERT_TRUE(client->Push(models::kItemTable, keys, dim, grads, 0.1f).ok());
  ASSERT_TRUE(client->Flush().ok());
  const double took = SecondsSince(start);
  EXPECT_GE(took, 0.18);
  EXPECT_LT(took, 1.0);
}

}  // namespace
}  // namespace psrec::client
