// Test support for ps::Server loopback tests: a job config, a server starter and a minimal
// blocking client written from the codec and wire/handshake_auth.h (not client/ps_client),
// so that the server is checked against the protocol itself.
#pragma once

#include <chrono>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <gtest/gtest.h>

#include "wire/frame_codec.h"
#include "wire/handshake_auth.h"
#include "models/mf/biased_mf.h"
#include "models/model_tables.h"
#include "table/table_spec.h"
#include "table/embedding_table.h"
#include "ps/server.h"

namespace psrec::ps::server_test {

namespace asio = boost::asio;
using asio::ip::tcp;

constexpr int kDim = 4;  // model.dim; rows hold kDim + 1 floats (bias)
constexpr int kRow = kDim + 1;
// The job secret of the servers StartServer starts (what psrec train / sim would draw).
inline constexpr const char* kTestSecret = "server-test secret";

inline config::JobConfig TestJob(config::Consistency consistency = config::ASP, int staleness = 0) {
  config::JobConfig job;
  job.set_job_id("server-test");
  job.mutable_cluster()->set_max_frame_bytes(1 << 20);
  job.mutable_model()->set_dim(kDim);
  job.mutable_training()->set_consistency(consistency);
  job.mutable_training()->set_staleness(staleness);
  job.mutable_training()->set_seed(99);
  return job;
}

inline std::unique_ptr<Server> StartServer(const config::JobConfig& job, int num_workers) {
  ServerOptions options;
  options.job = job;
  options.secret = kTestSecret;
  options.tables = models::TableSpecsForJob(options.job).value();
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
// instead of hanging it. It reads the server's HandshakeChallenge on connecting.
class TestClient {
 public:
  explicit TestClient(int port) : socket_(io_) {
    socket_.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    socket_.set_option(tcp::no_delay(true));
    std::optional<Frame> challenge = Read();
    if (challenge && challenge->type == wire::MessageType::kHandshakeChallenge) {
      wire::HandshakeChallenge decoded;
      EXPECT_TRUE(wire::DecodeControl(challenge->body.span(), &decoded).ok());
      server_nonce_ = decoded.server_nonce();
    }
  }
  // Empty when the server sent no challenge (it closed the connection at once).
  const std::string& server_nonce() const { return server_nonce_; }

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

  // A worker's Handshake answering this connection's challenge with a proof under
  // `secret`; returns the reply's type (kAck: closed without a word). A HandshakeReply's
  // proof is checked; an Error's message is kept (last_error()).
  wire::MessageType Handshake(int worker_id, int num_workers,
                              const std::string& secret = kTestSecret,
                              std::string job_id = "server-test",
                              uint32_t version = wire::kProtocolVersion) {
    wire::Handshake hs;
    hs.set_protocol_version(version);
    hs.set_job_id(std::move(job_id));
    hs.set_worker_id(worker_id);
    hs.set_num_workers(num_workers);
    hs.set_client_nonce(std::string(wire::kNonceBytes, static_cast<char>(worker_id)));
    hs.set_proof(wire::WorkerProof(secret, server_nonce_, hs));
    return SendHandshake(hs, secret);
  }

  // Sends `hs` as it is and reads the reply (see Handshake).
  wire::MessageType SendHandshake(const wire::Handshake& hs,
                                  const std::string& secret = kTestSecret) {
    wire::AppendHandshake(hs, &out_);
    Send(out_);
    std::optional<Frame> reply = Read();
    if (!reply) return wire::MessageType::kAck;
    if (reply->type == wire::MessageType::kHandshakeReply) {
      wire::HandshakeReply decoded;
      EXPECT_TRUE(wire::DecodeControl(reply->body.span(), &decoded).ok());
      EXPECT_TRUE(wire::ProofMatches(wire::ServerProof(secret, server_nonce_, hs, decoded),
                                     decoded.proof()))
          << "the server's proof does not match";
    } else if (reply->type == wire::MessageType::kError) {
      wire::Error error;
      EXPECT_TRUE(wire::DecodeControl(reply->body.span(), &error).ok());
      last_error_ = error.message();
    }
    return reply->type;
  }
  const std::string& last_error() const { return last_error_; }

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
    uint8_t* dst = wire::AppendPushRequest(wire::PushHeader::Gradients(request_id, table, lr), keys,
                                           grads.size(), &out_);
    std::memcpy(dst, grads.data(), grads.size() * sizeof(float));
    Send(out_);
  }

  // A pull of rows with their optimizer state (state_floats per row expected).
  void SendPullWithState(uint64_t request_id, TableId table, int32_t clock,
                         const std::vector<uint64_t>& keys, int32_t state_floats) {
    wire::AppendPullRequest(request_id, table, clock, keys, &out_, state_floats);
    Send(out_);
  }

  void SendPushDeltas(uint64_t request_id, TableId table, int32_t state_floats,
                      const std::vector<uint64_t>& keys, const std::vector<float>& deltas) {
    uint8_t* dst = wire::AppendPushRequest(
        wire::PushHeader::Deltas(request_id, table, state_floats), keys, deltas.size(), &out_);
    std::memcpy(dst, deltas.data(), deltas.size() * sizeof(float));
    Send(out_);
  }

  // Reads an Error answering request_id and returns its message.
  std::string ExpectError(uint64_t request_id) {
    std::optional<Frame> frame = Read();
    EXPECT_TRUE(frame.has_value());
    if (!frame) return "";
    EXPECT_EQ(frame->type, wire::MessageType::kError);
    wire::Error error;
    EXPECT_TRUE(wire::DecodeControl(frame->body.span(), &error).ok());
    EXPECT_EQ(error.request_id(), request_id);
    return error.message();
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
  std::string server_nonce_;
  std::string last_error_;
};

inline std::vector<float> ExpectedRows(const config::JobConfig& job, TableId table,
                                const std::vector<uint64_t>& keys) {
  table::EmbeddingTable reference(models::TableSpecsForJob(job).value()[table], job.training().seed());
  std::vector<float> rows(keys.size() * reference.dim());
  reference.Pull(keys, rows.data());
  return rows;
}

}  // namespace psrec::ps::server_test
