// Pulls with optimizer state and pushes of deltas (PullRequest.with_state,
// PushRequest.kind DELTAS): the codec's fields, and the server checked with the minimal
// protocol client of tests/ps/server_test_client.h.
#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "wire/frame_codec.h"
#include "models/mf/biased_mf.h"
#include "models/model_tables.h"
#include "ps/server.h"
#include "tests/ps/server_test_client.h"

namespace psrec::ps {
namespace {

using namespace server_test;  // NOLINT: the test client and helpers

// A job whose item table runs AdaGrad (kRow state floats per row); users stay on SGD.
config::JobConfig AdaGradItemsJob(config::Consistency consistency = config::ASP) {
  config::JobConfig job = TestJob(consistency);
  config::OptimizerConfig* opt = models::MutableTableConfig(&job, "item")->mutable_optimizer();
  opt->set_kind(config::OptimizerConfig::ADAGRAD);
  opt->set_initial_accumulator(0.25f);
  return job;
}

// Rows (payload then state) of `keys` in a fresh table of the job.
std::vector<float> ExpectedRowsWithState(const config::JobConfig& job, TableId table,
                                         const std::vector<uint64_t>& keys) {
  table::EmbeddingTable reference(models::TableSpecsForJob(job).value()[table], job.training().seed());
  std::vector<float> rows(keys.size() * reference.row_floats());
  reference.PullWithState(keys, rows.data());
  return rows;
}

TEST(DeltaCodecTest, PullWithStateRoundTripsAndIsStandardProtobuf) {
  const std::vector<uint64_t> keys = {3, 1ULL << 50, 9};
  for (const int32_t state_floats : {wire::kPlainPull, 0, 33}) {
    SCOPED_TRACE(state_floats);
    ByteBuffer buffer;
    wire::AppendPullRequest(77, models::kItemTable, 4, keys, &buffer, state_floats);
    Result<wire::FrameHeader> header = wire::ParseFrameHeader(buffer.data(), 1 << 20);
    ASSERT_TRUE(header.ok());
    const std::span<const uint8_t> body(buffer.data() + wire::kFrameHeaderBytes,
                                        header->body_bytes);
    wire::DecodeScratch scratch;
    wire::PullRequestView view;
    ASSERT_TRUE(wire::DecodePullRequest(body, &scratch, &view).ok());
    EXPECT_EQ(view.request_id, 77u);
    EXPECT_EQ(view.clock, 4);
    EXPECT_EQ(view.with_state, state_floats != wire::kPlainPull);
    EXPECT_EQ(view.state_floats, std::max(state_floats, 0));
    ASSERT_EQ(view.keys.size(), keys.size());
    EXPECT_TRUE(std::equal(keys.begin(), keys.end(), view.keys.begin()));
    EXPECT_EQ(reinterpret_cast<uintptr_t>(view.keys.data()) % 8, 0u);

    wire::PullRequest parsed;
    ASSERT_TRUE(parsed.ParseFromArray(body.data(), static_cast<int>(body.size())));
    EXPECT_EQ(parsed.with_state(), state_floats != wire::kPlainPull);
    EXPECT_EQ(parsed.state_floats(), std::max(state_floats, 0));
    EXPECT_EQ(parsed.keys_size(), 3);
  }
}

TEST(DeltaCodecTest, PushDeltasRoundTripAndAreStandardProtobuf) {
  const std::vector<uint64_t> keys = {5, 6};
  std::vector<float> deltas(keys.size() * 6);
  for (size_t i = 0; i < deltas.size(); ++i) deltas[i] = 0.5f * static_cast<float>(i) - 1.0f;
  ByteBuffer buffer;
  wire::AppendAck(1, &buffer);  // an odd start offset
  const size_t frame_at = buffer.size();
  uint8_t* dst = wire::AppendPushRequest(wire::PushHeader::Deltas(12, models::kUserTable, 3), keys,
                                         deltas.size(), &buffer);
  std::memcpy(dst, deltas.data(), deltas.size() * sizeof(float));
  Result<wire::FrameHeader> header = wire::ParseFrameHeader(buffer.data() + frame_at, 1 << 20);
  ASSERT_TRUE(header.ok());
  ASSERT_EQ(header->type, wire::MessageType::kPush);
  ByteBuffer body;  // copied to an aligned buffer, as a connection reads it
  body.Append(buffer.data() + frame_at + wire::kFrameHeaderBytes, header->body_bytes);
  wire::DecodeScratch scratch;
  wire::PushRequestView view;
  ASSERT_TRUE(wire::DecodePushRequest(body.span(), &scratch, &view).ok());
  EXPECT_EQ(view.request_id, 12u);
  EXPECT_EQ(view.table, models::kUserTable);
  EXPECT_EQ(view.kind, wire::PushRequest::DELTAS);
  EXPECT_EQ(view.state_floats, 3);
  ASSERT_EQ(view.values.size(), deltas.size());
  EXPECT_TRUE(std::equal(deltas.begin(), deltas.end(), view.values.begin()));
  EXPECT_EQ(reinterpret_cast<uintptr_t>(view.values.data()) % 8, 0u);

  wire::PushRequest parsed;
  ASSERT_TRUE(parsed.ParseFromArray(body.data(), static_cast<int>(body.size())));
  EXPECT_EQ(parsed.kind(), wire::PushRequest::DELTAS);
  EXPECT_EQ(parsed.state_floats(), 3);
  EXPECT_EQ(parsed.values().size(), deltas.size() * sizeof(float));

  // A gradient push says so, with its learning rate and no state width.
  ByteBuffer plain;
  wire::AppendPushRequest(wire::PushHeader::Gradients(13, models::kUserTable, 0.1f), keys, 0, &plain);
  wire::PushRequestView plain_view;
  ASSERT_TRUE(wire::DecodePushRequest(
                  plain.span().subspan(wire::kFrameHeaderBytes), &scratch, &plain_view)
                  .ok());
  EXPECT_EQ(plain_view.kind, wire::PushRequest::GRADIENTS);
  EXPECT_EQ(plain_view.state_floats, 0);
  EXPECT_FLOAT_EQ(plain_view.learning_rate, 0.1f);
}

TEST(ServerDeltaTest, PullWithStateReturnsPayloadAndAccumulators) {
  const config::JobConfig job = AdaGradItemsJob();
  std::unique_ptr<Server> server = StartServer(job, 1);
  ASSERT_NE(server, nullptr);
  TestClient client(server->port());
  ASSERT_EQ(client.Handshake(0, 1), wire::MessageType::kHandshakeReply);
  const std::vector<uint64_t> keys = {7, 1ULL << 40, 3};
  client.SendPullWithState(1, models::kItemTable, 0, keys, kRow);
  const std::vector<float> rows = client.ReadPullReply(1);
  ASSERT_EQ(rows.size(), keys.size() * 2 * kRow);
  EXPECT_EQ(rows, ExpectedRowsWithState(job, models::kItemTable, keys));
  for (size_t i = 0; i < keys.size(); ++i) {
    EXPECT_EQ(rows[i * 2 * kRow + kRow], 0.25f) << "initial accumulator of key " << i;
  }
  // The payloads are what a plain pull returns.
  const std::vector<float> plain = client.Pull(2, models::kItemTable, 0, keys);
  for (size_t i = 0; i < keys.size(); ++i) {
    EXPECT_TRUE(std::equal(plain.begin() + i * kRow, plain.begin() + (i + 1) * kRow,
                           rows.begin() + i * 2 * kRow));
  }
  // SGD users: state_floats 0, rows are plain payloads.
  client.SendPullWithState(3, models::kUserTable, 0, keys, 0);
  EXPECT_EQ(client.ReadPullReply(3), ExpectedRows(job, models::kUserTable, keys));
  const ServerStats stats = server->stats();
  EXPECT_EQ(stats.pulls, 3u);
  EXPECT_EQ(stats.rows_pulled, 9u);
}

TEST(ServerDeltaTest, PushOfDeltasAddsToPayloadAndStateAndIsAcked) {
  const config::JobConfig job = AdaGradItemsJob();
  std::unique_ptr<Server> server = StartServer(job, 1);
  TestClient client(server->port());
  ASSERT_EQ(client.Handshake(0, 1), wire::MessageType::kHandshakeReply);
  const std::vector<uint64_t> pulled_keys = {11};
  client.SendPullWithState(1, models::kItemTable, 0, pulled_keys, kRow);
  const std::vector<float> before = client.ReadPullReply(1);
  ASSERT_EQ(before.size(), size_t{2 * kRow});

  // Key 11 (pulled) and key 12 (never seen: initial row + delta).
  const std::vector<uint64_t> keys = {11, 12};
  std::vector<float> deltas(keys.size() * 2 * kRow);
  for (size_t i = 0; i < deltas.size(); ++i) deltas[i] = 0.125f * static_cast<float>(i + 1);
  client.SendPushDeltas(2, models::kItemTable, kRow, keys, deltas);
  client.ExpectAck(2);
  client.SendPullWithState(3, models::kItemTable, 0, keys, kRow);
  const std::vector<float> after = client.ReadPullReply(3);
  const std::vector<float> fresh = ExpectedRowsWithState(job, models::kItemTable, keys);
  ASSERT_EQ(after.size(), deltas.size());
  for (size_t j = 0; j < 2 * kRow; ++j) {
    EXPECT_FLOAT_EQ(after[j], before[j] + deltas[j]) << j;
    EXPECT_FLOAT_EQ(after[2 * kRow + j], fresh[2 * kRow + j] + deltas[2 * kRow + j]) << j;
  }
  const ServerStats stats = server->stats();
  EXPECT_EQ(stats.pushes, 1u);
  EXPECT_EQ(stats.rows_pushed, 2u);
  EXPECT_EQ(stats.connections_dropped, 0u);
}

TEST(ServerDeltaTest, MismatchedStateOrSizeIsAnErrorNamingTheTable) {
  std::unique_ptr<Server> server = StartServer(AdaGradItemsJob(), 1);
  TestClient client(server->port());
  ASSERT_EQ(client.Handshake(0, 1), wire::MessageType::kHandshakeReply);
  const std::vector<uint64_t> keys = {1, 2};

  // One float short of 2 rows of payload + state.
  client.SendPushDeltas(1, models::kItemTable, kRow, keys, std::vector<float>(4 * kRow - 1));
  std::string message = client.ExpectError(1);
  EXPECT_NE(message.find("table item"), std::string::npos) << message;
  EXPECT_NE(message.find(std::to_string(4 * kRow - 1) + " floats"), std::string::npos)
      << message;
  // The worker expects SGD rows (no state) where the table keeps AdaGrad accumulators.
  client.SendPushDeltas(2, models::kItemTable, 0, keys, std::vector<float>(2 * kRow));
  message = client.ExpectError(2);
  EXPECT_NE(message.find("table item"), std::string::npos) << message;
  EXPECT_NE(message.find("adagrad"), std::string::npos) << message;
  client.SendPullWithState(3, models::kItemTable, 0, keys, kRow + 1);
  message = client.ExpectError(3);
  EXPECT_NE(message.find("pull with state to table item expects " + std::to_string(kRow + 1)),
            std::string::npos)
      << message;
  client.SendPullWithState(4, models::kUserTable, 0, keys, kRow);
  message = client.ExpectError(4);
  EXPECT_NE(message.find("table user"), std::string::npos) << message;

  // Nothing was applied and the connection still serves requests.
  EXPECT_EQ(client.Pull(5, models::kItemTable, 0, keys),
            ExpectedRows(AdaGradItemsJob(), models::kItemTable, keys));
  const ServerStats stats = server->stats();
  EXPECT_EQ(stats.pushes, 0u);
  EXPECT_EQ(stats.connections_dropped, 0u);
}

// BSP parks a pull with state like a pull, and a delta push that precedes the other
// worker's clock on its connection is applied before the parked pull is answered.
TEST(ServerDeltaTest, BspParksPullWithStateUntilDeltasAndClockArrive) {
  const config::JobConfig job = AdaGradItemsJob(config::BSP);
  std::unique_ptr<Server> server = StartServer(job, 2);
  TestClient w0(server->port());
  TestClient w1(server->port());
  ASSERT_EQ(w0.Handshake(0, 2), wire::MessageType::kHandshakeReply);
  ASSERT_EQ(w1.Handshake(1, 2), wire::MessageType::kHandshakeReply);
  const std::vector<uint64_t> keys = {42};
  w0.SendPullWithState(1, models::kItemTable, 0, keys, kRow);
  const std::vector<float> before = w0.ReadPullReply(1);

  w0.SendClock(2, 0, 1);
  w0.ExpectAck(2);
  w0.SendPullWithState(3, models::kItemTable, 1, keys, kRow);
  w0.SendClock(4, 0, 1);
  w0.ExpectAck(4);  // handled after the pull, which is therefore parked
  EXPECT_EQ(server->stats().pulls_parked, 1u);

  const std::vector<float> deltas(2 * kRow, 1.5f);
  w1.SendPushDeltas(5, models::kItemTable, kRow, keys, deltas);
  w1.SendClock(6, 1, 1);
  w1.ExpectAck(5);
  w1.ExpectAck(6);
  wire::PullReplyView view;
  const std::vector<float> after = w0.ReadPullReply(3, &view);
  EXPECT_EQ(view.slowest_clock, 1);
  ASSERT_EQ(after.size(), size_t{2 * kRow});
  for (int j = 0; j < 2 * kRow; ++j) EXPECT_FLOAT_EQ(after[j], before[j] + 1.5f) << j;
}

}  // namespace
}  // namespace psrec::ps
