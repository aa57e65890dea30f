// Micro-benchmarks of the worker's request path that involve no socket: grouping a batch's
// keys by server (client::KeyGrouper, run for every pull and push), and the codec of the bulk
// messages a worker writes and reads (Push request, PullReply).
//
//   build/bench/worker_bench --benchmark_filter=KeyGroup
#include <algorithm>
#include <cstring>
#include <random>
#include <vector>

#include <benchmark/benchmark.h>
#include <glog/logging.h>

#include "wire/frame_codec.h"
#include "client/key_grouper.h"
#include "models/mf/biased_mf.h"

namespace psrec {
namespace {

constexpr int kRowFloats = 33;  // model.dim 32 plus the bias

// n distinct-enough random keys (64-bit, as hashed raw ids are), sorted like a batch's
// unique keys.
std::vector<uint64_t> RandomKeys(size_t n) {
  std::mt19937_64 rng(42);
  std::vector<uint64_t> keys(n);
  for (uint64_t& k : keys) k = rng();
  std::sort(keys.begin(), keys.end());
  return keys;
}

// Args: keys per batch, servers. One server is the identity (nothing is copied).
void BM_KeyGroupByServer(benchmark::State& state) {
  const std::vector<uint64_t> keys = RandomKeys(static_cast<size_t>(state.range(0)));
  const int servers = static_cast<int>(state.range(1));
  client::KeyGrouper grouper;
  for (auto _ : state) {
    grouper.Group(models::kItemTable, keys, servers);
    benchmark::DoNotOptimize(grouper.keys_of(servers - 1).data());
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_KeyGroupByServer)
    ->ArgsProduct({{1000, 10000, 100000}, {1, 2, 4, 16}})
    ->ArgNames({"keys", "servers"});

// Encoding a push of n keys with their gradients, then decoding it as the server does
// (body 8-aligned in its read buffer, so the views are in place).
void BM_CodecPush(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  const std::vector<uint64_t> keys = RandomKeys(n);
  const std::vector<float> grads(n * kRowFloats, 0.25f);
  ByteBuffer buffer;
  wire::DecodeScratch scratch;
  for (auto _ : state) {
    buffer.Clear();
    buffer.Grow(8 - wire::kFrameHeaderBytes);  // as ps/connection.cc: body at offset 8
    uint8_t* dst = wire::AppendPushRequest(wire::PushHeader::Gradients(1, models::kItemTable, 0.01f), keys,
                                           grads.size(), &buffer);
    std::memcpy(dst, grads.data(), grads.size() * sizeof(float));
    wire::PushRequestView view;
    CHECK(wire::DecodePushRequest(buffer.span().subspan(8), &scratch, &view).ok());
    benchmark::DoNotOptimize(view.values.data());
  }
  state.SetBytesProcessed(state.iterations() * n * (8 + kRowFloats * sizeof(float)));
}
BENCHMARK(BM_CodecPush)->Arg(1000)->Arg(100000);

// Encoding a pull reply of n rows (the server then fills the values in place) and
// decoding it on the client; the values are not touched, so this is the framing cost.
void BM_CodecPullReply(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  ByteBuffer buffer;
  for (auto _ : state) {
    buffer.Clear();
    float* values = wire::AppendPullReply(7, 3, 0, n * kRowFloats, &buffer);
    benchmark::DoNotOptimize(values);
    wire::PullReplyView view;
    CHECK(wire::DecodePullReply(buffer.span().subspan(wire::kFrameHeaderBytes), &view).ok());
    benchmark::DoNotOptimize(view.values);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CodecPullReply)->Arg(1)->Arg(100000);

}  // namespace
}  // namespace psrec

BENCHMARK_MAIN();
