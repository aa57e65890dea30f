// Fuzzes the job config parser (ParseJobConfig, common/config.h) with arbitrary text, and a
// config that parses through EffectiveConfigText, which must parse back to a valid config.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "common/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto job = psrec::ParseJobConfig(text, "fuzz.textproto", {});
  if (!job.ok()) return 0;
  const std::string effective = psrec::EffectiveConfigText(*job);
  if (!psrec::ParseJobConfig(effective, "effective.textproto", {}).ok()) {
    std::abort();  // `psrec config` would print a config that psrec refuses
  }
  return 0;
}
