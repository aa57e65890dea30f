// PsClient::Close: a caller that gives up with pulls in flight (a trainer failing mid-batch)
// closes the client, and from then on no reply is read into the pulls' buffers, which it
// may then free. (Before Close existed, a worker that failed with the next batches' pulls
// out freed their buffers while the client still received replies into them: heap
// corruption in scripts/killtest.sh's `psrec sim --inject-crash worker:...` runs.)
#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "client/ps_client.h"
#include "models/mf/biased_mf.h"
#include "models/model_tables.h"
#include "tests/client/ps_test_cluster.h"

namespace psrec::client {
namespace {

std::vector<uint64_t> Keys(uint64_t first, size_t n) {
  std::vector<uint64_t> keys(n);
  for (size_t i = 0; i < n; ++i) keys[i] = first + i;
  return keys;
}

// A BSP pull parked by the servers is answered after the client closed: its buffer stays as
// it was, and Wait, like every later call, fails with the reason given to Close.
TEST(PsClientCloseTest, AReplyArrivingAfterCloseIsNotRead) {
  const config::JobConfig job = TestJob(config::BSP);
  TestCluster cluster(job, 2, /*num_workers=*/2);
  std::unique_ptr<PsClient> a = cluster.Connect(0);
  std::unique_ptr<PsClient> b = cluster.Connect(1);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  const int dim = models::TableSpecsForJob(job).value()[models::kItemTable].dim;
  const std::vector<uint64_t> keys = Keys(1, 500);
  std::vector<float> rows(keys.size() * static_cast<size_t>(dim), -1.0f);
  // Clock 1 under BSP: answered once both workers finished clock 0.
  Result<PsClient::Ticket> t = a->Pull(models::kItemTable, keys, dim, rows.data(), 1);
  ASSERT_TRUE(t.ok());
  ASSERT_TRUE(a->AdvanceClock(1).ok());
  ASSERT_TRUE(a->Flush().ok());
  const auto parked = [&] {
    return cluster.server(0).stats().pulls_parked + cluster.server(1).stats().pulls_parked;
  };
  for (int i = 0; i < 500 && parked() < 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(parked(), 2u);

  a->Close(Status::Aborted("worker 0 failed"));
  ASSERT_TRUE(b->AdvanceClock(1).ok());  // releases a's parked pull on both servers
  ASSERT_TRUE(b->Flush().ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // time for a reply to land
  for (float v : rows) ASSERT_EQ(v, -1.0f);

  Status waited = a->Wait(*t);
  EXPECT_EQ(waited.code(), Status::Code::kAborted);
  EXPECT_NE(waited.message().find("worker 0 failed"), std::string::npos) << waited.ToString();
  std::vector<float> grads(keys.size() * static_cast<size_t>(dim), 0.5f);
  EXPECT_FALSE(a->Push(models::kItemTable, keys, dim, grads, 0.1f).ok());
  EXPECT_FALSE(a->Pull(models::kItemTable, keys, dim, rows.data(), 1).ok());
  a->Close(Status::Aborted("again"));  // idempotent; the first reason stays
  EXPECT_NE(a->Flush().message().find("worker 0 failed"), std::string::npos);
  ASSERT_TRUE(b->Finish().ok());
}

// Many large pulls in flight, the client closed, their buffers freed at once: no reply may
// be written into them afterwards (AddressSanitizer reports it in `make ci-sanitize`).
TEST(PsClientCloseTest, BuffersOfPullsInFlightMayBeFreedAfterClose) {
  const config::JobConfig job = TestJob();
  TestCluster cluster(job, 2, /*num_workers=*/1);
  std::unique_ptr<PsClient> client = cluster.Connect(0);
  ASSERT_NE(client, nullptr);
  const int dim = models::TableSpecsForJob(job).value()[models::kItemTable].dim;
  const std::vector<uint64_t> keys = Keys(1, 20'000);
  {
    std::vector<std::vector<float>> buffers(8);
    for (std::vector<float>& rows : buffers) {
      rows.resize(keys.size() * static_cast<size_t>(dim));
      ASSERT_TRUE(client->Pull(models::kItemTable, keys, dim, rows.data(), 0).ok());
    }
    client->Close(Status::Aborted("the trainer failed"));
  }  // the buffers are freed here, as a failed trainer's are
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(client->Flush().code(), Status::Code::kAborted);
  client.reset();
}

}  // namespace
}  // namespace psrec::client
