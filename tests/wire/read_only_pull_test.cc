// Read-only pulls on the wire: PullRequest.read_only and PullReply.missing, through the one
// encoder and decoder (wire/frame_codec.h), and against the generated Protobuf classes.
#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "wire/frame_codec.h"

namespace psrec::wire {
namespace {

// The body of the single frame in `buffer`, copied to the start of its own (aligned) buffer.
ByteBuffer OnlyBody(const ByteBuffer& buffer, MessageType type) {
  Result<FrameHeader> header = ParseFrameHeader(buffer.data(), 1 << 26);
  EXPECT_TRUE(header.ok()) << header.status().ToString();
  EXPECT_EQ(header->type, type);
  EXPECT_EQ(kFrameHeaderBytes + header->body_bytes, buffer.size());
  ByteBuffer body;
  body.Append(buffer.data() + kFrameHeaderBytes, header->body_bytes);
  return body;
}

TEST(ReadOnlyPullTest, RequestCarriesTheFlagAndPlainPullsDoNot) {
  const std::vector<uint64_t> keys = {5, 1ULL << 63, 77};
  for (const bool read_only : {false, true}) {
    ByteBuffer buffer;
    AppendPullRequest(4, 1, 9, keys, &buffer, kPlainPull, read_only);
    ByteBuffer body = OnlyBody(buffer, MessageType::kPull);
    DecodeScratch scratch;
    PullRequestView view;
    ASSERT_TRUE(DecodePullRequest(body.span(), &scratch, &view).ok());
    EXPECT_EQ(view.read_only, read_only);
    EXPECT_FALSE(view.with_state);
    ASSERT_EQ(view.keys.size(), keys.size());
    EXPECT_EQ(view.keys[1], keys[1]);
    PullRequest parsed;  // the generated class agrees
    ASSERT_TRUE(DecodeControl(body.span(), &parsed).ok());
    EXPECT_EQ(parsed.read_only(), read_only);
  }
  // A default pull is byte for byte what it was before the flag existed.
  ByteBuffer plain, defaulted;
  AppendPullRequest(4, 1, 9, keys, &plain, kPlainPull, false);
  AppendPullRequest(4, 1, 9, keys, &defaulted);
  EXPECT_EQ(plain.span().size(), defaulted.span().size());
  EXPECT_EQ(std::memcmp(plain.data(), defaulted.data(), plain.size()), 0);
}

TEST(ReadOnlyPullTest, ReplyListsMissingPositionsBeforeAlignedValues) {
  const std::vector<uint32_t> missing = {0, 3, 4, 1000};
  ByteBuffer buffer;
  buffer.Append("xyz", 3);  // the reply need not start at the buffer's start
  const size_t start = buffer.size();
  float* values = AppendPullReply(12, 3, 40, 6, &buffer, missing);
  ASSERT_EQ(reinterpret_cast<uintptr_t>(values) % 8, 0u);
  for (int i = 0; i < 6; ++i) values[i] = 0.5f * static_cast<float>(i);
  ByteBuffer frame;
  frame.Append(buffer.data() + start, buffer.size() - start);
  ByteBuffer body = OnlyBody(frame, MessageType::kPullReply);

  PullReplyView view;
  ASSERT_TRUE(DecodePullReply(body.span(), &view).ok());
  EXPECT_EQ(view.request_id, 12u);
  ASSERT_EQ(view.num_missing(), missing.size());
  for (size_t j = 0; j < missing.size(); ++j) EXPECT_EQ(view.missing_at(j), missing[j]);
  ASSERT_EQ(view.num_floats, 6u);
  float last;
  std::memcpy(&last, view.values + 5 * sizeof(float), sizeof(float));
  EXPECT_EQ(last, 2.5f);

  // The values stay the last field: a receiver can still place them from the head.
  PullReplyView head_view;
  size_t values_at = 0;
  ASSERT_TRUE(DecodePullReplyHead(body.span().first(body.size() - 24), body.size(),
                                  &head_view, &values_at).ok());
  EXPECT_EQ(values_at, body.size() - 24);
  ASSERT_EQ(head_view.num_missing(), missing.size());
  EXPECT_EQ(head_view.missing_at(3), 1000u);

  PullReply parsed;
  ASSERT_TRUE(DecodeControl(body.span(), &parsed).ok());
  ASSERT_EQ(parsed.missing_size(), 4);
  EXPECT_EQ(parsed.missing(1), 3u);
  EXPECT_EQ(parsed.values().size(), 24u);
}

TEST(ReadOnlyPullTest, ReplyWithoutMissingKeysIsUnchanged) {
  ByteBuffer with_empty, without;
  AppendPullReply(1, 2, 3, 5, &with_empty, {});
  AppendPullReply(1, 2, 3, 5, &without);
  ASSERT_EQ(with_empty.size(), without.size());
  ByteBuffer body = OnlyBody(without, MessageType::kPullReply);
  PullReplyView view;
  ASSERT_TRUE(DecodePullReply(body.span(), &view).ok());
  EXPECT_EQ(view.num_missing(), 0u);
}

TEST(ReadOnlyPullTest, MalformedMissingIsCorruption) {
  PullReplyView view;
  // missing (field 6) of 3 bytes
  const uint8_t odd[] = {0x32, 0x03, 1, 2, 3};
  EXPECT_EQ(DecodePullReply(odd, &view).code(), Status::Code::kCorruption);
  // missing as an unpacked fixed32
  const uint8_t unpacked[] = {0x35, 1, 0, 0, 0};
  EXPECT_EQ(DecodePullReply(unpacked, &view).code(), Status::Code::kCorruption);
  // two packed runs
  const uint8_t twice[] = {0x32, 0x04, 1, 0, 0, 0, 0x32, 0x04, 2, 0, 0, 0};
  EXPECT_EQ(DecodePullReply(twice, &view).code(), Status::Code::kCorruption);
  // read_only with the wrong wire type
  const uint8_t flag[] = {0x45, 1, 0, 0, 0};
  DecodeScratch scratch;
  PullRequestView pull;
  EXPECT_EQ(DecodePullRequest(flag, &scratch, &pull).code(), Status::Code::kCorruption);
}

}  // namespace
}  // namespace psrec::wire
