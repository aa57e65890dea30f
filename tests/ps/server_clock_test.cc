// Consistency at the server: BSP and SSP park pulls until the slowest worker is close
// enough, ASP never waits, Finish and closed connections release parked pulls; BSP applies a
// clock's pushes in worker order once every worker has finished the clock.
#include "ps/server.h"
#include "models/mf/biased_mf.h"
#include "models/model_tables.h"

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "table/table_spec.h"
#include "table/embedding_table.h"
#include "tests/ps/server_test_client.h"

namespace psrec::ps {
namespace {

using namespace server_test;  // NOLINT: the test client and helpers

TEST(ServerTest, BspParksPullUntilEveryWorkerReachesItsClock) {
  const config::JobConfig job = TestJob(config::BSP);
  std::unique_ptr<Server> server = StartServer(job, 2);
  TestClient w0(server->port());
  TestClient w1(server->port());
  ASSERT_EQ(w0.Handshake(0, 2), wire::MessageType::kHandshakeReply);
  ASSERT_EQ(w1.Handshake(1, 2), wire::MessageType::kHandshakeReply);
  const std::vector<uint64_t> keys = {42};
  const std::vector<float> before = w0.Pull(1, models::kItemTable, 0, keys);

  w0.SendClock(2, 0, 1);
  w0.ExpectAck(2);
  w0.SendPull(3, models::kItemTable, 1, keys);
  // Requests are handled in order, so an Ack for a later clock proves the pull was parked.
  w0.SendClock(4, 0, 1);
  w0.ExpectAck(4);
  EXPECT_EQ(server->stats().pulls_parked, 1u);

  // Worker 1's push precedes its clock on its connection: the released pull must see it.
  const std::vector<float> grads(kRow, 2.0f);
  w1.SendPush(5, models::kItemTable, 0.5f, keys, grads);
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
    EXPECT_EQ(w0.Pull(2, models::kItemTable, 1, {1}).size(), size_t{kRow});
    // Clock 2 is 2 ahead of the slowest: parked under SSP, answered under ASP.
    w0.SendPull(3, models::kItemTable, 2, {1});
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

// Rows of `keys` in a fresh table of the job after each gradient in turn (SGD step or
// AdaGrad, as the job's item table says).
std::vector<float> RowsAfterPushes(const config::JobConfig& job, const std::vector<uint64_t>& keys,
                                   const std::vector<std::vector<float>>& grads, float lr) {
  table::EmbeddingTable table(models::TableSpecsForJob(job).value()[models::kItemTable], job.training().seed());
  for (const auto& g : grads) table.Push(keys, g.data(), lr);
  std::vector<float> rows(keys.size() * kRow);
  table.Pull(keys, rows.data());
  return rows;
}

// Worker 1's AdaGrad gradient arrives first, yet worker 0's is applied first, and neither is
// visible at their own clock: arrival order (thread timing) cannot change a BSP job's rows.
TEST(ServerTest, BspAppliesAClocksPushesInWorkerOrderOnceEveryWorkerFinishedIt) {
  config::JobConfig job = TestJob(config::BSP);
  models::MutableTableConfig(&job, "item")->mutable_optimizer()->set_kind(config::OptimizerConfig::ADAGRAD);
  std::unique_ptr<Server> server = StartServer(job, 2);
  TestClient w0(server->port());
  TestClient w1(server->port());
  ASSERT_EQ(w0.Handshake(0, 2), wire::MessageType::kHandshakeReply);
  ASSERT_EQ(w1.Handshake(1, 2), wire::MessageType::kHandshakeReply);
  const std::vector<uint64_t> keys = {7, 1000};
  const std::vector<float> before = w0.Pull(1, models::kItemTable, 0, keys);
  const std::vector<float> g0(keys.size() * kRow, 1.0f);
  const std::vector<float> g1(keys.size() * kRow, -3.0f);

  w1.SendPush(2, models::kItemTable, 0.5f, keys, g1);
  w1.ExpectAck(2);
  w0.SendPush(3, models::kItemTable, 0.5f, keys, g0);
  w0.ExpectAck(3);
  EXPECT_EQ(w0.Pull(4, models::kItemTable, 0, keys), before) << "acknowledged, not yet applied";
  w1.SendClock(5, 1, 1);
  w1.ExpectAck(5);
  EXPECT_EQ(w1.Pull(6, models::kItemTable, 0, keys), before) << "worker 0 is still in clock 0";
  w0.SendClock(7, 0, 1);
  w0.ExpectAck(7);

  const std::vector<float> after = w0.Pull(8, models::kItemTable, 1, keys);
  EXPECT_EQ(after, RowsAfterPushes(job, keys, {g0, g1}, 0.5f));
  EXPECT_NE(after, RowsAfterPushes(job, keys, {g1, g0}, 0.5f)) << "the order must matter here";
  EXPECT_EQ(server->stats().pushes, 2u);
}

// Workers checkpoint at an epoch's end, where every clock is finished; a request that finds
// pushes still held back is refused rather than written without them.
TEST(ServerTest, BspCheckpointWhilePushesAreHeldIsAnError) {
  const config::JobConfig job = TestJob(config::BSP);
  std::unique_ptr<Server> server = StartServer(job, 2);
  TestClient w0(server->port());
  ASSERT_EQ(w0.Handshake(0, 2), wire::MessageType::kHandshakeReply);
  w0.SendPush(1, models::kItemTable, 0.5f, {3}, std::vector<float>(kRow, 1.0f));
  w0.ExpectAck(1);
  wire::CheckpointRequest request;
  request.set_request_id(2);
  request.set_dir(testing::TempDir() + "/never-written");
  wire::AppendControl(wire::MessageType::kCheckpoint, request, &w0.out());
  w0.Send(w0.out());
  const std::string error = w0.ExpectError(2);
  EXPECT_NE(error.find("pushes of worker 0 at clock 0"), std::string::npos) << error;
}

TEST(ServerTest, FinishReleasesParkedPulls) {
  std::unique_ptr<Server> server = StartServer(TestJob(config::BSP), 2);
  TestClient w0(server->port());
  TestClient w1(server->port());
  ASSERT_EQ(w0.Handshake(0, 2), wire::MessageType::kHandshakeReply);
  ASSERT_EQ(w1.Handshake(1, 2), wire::MessageType::kHandshakeReply);
  w0.SendClock(1, 0, 3);
  w0.ExpectAck(1);
  w0.SendPull(2, models::kItemTable, 3, {9});
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
    w0.SendPull(2, models::kItemTable, 2, {4});
    w0.SendClock(3, 0, 2);
    w0.ExpectAck(3);  // the pull is parked
  }  // worker 0 goes away with its pull parked
  // Worker 0 reconnects; worker 1 catching up must not answer the dead connection's pull.
  TestClient again(server->port());
  ASSERT_EQ(again.Handshake(0, 2), wire::MessageType::kHandshakeReply);
  w1.SendClock(4, 1, 2);
  w1.ExpectAck(4);
  EXPECT_EQ(again.Pull(5, models::kItemTable, 2, {4}).size(), size_t{kRow});
  EXPECT_EQ(server->stats().pulls_parked, 1u);
}

}  // namespace
}  // namespace psrec::ps
