// Consistency at the server: BSP and SSP park pulls until the slowest worker is close
// enough, ASP never waits, Finish and closed connections release parked pulls.
#include "ps/server.h"

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace psrec::ps
