// Fuzzes DecodePullReply and DecodePullReplyHead (wire/frame_codec.h): the whole body, and
// every prefix of it as the head a reader has received so far. Every value byte and missing
// position a decoder returns is read (ASan catches a view past the body).
#include <cstdint>

#include "fuzz/fuzz_body.h"
#include "wire/frame_codec.h"

namespace {

void Touch(const psrec::wire::PullReplyView& view, size_t body_bytes, size_t values_at) {
  volatile uint64_t sink = 0;
  if (view.values != nullptr) {
    for (size_t i = 0; i < view.num_floats * sizeof(float); ++i) sink = sink + view.values[i];
  }
  for (size_t j = 0; j < view.num_missing(); ++j) sink = sink + view.missing_at(j);
  // The head decoder promises the values lie inside the body.
  if (values_at > body_bytes || view.num_floats * sizeof(float) > body_bytes - values_at) {
    __builtin_trap();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace psrec::wire;
  psrec::fuzz::FuzzBody body(data, size);
  const auto bytes = body.span();
  PullReplyView view;
  if (DecodePullReply(bytes, &view).ok()) Touch(view, bytes.size(), 0);
  for (size_t head = 0; head <= bytes.size(); ++head) {
    PullReplyView head_view;
    size_t values_at = 0;
    if (DecodePullReplyHead(bytes.first(head), bytes.size(), &head_view, &values_at).ok()) {
      Touch(head_view, bytes.size(), values_at);
    }
  }
  return 0;
}
