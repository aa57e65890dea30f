#include "common/byte_buffer.h"

#include <cstdint>
#include <vector>

#include <gtest/gtest.h>

namespace psrec {
namespace {

TEST(ByteBufferTest, GrowingKeepsContentsAndAlignment) {
  ByteBuffer buffer;
  std::vector<uint8_t> expected;
  for (int i = 0; i < 100000; ++i) {
    const uint8_t b = static_cast<uint8_t>(i * 31);
    buffer.Append(&b, 1);
    expected.push_back(b);
  }
  ASSERT_EQ(buffer.size(), expected.size());
  EXPECT_TRUE(std::equal(expected.begin(), expected.end(), buffer.data()));
  EXPECT_EQ(reinterpret_cast<uintptr_t>(buffer.data()) % ByteBuffer::kAlignment, 0u);
}

// Past kLargeBytes the storage is mapped on 2 MB boundaries and grows by moving pages.
TEST(ByteBufferTest, LargeBuffersKeepContentsThroughMappedGrowth) {
  ByteBuffer buffer;
  std::vector<uint8_t> expected;
  uint32_t x = 1;
  // 100 KB steps from small storage, into the mapped range, through several remaps.
  while (buffer.size() < 40u << 20) {
    std::vector<uint8_t> chunk(100'000);
    for (uint8_t& b : chunk) {
      x = x * 1664525u + 1013904223u;
      b = static_cast<uint8_t>(x >> 24);
    }
    buffer.Append(chunk.data(), chunk.size());
    expected.insert(expected.end(), chunk.begin(), chunk.end());
    ASSERT_EQ(reinterpret_cast<uintptr_t>(buffer.data()) % ByteBuffer::kLargeBytes == 0,
              buffer.capacity() >= ByteBuffer::kLargeBytes);
  }
  ASSERT_EQ(buffer.size(), expected.size());
  EXPECT_TRUE(std::equal(expected.begin(), expected.end(), buffer.data()));
  // Consume and Swap work on mapped storage too; destruction unmaps.
  buffer.Consume(expected.size() - 10, 3);
  EXPECT_TRUE(std::equal(expected.end() - 10, expected.end(), buffer.data() + 3));
  ByteBuffer other;
  other.Swap(buffer);
  EXPECT_EQ(other.size(), 13u);
  EXPECT_EQ(buffer.capacity(), 0u);
}

TEST(ByteBufferTest, ClearKeepsCapacity) {
  ByteBuffer buffer;
  buffer.Grow(10000);
  const size_t capacity = buffer.capacity();
  const uint8_t* storage = buffer.data();
  buffer.Clear();
  EXPECT_TRUE(buffer.empty());
  buffer.Grow(9000);
  EXPECT_EQ(buffer.capacity(), capacity);
  EXPECT_EQ(buffer.data(), storage);
}

TEST(ByteBufferTest, ConsumeMovesTheRestToKeepAt) {
  ByteBuffer buffer;
  for (uint8_t b = 0; b < 20; ++b) buffer.Append(&b, 1);
  buffer.Consume(12, 3);
  ASSERT_EQ(buffer.size(), 3u + 8u);
  for (uint8_t i = 0; i < 8; ++i) EXPECT_EQ(buffer.data()[3 + i], 12 + i);
  buffer.Consume(11);
  EXPECT_TRUE(buffer.empty());
}

TEST(ByteBufferTest, MoveLeavesSourceEmpty) {
  ByteBuffer a;
  a.Append("abc", 3);
  ByteBuffer b(std::move(a));
  EXPECT_EQ(b.size(), 3u);
  EXPECT_EQ(a.size(), 0u);  // NOLINT: moved-from state is specified
}

}  // namespace
}  // namespace psrec
