// FaultSpec's language and FaultInjector's choices (which frames, how often, reproducibly).
#include <algorithm>
#include <chrono>
#include <string>

#include <gtest/gtest.h>

#include "wire/fault_spec.h"
#include "wire/fault_transport.h"

namespace psrec::wire {
namespace {

using K = FaultRule::Kind;

TEST(FaultSpecTest, ParsesEveryKindAndItsParameters) {
  Result<FaultSpec> spec = FaultSpec::Parse(
      " drop:worker=1,server=0,frame=40; partition:worker=0,server=1,at_ms=200,for_ms=300;"
      "dup:p=0.01; delay:type=push,p=0.5,ms=20; reorder:frame=3; truncate:type=pull,frame=1;"
      "corrupt:server=2,frame=0; seed=7 ;");
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  EXPECT_EQ(spec->seed, 7u);
  ASSERT_EQ(spec->rules.size(), 7u);
  const FaultRule& drop = spec->rules[0];
  EXPECT_EQ(drop.kind, K::kDrop);
  EXPECT_EQ(drop.worker, 1);
  EXPECT_EQ(drop.server, 0);
  EXPECT_EQ(drop.frame, 40);
  const FaultRule& partition = spec->rules[1];
  EXPECT_EQ(partition.kind, K::kPartition);
  EXPECT_EQ(partition.at_ms, 200);
  EXPECT_EQ(partition.for_ms, 300);
  EXPECT_EQ(spec->rules[2].kind, K::kDuplicate);
  EXPECT_DOUBLE_EQ(spec->rules[2].p, 0.01);
  EXPECT_EQ(spec->rules[2].worker, -1);
  EXPECT_EQ(spec->rules[3].type, MessageType::kPush);
  EXPECT_EQ(spec->rules[3].delay_ms, 20);
  EXPECT_EQ(spec->rules[5].type, MessageType::kPull);
  EXPECT_EQ(spec->rules[6].kind, K::kCorrupt);
}

TEST(FaultSpecTest, RefusesMalformedClausesNamingThem) {
  for (const char* bad :
       {"", "seed=3", "explode:frame=1", "drop", "drop:frame=1,p=0.5", "drop:p=1.5",
        "drop:p=0", "drop:frame=-1", "drop:frame=x", "delay:frame=1", "dup:frame=1,ms=5",
        "partition:worker=0,at_ms=5", "partition:at_ms=5,for_ms=0",
        "partition:at_ms=1,for_ms=2,frame=3", "drop:frame=1,at_ms=3", "drop:type=ping,frame=1",
        "drop:frame=1,colour=red", "drop:frame"}) {
    SCOPED_TRACE(bad);
    Result<FaultSpec> spec = FaultSpec::Parse(bad);
    ASSERT_FALSE(spec.ok());
    EXPECT_EQ(spec.status().code(), Status::Code::kInvalidArgument);
  }
  Result<FaultSpec> spec = FaultSpec::Parse("drop:frame=1; dup:p=2");
  ASSERT_FALSE(spec.ok());
  EXPECT_NE(spec.status().message().find("'dup:p=2'"), std::string::npos)
      << spec.status().message();
}

TEST(FaultInjectorTest, FrameNFiresOncePerPairAndCountsMatchingFramesOnly) {
  FaultInjector injector(FaultSpec::Parse("drop:worker=1,type=push,frame=2").value());
  int fired = 0;
  for (int i = 0; i < 10; ++i) {
    // Pulls and other workers' pushes do not count toward worker 1's third push.
    EXPECT_FALSE(injector.Decide(1, 0, MessageType::kPull));
    EXPECT_FALSE(injector.Decide(0, 0, MessageType::kPush));
    const std::optional<FaultRule> fault = injector.Decide(1, 0, MessageType::kPush);
    if (fault) {
      EXPECT_EQ(i, 2);
      ++fired;
    }
  }
  EXPECT_EQ(fired, 1);
  EXPECT_TRUE(injector.Decide(1, 1, MessageType::kPush) == std::nullopt);
  EXPECT_TRUE(injector.Decide(1, 1, MessageType::kPush) == std::nullopt);
  EXPECT_TRUE(injector.Decide(1, 1, MessageType::kPush).has_value()) << "per server too";
  EXPECT_EQ(injector.applied(K::kDrop), 2u);
}

TEST(FaultInjectorTest, HandshakeFramesAreLeftAloneUnlessNamed) {
  FaultInjector any(FaultSpec::Parse("corrupt:frame=0").value());
  EXPECT_FALSE(any.Decide(0, 0, MessageType::kHandshake));
  EXPECT_TRUE(any.Decide(0, 0, MessageType::kClock));
  FaultInjector named(FaultSpec::Parse("corrupt:type=handshake,frame=0").value());
  EXPECT_TRUE(named.Decide(0, 0, MessageType::kHandshake));
}

TEST(FaultInjectorTest, ProbabilitiesAreSeededAndReproducible) {
  auto draw = [](const char* text) {
    FaultInjector injector(FaultSpec::Parse(text).value());
    std::string fired;
    for (int i = 0; i < 2000; ++i) fired += injector.Decide(i % 3, 0, MessageType::kPush) ? '1' : '0';
    return fired;
  };
  const std::string a = draw("dup:p=0.1; seed=5");
  EXPECT_EQ(a, draw("dup:p=0.1; seed=5"));
  EXPECT_NE(a, draw("dup:p=0.1; seed=6"));
  const auto ones = std::count(a.begin(), a.end(), '1');
  EXPECT_GT(ones, 140);  // 200 expected
  EXPECT_LT(ones, 260);
}

TEST(FaultInjectorTest, PartitionsCoverTheirWindowForTheirPairOnly) {
  FaultInjector injector(FaultSpec::Parse("partition:worker=2,server=1,at_ms=100,for_ms=50").value());
  const auto windows = injector.Partitions(2, 1);
  ASSERT_EQ(windows.size(), 1u);
  const auto [from, to] = windows[0];
  EXPECT_EQ(to - from, std::chrono::milliseconds(50));
  EXPECT_FALSE(injector.Partitioned(2, 1, from - std::chrono::milliseconds(1)));
  EXPECT_TRUE(injector.Partitioned(2, 1, from));
  EXPECT_TRUE(injector.Partitioned(2, 1, to - std::chrono::milliseconds(1)));
  EXPECT_FALSE(injector.Partitioned(2, 1, to));
  EXPECT_FALSE(injector.Partitioned(2, 0, from));
  EXPECT_FALSE(injector.Partitioned(1, 1, from));
}

}  // namespace
}  // namespace psrec::wire
