// Fuzzes DecodePushRequest (wire/frame_codec.h) with arbitrary bodies, aligned and not, and
// reads every key and value it returns (so that a view past the body is caught by ASan).
#include <cstdint>

#include "fuzz/fuzz_body.h"
#include "wire/frame_codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace psrec::wire;
  psrec::fuzz::FuzzBody body(data, size);
  DecodeScratch scratch;
  PushRequestView view;
  if (!DecodePushRequest(body.span(), &scratch, &view).ok()) return 0;
  volatile uint64_t sink = 0;
  for (uint64_t key : view.keys) sink = sink + key;
  for (float value : view.values) sink = sink + static_cast<uint64_t>(value != 0.0f);
  return 0;
}
