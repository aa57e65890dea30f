// Fuzzes the checkpoint MANIFEST reader. Even first byte: the rest is a whole MANIFEST file
// for DecodeManifestFile (checkpoint/manifest_file.h): frame, length and checksum checks.
// Odd first byte: the rest is a manifest body, framed here with a valid checksum (random
// bytes would almost never pass it) and written to a scratch checkpoint directory for
// ReadCheckpoint (checkpoint/checkpoint_reader.h), which checks versions, identity, tables
// and file entries; a file entry may name the MANIFEST itself, whose bytes are then read as
// a rows file.
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include "checkpoint/checkpoint_format.h"
#include "checkpoint/checkpoint_reader.h"
#include "checkpoint/manifest_file.h"
#include "common/checksum.h"

namespace {

using namespace psrec::checkpoint;

// One scratch directory per fuzzer process, removed when it exits. Never destroyed: the
// atexit handler runs after function-local statics constructed before it are gone.
const std::string& ScratchDir() {
  static const std::string* dir = [] {
    auto* path = new std::string(
        (std::filesystem::temp_directory_path() / "psrec-fuzz-manifest-XXXXXX").string());
    if (mkdtemp(path->data()) == nullptr) std::abort();
    std::atexit([] { std::filesystem::remove_all(*dir); });
    return path;
  }();
  return *dir;
}

std::string Frame(std::string_view body) {
  std::string file(kManifestMagic, sizeof(kManifestMagic));
  const uint64_t length = body.size();
  file.append(reinterpret_cast<const char*>(&length), sizeof(length));
  file.append(body);
  const uint64_t checksum = psrec::Checksum64::Of(file.data(), file.size());
  file.append(reinterpret_cast<const char*>(&checksum), sizeof(checksum));
  return file;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  if (data[0] % 2 == 0) {
    (void)DecodeManifestFile("MANIFEST", rest);
    return 0;
  }
  const std::string file = Frame(rest);
  if (!DecodeManifestFile("MANIFEST", file).ok()) return 0;  // an unparsable body
  const std::string& dir = ScratchDir();
  {
    std::ofstream out(dir + "/" + kManifestName, std::ios::binary | std::ios::trunc);
    out.write(file.data(), static_cast<std::streamsize>(file.size()));
    if (!out) std::abort();
  }
  ReadCheckpointOptions options;
  options.verify_checksums = (data[0] & 2) != 0;
  auto checkpoint = ReadCheckpoint(dir, options);
  if (checkpoint.ok()) {
    for (const auto& table : checkpoint->manifest.tables()) (void)TableSpecOf(table);
  }
  return 0;
}
