#include "wire/frame_codec.h"
#include "wire/handshake_auth.h"

#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace psrec::wire {
namespace {

// Two table ids, as a model with a user and an item table numbers them.
constexpr TableId kUserTable = 0;
constexpr TableId kItemTable = 1;

struct Frame {
  FrameHeader header;
  // The body copied to offset 0 of its own buffer (64-byte aligned), as a receiver that
  // aligns bodies holds it.
  ByteBuffer body;
};

// Splits `buffer` into frames, as a connection's reader does.
std::vector<Frame> SplitFrames(const ByteBuffer& buffer, size_t max_frame_bytes = 1 << 26) {
  std::vector<Frame> frames;
  size_t at = 0;
  while (at < buffer.size()) {
    EXPECT_GE(buffer.size() - at, kFrameHeaderBytes);
    Result<FrameHeader> header = ParseFrameHeader(buffer.data() + at, max_frame_bytes);
    EXPECT_TRUE(header.ok()) << header.status().ToString();
    if (!header.ok()) break;
    Frame frame;
    frame.header = *header;
    at += kFrameHeaderBytes;
    EXPECT_LE(at + header->body_bytes, buffer.size());
    frame.body.Append(buffer.data() + at, header->body_bytes);
    at += header->body_bytes;
    frames.push_back(std::move(frame));
  }
  return frames;
}

bool PointsInto(const void* p, const ByteBuffer& buffer) {
  const auto* b = static_cast<const uint8_t*>(p);
  return b >= buffer.data() && b < buffer.data() + buffer.size();
}

std::vector<uint64_t> SomeKeys(size_t n) {
  std::vector<uint64_t> keys(n);
  for (size_t i = 0; i < n; ++i) keys[i] = Mix64(i + 17) | (i % 2 ? (1ULL << 63) : 0);
  return keys;
}

TEST(FrameHeaderTest, RejectsUnknownTypesAndOversizedFrames) {
  uint8_t header[kFrameHeaderBytes];
  const uint32_t len = 100;
  std::memcpy(header, &len, 4);
  // One past the last type (kHandshakeChallenge, protocol version 3).
  const auto past_last =
      static_cast<uint8_t>(static_cast<uint8_t>(MessageType::kHandshakeChallenge) + 1);
  for (uint8_t type : {uint8_t{0}, past_last, uint8_t{255}}) {
    header[4] = type;
    Result<FrameHeader> r = ParseFrameHeader(header, 1000);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), Status::Code::kCorruption);
  }
  header[4] = static_cast<uint8_t>(MessageType::kPush);
  EXPECT_TRUE(ParseFrameHeader(header, 100).ok());
  Result<FrameHeader> oversized = ParseFrameHeader(header, 99);
  ASSERT_FALSE(oversized.ok());
  EXPECT_EQ(oversized.status().code(), Status::Code::kCorruption);
  EXPECT_NE(oversized.status().message().find("max_frame_bytes"), std::string::npos);

  const uint32_t huge = std::numeric_limits<uint32_t>::max();
  std::memcpy(header, &huge, 4);
  EXPECT_FALSE(ParseFrameHeader(header, 1 << 26).ok());
}

TEST(FrameCodecTest, PullRequestRoundTripsZeroCopy) {
  for (size_t n : {size_t{0}, size_t{1}, size_t{15}, size_t{16}, size_t{5000}}) {
    SCOPED_TRACE(n);
    const std::vector<uint64_t> keys = SomeKeys(n);
    ByteBuffer buffer;
    // A frame that is not a multiple of 8 long first, so the pull starts at an odd offset.
    AppendAck(3, &buffer);
    AppendPullRequest(0xfedcba9876543210ULL, kItemTable, -7, keys, &buffer);
    std::vector<Frame> frames = SplitFrames(buffer);
    ASSERT_EQ(frames.size(), 2u);
    ASSERT_EQ(frames[1].header.type, MessageType::kPull);

    DecodeScratch scratch;
    PullRequestView view;
    ASSERT_TRUE(DecodePullRequest(frames[1].body.span(), &scratch, &view).ok());
    EXPECT_EQ(view.request_id, 0xfedcba9876543210ULL);
    EXPECT_EQ(view.table, kItemTable);
    EXPECT_EQ(view.clock, -7);
    ASSERT_EQ(view.keys.size(), n);
    EXPECT_TRUE(std::equal(keys.begin(), keys.end(), view.keys.begin()));
    if (n > 0) {
      EXPECT_TRUE(PointsInto(view.keys.data(), frames[1].body)) << "keys were copied";
      EXPECT_EQ(reinterpret_cast<uintptr_t>(view.keys.data()) % 8, 0u);
    }
  }
}

TEST(FrameCodecTest, PushRequestRoundTripsZeroCopy) {
  const std::vector<uint64_t> keys = SomeKeys(33);
  std::vector<float> grads(keys.size() * 8);
  for (size_t i = 0; i < grads.size(); ++i) grads[i] = 0.25f * static_cast<float>(i) - 3.0f;
  ByteBuffer buffer;
  AppendFinish(1, 2, &buffer);
  uint8_t* dst =
      AppendPushRequest(PushHeader::Gradients(42, kUserTable, 0.05f), keys, grads.size(), &buffer);
  std::memcpy(dst, grads.data(), grads.size() * sizeof(float));
  std::vector<Frame> frames = SplitFrames(buffer);
  ASSERT_EQ(frames.size(), 2u);
  ASSERT_EQ(frames[1].header.type, MessageType::kPush);

  DecodeScratch scratch;
  PushRequestView view;
  ASSERT_TRUE(DecodePushRequest(frames[1].body.span(), &scratch, &view).ok());
  EXPECT_EQ(view.request_id, 42u);
  EXPECT_EQ(view.table, kUserTable);
  EXPECT_FLOAT_EQ(view.learning_rate, 0.05f);
  ASSERT_EQ(view.keys.size(), keys.size());
  EXPECT_TRUE(std::equal(keys.begin(), keys.end(), view.keys.begin()));
  ASSERT_EQ(view.values.size(), grads.size());
  EXPECT_TRUE(std::equal(grads.begin(), grads.end(), view.values.begin()));
  EXPECT_TRUE(PointsInto(view.keys.data(), frames[1].body));
  EXPECT_TRUE(PointsInto(view.values.data(), frames[1].body));
  EXPECT_EQ(reinterpret_cast<uintptr_t>(view.keys.data()) % 8, 0u);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(view.values.data()) % 8, 0u);
}

TEST(FrameCodecTest, PullReplyValuesAreAlignedInTheSendBuffer) {
  ByteBuffer buffer;
  for (int i = 0; i < 5; ++i) {
    const size_t num_floats = 3 + 7 * i;
    float* values = AppendPullReply(100 + i, i - 2, 1000 * i, num_floats, &buffer);
    ASSERT_EQ(reinterpret_cast<uintptr_t>(values) % 8, 0u);
    for (size_t f = 0; f < num_floats; ++f) values[f] = static_cast<float>(i * 1000 + f);
  }
  std::vector<Frame> frames = SplitFrames(buffer);
  ASSERT_EQ(frames.size(), 5u);
  for (int i = 0; i < 5; ++i) {
    ASSERT_EQ(frames[i].header.type, MessageType::kPullReply);
    PullReplyView view;
    ASSERT_TRUE(DecodePullReply(frames[i].body.span(), &view).ok());
    EXPECT_EQ(view.request_id, static_cast<uint64_t>(100 + i));
    EXPECT_EQ(view.slowest_clock, i - 2);
    EXPECT_EQ(view.blocked_us, 1000 * i);
    ASSERT_EQ(view.num_floats, static_cast<size_t>(3 + 7 * i));
    for (size_t f = 0; f < view.num_floats; ++f) {
      float v;
      std::memcpy(&v, view.values + f * sizeof(float), sizeof(float));
      EXPECT_EQ(v, static_cast<float>(i * 1000 + f));
    }
  }
}

// The hand-written bulk encoders produce standard Protobuf that the generated classes read.
TEST(FrameCodecTest, BulkFramesAreStandardProtobuf) {
  const std::vector<uint64_t> keys = SomeKeys(9);
  ByteBuffer buffer;
  AppendPullRequest(7, 3, 12, keys, &buffer);
  std::vector<float> grads(keys.size() * 2, 1.5f);
  std::memcpy(AppendPushRequest(PushHeader::Gradients(8, 1, 0.5f), keys, grads.size(), &buffer),
              grads.data(), grads.size() * sizeof(float));
  float* values = AppendPullReply(9, -1, 77, 4, &buffer);
  for (int i = 0; i < 4; ++i) values[i] = static_cast<float>(i);
  std::vector<Frame> frames = SplitFrames(buffer);
  ASSERT_EQ(frames.size(), 3u);

  PullRequest pull;
  ASSERT_TRUE(DecodeControl(frames[0].body.span(), &pull).ok());
  EXPECT_EQ(pull.request_id(), 7u);
  EXPECT_EQ(pull.table(), 3u);
  EXPECT_EQ(pull.clock(), 12);
  ASSERT_EQ(pull.keys_size(), 9);
  for (int i = 0; i < 9; ++i) EXPECT_EQ(pull.keys(i), keys[i]);

  PushRequest push;
  ASSERT_TRUE(DecodeControl(frames[1].body.span(), &push).ok());
  EXPECT_EQ(push.request_id(), 8u);
  EXPECT_EQ(push.learning_rate(), 0.5f);
  ASSERT_EQ(push.keys_size(), 9);
  EXPECT_EQ(push.keys(8), keys[8]);
  ASSERT_EQ(push.values().size(), grads.size() * sizeof(float));
  EXPECT_EQ(std::memcmp(push.values().data(), grads.data(), push.values().size()), 0);

  PullReply reply;
  ASSERT_TRUE(DecodeControl(frames[2].body.span(), &reply).ok());
  EXPECT_EQ(reply.request_id(), 9u);
  EXPECT_EQ(reply.slowest_clock(), -1);
  EXPECT_EQ(reply.blocked_us(), 77);
  EXPECT_EQ(reply.values().size(), 16u);
}

// Bodies from another encoder (no alignment padding) decode too, through the scratch.
TEST(FrameCodecTest, DecodesBodiesOfTheGeneratedEncoder) {
  const std::vector<uint64_t> keys = SomeKeys(5);
  PushRequest push;
  push.set_request_id(11);
  push.set_table(1);
  push.set_learning_rate(0.125f);
  push.set_kind(PushRequest::GRADIENTS);
  for (uint64_t k : keys) push.add_keys(k);
  std::vector<float> grads = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  push.set_values(std::string(reinterpret_cast<const char*>(grads.data()),
                              grads.size() * sizeof(float)));
  const std::string bytes = push.SerializeAsString();
  // Misalign on purpose: one byte into an aligned buffer.
  ByteBuffer body;
  body.Append("x", 1);
  body.Append(bytes.data(), bytes.size());
  const std::span<const uint8_t> span = body.span().subspan(1);

  DecodeScratch scratch;
  PushRequestView view;
  ASSERT_TRUE(DecodePushRequest(span, &scratch, &view).ok());
  EXPECT_EQ(view.request_id, 11u);
  EXPECT_EQ(view.learning_rate, 0.125f);
  ASSERT_EQ(view.keys.size(), keys.size());
  EXPECT_TRUE(std::equal(keys.begin(), keys.end(), view.keys.begin()));
  EXPECT_EQ(reinterpret_cast<uintptr_t>(view.keys.data()) % 8, 0u);
  ASSERT_EQ(view.values.size(), grads.size());
  EXPECT_TRUE(std::equal(grads.begin(), grads.end(), view.values.begin()));
  EXPECT_EQ(reinterpret_cast<uintptr_t>(view.values.data()) % 4, 0u);
}

// Unpacked and split repeated fields are legal Protobuf; they are gathered in order.
TEST(FrameCodecTest, DecodesUnpackedAndSplitKeys) {
  ByteBuffer body;
  auto put = [&](std::initializer_list<uint8_t> bytes) {
    for (uint8_t b : bytes) body.Append(&b, 1);
  };
  const uint64_t a = 0x0102030405060708ULL, b = 0x1112131415161718ULL, c = 42;
  put({0x29});  // field 5, fixed64
  body.Append(&a, 8);
  put({0x2a, 8});  // field 5, packed run of one key
  body.Append(&b, 8);
  put({0x29});
  body.Append(&c, 8);
  put({0x08, 0x05});  // request_id 5
  DecodeScratch scratch;
  PullRequestView view;
  ASSERT_TRUE(DecodePullRequest(body.span(), &scratch, &view).ok());
  EXPECT_EQ(view.request_id, 5u);
  ASSERT_EQ(view.keys.size(), 3u);
  EXPECT_EQ(view.keys[0], a);
  EXPECT_EQ(view.keys[1], b);
  EXPECT_EQ(view.keys[2], c);
}

TEST(FrameCodecTest, ControlMessagesRoundTrip) {
  ByteBuffer buffer;
  Handshake hs;
  hs.set_protocol_version(kProtocolVersion);
  hs.set_job_id("job-1");
  hs.set_client_nonce(std::string(kNonceBytes, 'c'));
  hs.set_proof(std::string(kProofBytes, 'p'));
  hs.set_worker_id(3);
  hs.set_num_workers(4);
  AppendHandshake(hs, &buffer);
  HandshakeReply hr;
  hr.set_server_id(1);
  hr.set_num_servers(2);
  AppendHandshakeReply(hr, &buffer);
  AppendClock(5, 3, 17, &buffer);
  AppendFinish(6, 3, &buffer);
  AppendAck(7, &buffer);
  AppendError(8, Status::NotFound("table 9"), &buffer);
  std::vector<Frame> frames = SplitFrames(buffer);
  ASSERT_EQ(frames.size(), 6u);

  Handshake hs2;
  ASSERT_EQ(frames[0].header.type, MessageType::kHandshake);
  ASSERT_TRUE(DecodeControl(frames[0].body.span(), &hs2).ok());
  EXPECT_EQ(hs2.SerializeAsString(), hs.SerializeAsString());
  HandshakeReply hr2;
  ASSERT_EQ(frames[1].header.type, MessageType::kHandshakeReply);
  ASSERT_TRUE(DecodeControl(frames[1].body.span(), &hr2).ok());
  EXPECT_EQ(hr2.num_servers(), 2);
  ClockRequest clock;
  ASSERT_EQ(frames[2].header.type, MessageType::kClock);
  ASSERT_TRUE(DecodeControl(frames[2].body.span(), &clock).ok());
  EXPECT_EQ(clock.request_id(), 5u);
  EXPECT_EQ(clock.worker_id(), 3);
  EXPECT_EQ(clock.clock(), 17);
  FinishRequest finish;
  ASSERT_EQ(frames[3].header.type, MessageType::kFinish);
  ASSERT_TRUE(DecodeControl(frames[3].body.span(), &finish).ok());
  EXPECT_EQ(finish.worker_id(), 3);
  Ack ack;
  ASSERT_EQ(frames[4].header.type, MessageType::kAck);
  ASSERT_TRUE(DecodeControl(frames[4].body.span(), &ack).ok());
  EXPECT_EQ(ack.request_id(), 7u);
  Error error;
  ASSERT_EQ(frames[5].header.type, MessageType::kError);
  ASSERT_TRUE(DecodeControl(frames[5].body.span(), &error).ok());
  EXPECT_EQ(error.request_id(), 8u);
  Status status = StatusFromError(error);
  EXPECT_EQ(status.code(), Status::Code::kNotFound);
  EXPECT_EQ(status.message(), "table 9");
}

TEST(FrameCodecTest, ErrorWithOkOrUnknownCodeIsInternal) {
  Error error;
  error.set_message("m");
  error.set_code(0);
  EXPECT_EQ(StatusFromError(error).code(), Status::Code::kInternal);
  error.set_code(1234);
  EXPECT_EQ(StatusFromError(error).code(), Status::Code::kInternal);
  error.set_code(-1);
  EXPECT_EQ(StatusFromError(error).code(), Status::Code::kInternal);
}

ByteBuffer BodyOf(std::initializer_list<uint8_t> bytes) {
  ByteBuffer body;
  for (uint8_t b : bytes) body.Append(&b, 1);
  return body;
}

// Every decoder fails with Corruption on each kind of malformed body.
TEST(FrameCodecTest, MalformedBodiesAreCorruption) {
  const std::vector<std::pair<const char*, ByteBuffer>> cases = [] {
    std::vector<std::pair<const char*, ByteBuffer>> c;
    c.emplace_back("truncated varint", BodyOf({0x08, 0x80}));
    c.emplace_back("11-byte varint",
                   BodyOf({0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}));
    c.emplace_back("varint over 64 bits",
                   BodyOf({0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02}));
    c.emplace_back("field number 0", BodyOf({0x00, 0x01}));
    c.emplace_back("group wire type", BodyOf({0x0b}));
    c.emplace_back("wire type 7", BodyOf({0x0f}));
    c.emplace_back("length overrun", BodyOf({0x2a, 0x10, 1, 2, 3}));
    c.emplace_back("huge length", BodyOf({0x2a, 0xff, 0xff, 0xff, 0xff, 0x0f}));
    c.emplace_back("keys not a multiple of 8", BodyOf({0x2a, 0x03, 1, 2, 3}));
    c.emplace_back("keys as varint", BodyOf({0x28, 0x01}));
    c.emplace_back("request_id as bytes", BodyOf({0x0a, 0x00}));
    c.emplace_back("truncated fixed64 key", BodyOf({0x29, 1, 2, 3}));
    c.emplace_back("unknown field truncated", BodyOf({0x79, 1, 2}));
    return c;
  }();
  for (const auto& [name, body] : cases) {
    SCOPED_TRACE(name);
    DecodeScratch scratch;
    PullRequestView pull;
    Status s = DecodePullRequest(body.span(), &scratch, &pull);
    EXPECT_EQ(s.code(), Status::Code::kCorruption) << s.ToString();
    PushRequestView push;
    s = DecodePushRequest(body.span(), &scratch, &push);
    EXPECT_EQ(s.code(), Status::Code::kCorruption) << s.ToString();
  }

  DecodeScratch scratch;
  PushRequestView push;
  EXPECT_EQ(DecodePushRequest(BodyOf({0x3a, 0x03, 1, 2, 3}).span(), &scratch, &push).code(),
            Status::Code::kCorruption);  // grads not a multiple of 4
  EXPECT_EQ(DecodePushRequest(BodyOf({0x18, 0x01}).span(), &scratch, &push).code(),
            Status::Code::kCorruption);  // learning_rate as varint
  PullReplyView reply;
  EXPECT_EQ(DecodePullReply(BodyOf({0x2a, 0x02, 1, 2}).span(), &reply).code(),
            Status::Code::kCorruption);  // values not a multiple of 4
  EXPECT_EQ(DecodePullReply(BodyOf({0x10}).span(), &reply).code(), Status::Code::kCorruption);

  Handshake hs;
  Status s = DecodeControl(BodyOf({0x12, 0x50, 'a'}).span(), &hs);
  EXPECT_EQ(s.code(), Status::Code::kCorruption);
  EXPECT_NE(s.message().find("Handshake"), std::string::npos) << s.message();
}

// Truncations and random corruptions of valid bodies never crash: every decode returns OK
// or Corruption, and OK views stay inside the body.
TEST(FrameCodecTest, MutatedBodiesNeverCrash) {
  const std::vector<uint64_t> keys = SomeKeys(6);
  ByteBuffer buffer;
  AppendPullRequest(1, 1, 3, keys, &buffer);
  std::vector<float> grads(12, 0.5f);
  std::memcpy(AppendPushRequest(PushHeader::Gradients(2, 0, 0.1f), keys, grads.size(), &buffer),
              grads.data(), grads.size() * sizeof(float));
  AppendPullReply(3, 1, 2, 12, &buffer);
  std::vector<Frame> frames = SplitFrames(buffer);
  ASSERT_EQ(frames.size(), 3u);

  std::mt19937_64 rng(7);
  DecodeScratch scratch;
  int failures = 0;
  auto decode_all = [&](const ByteBuffer& body) {
    PullRequestView pull;
    PushRequestView push;
    PullReplyView reply;
    for (Status s : {DecodePullRequest(body.span(), &scratch, &pull),
                     DecodePushRequest(body.span(), &scratch, &push),
                     DecodePullReply(body.span(), &reply)}) {
      if (!s.ok()) {
        ++failures;
        ASSERT_EQ(s.code(), Status::Code::kCorruption);
      }
    }
    if (DecodePullReply(body.span(), &reply).ok() && reply.num_floats > 0) {
      ASSERT_GE(reply.values, body.data());
      ASSERT_LE(reply.values + reply.num_floats * 4, body.data() + body.size());
    }
  };
  for (const Frame& frame : frames) {
    for (size_t len = 0; len < frame.body.size(); ++len) {
      ByteBuffer truncated;
      truncated.Append(frame.body.data(), len);
      decode_all(truncated);
    }
    for (int trial = 0; trial < 3000; ++trial) {
      ByteBuffer mutated;
      mutated.Append(frame.body.data(), frame.body.size());
      const int flips = 1 + static_cast<int>(rng() % 4);
      for (int f = 0; f < flips; ++f) {
        mutated.data()[rng() % mutated.size()] = static_cast<uint8_t>(rng());
      }
      decode_all(mutated);
    }
  }
  EXPECT_GT(failures, 0);
}

}  // namespace
}  // namespace psrec::wire
