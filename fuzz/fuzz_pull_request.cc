// Fuzzes DecodePullRequest (wire/frame_codec.h) with arbitrary bodies, aligned and not. A
// body that decodes is encoded again (AppendPullRequest) and must decode to the same keys
// and fields: the decoder and the encoder agree on what they accept.
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "fuzz/fuzz_body.h"
#include "wire/frame_codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace psrec::wire;
  psrec::fuzz::FuzzBody body(data, size);
  DecodeScratch scratch;
  PullRequestView view;
  if (!DecodePullRequest(body.span(), &scratch, &view).ok()) return 0;

  const std::vector<uint64_t> keys(view.keys.begin(), view.keys.end());
  psrec::ByteBuffer out;
  AppendPullRequest(view.request_id, view.table, view.clock, keys, &out);
  DecodeScratch again_scratch;
  PullRequestView again;
  const auto frame = out.span();
  if (!DecodePullRequest(frame.subspan(kFrameHeaderBytes), &again_scratch, &again).ok() ||
      again.request_id != view.request_id || again.table != view.table ||
      again.clock != view.clock ||
      std::vector<uint64_t>(again.keys.begin(), again.keys.end()) != keys) {
    std::abort();  // the re-encoded request does not decode to itself
  }
  return 0;
}
