// Loopback throughput of ps::Server and the wire codec. The client here is a minimal
// blocking one (the real one is client/ps_client), so the numbers are the server's cost
// plus one TCP round trip per request batch.
//
//   build/bench/server_bench --benchmark_filter=Server
#include <cstring>
#include <memory>
#include <vector>

#include <benchmark/benchmark.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include "wire/frame_codec.h"
#include "wire/handshake_auth.h"
#include "ps/server.h"
#include "models/mf/biased_mf.h"
#include "models/model_tables.h"

namespace psrec {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;

constexpr int kModelDim = 32;  // rows of 33 floats, as in the 20M-rating benchmark
constexpr const char* kSecret = "bench";

config::JobConfig BenchJob() {
  config::JobConfig job;
  job.mutable_model()->set_dim(kModelDim);
  return job;
}

class BenchClient {
 public:
  explicit BenchClient(int port) : socket_(io_) {
    socket_.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    socket_.set_option(tcp::no_delay(true));
    CHECK(ReadFrame() == wire::MessageType::kHandshakeChallenge);
    wire::HandshakeChallenge challenge;
    CHECK(wire::DecodeControl(in_.span(), &challenge).ok());
    wire::Handshake hs;
    hs.set_protocol_version(wire::kProtocolVersion);
    hs.set_job_id("psrec");
    hs.set_num_workers(1);
    hs.set_client_nonce(std::string(wire::kNonceBytes, 'n'));
    hs.set_proof(wire::WorkerProof(kSecret, challenge.server_nonce(), hs));
    wire::AppendHandshake(hs, &out_);
    Flush();
    CHECK(ReadFrame() == wire::MessageType::kHandshakeReply);
  }

  ByteBuffer& out() { return out_; }
  void Flush() {
    asio::write(socket_, asio::buffer(out_.data(), out_.size()));
    out_.Clear();
  }
  wire::MessageType ReadFrame() {
    uint8_t header[wire::kFrameHeaderBytes];
    asio::read(socket_, asio::buffer(header, sizeof(header)));
    const wire::FrameHeader h = wire::ParseFrameHeader(header, 1u << 30).value();
    in_.Clear();
    asio::read(socket_, asio::buffer(in_.Grow(h.body_bytes), h.body_bytes));
    return h.type;
  }

 private:
  asio::io_context io_;
  tcp::socket socket_;
  ByteBuffer out_;
  ByteBuffer in_;
};

std::vector<uint64_t> Keys(size_t n, uint64_t offset) {
  std::vector<uint64_t> keys(n);
  for (size_t i = 0; i < n; ++i) keys[i] = offset + i;
  return keys;
}

// One pull of `keys` rows, waiting for the reply each time (latency-bound).
void BM_ServerPullRoundTrip(benchmark::State& state) {
  ps::ServerOptions options;
  options.job = BenchJob();
  options.secret = kSecret;
  options.tables = models::TableSpecsForJob(options.job).value();
  auto server = ps::Server::Start(options).value();
  BenchClient client(server->port());
  const std::vector<uint64_t> keys = Keys(state.range(0), 0);
  uint64_t id = 0;
  for (auto _ : state) {
    wire::AppendPullRequest(++id, models::kItemTable, 0, keys, &client.out());
    client.Flush();
    CHECK(client.ReadFrame() == wire::MessageType::kPullReply);
  }
  state.SetItemsProcessed(state.iterations() * keys.size());
  state.counters["bytes_out"] = static_cast<double>(server->stats().bytes_out);
}
BENCHMARK(BM_ServerPullRoundTrip)->Arg(1)->Arg(1024)->Arg(16384)->UseRealTime();

// A training step as the worker does it: `depth` pulls and pushes of `keys` rows in flight
// before the replies are read. Items are rows pulled plus rows pushed.
void BM_ServerPullPushPipelined(benchmark::State& state) {
  ps::ServerOptions options;
  options.job = BenchJob();
  options.secret = kSecret;
  options.tables = models::TableSpecsForJob(options.job).value();
  auto server = ps::Server::Start(options).value();
  BenchClient client(server->port());
  const size_t n = state.range(0);
  const int depth = 8;
  const std::vector<uint64_t> keys = Keys(n, 1000000);
  std::vector<float> grads(n * (kModelDim + 1), 1e-6f);
  uint64_t id = 0;
  for (auto _ : state) {
    for (int d = 0; d < depth; ++d) {
      wire::AppendPullRequest(++id, models::kItemTable, 0, keys, &client.out());
      uint8_t* dst = wire::AppendPushRequest(wire::PushHeader::Gradients(++id, models::kItemTable, 0.01f),
                                             keys, grads.size(), &client.out());
      std::memcpy(dst, grads.data(), grads.size() * sizeof(float));
    }
    client.Flush();
    for (int d = 0; d < 2 * depth; ++d) client.ReadFrame();
  }
  state.SetItemsProcessed(state.iterations() * depth * 2 * n);
}
BENCHMARK(BM_ServerPullPushPipelined)->Arg(1024)->Arg(8192)->UseRealTime();

void BM_CodecPullRequest(benchmark::State& state) {
  const std::vector<uint64_t> keys = Keys(state.range(0), 7);
  ByteBuffer buffer;
  wire::DecodeScratch scratch;
  for (auto _ : state) {
    buffer.Clear();
    wire::AppendPullRequest(1, models::kItemTable, 3, keys, &buffer);
    wire::PullRequestView view;
    // Body at offset 5: misaligned, so this measures the scratch-copy path (the worst case).
    CHECK(wire::DecodePullRequest(buffer.span().subspan(wire::kFrameHeaderBytes), &scratch,
                                  &view).ok());
    benchmark::DoNotOptimize(view.keys.data());
  }
  state.SetBytesProcessed(state.iterations() * keys.size() * 8);
}
BENCHMARK(BM_CodecPullRequest)->Arg(1024)->Arg(65536);

}  // namespace
}  // namespace psrec

BENCHMARK_MAIN();
