// PushRequest.kind: the decoder takes a push only when it says whether its values are
// gradients or deltas (tests/wire/frame_codec_test.cc covers the encoder's pushes).
#include <string>

#include <gtest/gtest.h>

#include "wire/frame_codec.h"

namespace psrec::wire {
namespace {

// A push must say what its values are: gradients or deltas, and nothing else.
TEST(FrameCodecTest, RefusesAPushWithoutAKnownKind) {
  PushRequest push;
  push.set_request_id(3);
  push.add_keys(9);
  push.set_values(std::string(4, '\0'));
  DecodeScratch scratch;
  PushRequestView view;
  const std::string unspecified = push.SerializeAsString();
  Status status = DecodePushRequest(
      {reinterpret_cast<const uint8_t*>(unspecified.data()), unspecified.size()}, &scratch, &view);
  EXPECT_EQ(status.code(), Status::Code::kCorruption);
  EXPECT_NE(status.message().find("gradients or deltas"), std::string::npos) << status.message();
  push.set_kind(static_cast<PushRequest::Kind>(7));
  const std::string unknown = push.SerializeAsString();
  status = DecodePushRequest({reinterpret_cast<const uint8_t*>(unknown.data()), unknown.size()},
                             &scratch, &view);
  EXPECT_EQ(status.code(), Status::Code::kCorruption);
  EXPECT_NE(status.message().find("unknown kind 7"), std::string::npos) << status.message();
  push.set_kind(PushRequest::DELTAS);
  const std::string deltas = push.SerializeAsString();
  ASSERT_TRUE(DecodePushRequest({reinterpret_cast<const uint8_t*>(deltas.data()), deltas.size()},
                                &scratch, &view)
                  .ok());
  EXPECT_EQ(view.kind, PushRequest::DELTAS);
}

}  // namespace
}  // namespace psrec::wire
