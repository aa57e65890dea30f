#include "checkpoint/manifest_file.h"

#include <algorithm>
#include <cstring>

#include "checkpoint/checkpoint_format.h"
#include "common/checksum.h"

namespace psrec::checkpoint {

namespace {

uint64_t GetU64(std::string_view bytes, size_t offset) {
  uint64_t value;
  std::memcpy(&value, bytes.data() + offset, sizeof(value));
  return value;
}

void PutU64(std::string* out, uint64_t value) {
  out->append(reinterpret_cast<const char*>(&value), sizeof(value));
}

std::string Bytes(uint64_t n) { return std::to_string(n) + " bytes"; }

// Manifests of format 1 were bare Protobuf; say so rather than "no magic".
Status UnframedManifest(const std::string& path, std::string_view file) {
  checkpoint::Manifest old;
  if (old.ParseFromArray(file.data(), static_cast<int>(file.size())) &&
      old.format_version() == 1) {
    return Status::InvalidArgument(
        path + ": format version 1, written before models named their tables and scalars; "
        "this build reads formats " + std::to_string(kOldestReadableFormatVersion) + " to " +
        std::to_string(kCheckpointFormatVersion) + ": retrain, or use a psrec release older than format 2 to export its rows");
  }
  return Status::Corruption(path + ": not a valid manifest (no " +
                            std::string(kManifestMagic, sizeof(kManifestMagic)) +
                            " magic: not a checkpoint MANIFEST, or its first bytes are damaged)");
}

}  // namespace

Result<std::string> EncodeManifestFile(const checkpoint::Manifest& manifest) {
  std::string body;
  if (!manifest.SerializeToString(&body)) {
    return Status::Internal("cannot serialize a checkpoint manifest");
  }
  std::string file(kManifestMagic, sizeof(kManifestMagic));
  PutU64(&file, body.size());
  file += body;
  PutU64(&file, Checksum64::Of(file.data(), file.size()));
  return file;
}

Result<checkpoint::Manifest> DecodeManifestFile(const std::string& path, std::string_view file) {
  if (file.empty()) {
    return Status::Corruption(path + ": empty MANIFEST (0 bytes; the checkpoint was not "
                              "completed, or the file was truncated)");
  }
  const size_t magic_bytes = sizeof(kManifestMagic);
  const size_t prefix = std::min(file.size(), magic_bytes);
  if (std::memcmp(file.data(), kManifestMagic, prefix) != 0) return UnframedManifest(path, file);
  if (file.size() < kManifestHeaderBytes + kManifestTrailerBytes) {
    return Status::Corruption(path + ": truncated (" + Bytes(file.size()) +
                              ", shorter than the MANIFEST's frame)");
  }
  const size_t covered = file.size() - kManifestTrailerBytes;
  const uint64_t body_bytes = GetU64(file, magic_bytes);
  // The checksum covers the length field: check it first, so that a flipped length is
  // reported as corruption and a short file as truncation.
  if (GetU64(file, covered) != Checksum64::Of(file.data(), covered)) {
    if (body_bytes <= (uint64_t{1} << 40) &&
        file.size() < kManifestHeaderBytes + body_bytes + kManifestTrailerBytes) {
      return Status::Corruption(path + ": truncated (" + Bytes(file.size()) + " of " +
                                Bytes(kManifestHeaderBytes + body_bytes +
                                      kManifestTrailerBytes) + ")");
    }
    return Status::Corruption(path + ": checksum mismatch (the MANIFEST is corrupted)");
  }
  if (body_bytes != covered - kManifestHeaderBytes) {
    return Status::Corruption(path + ": length field says " + Bytes(body_bytes) + ", the file holds " +
                              Bytes(covered - kManifestHeaderBytes));
  }
  checkpoint::Manifest manifest;
  if (!manifest.ParseFromArray(file.data() + kManifestHeaderBytes,
                               static_cast<int>(body_bytes))) {
    return Status::Corruption(path + ": not a valid manifest (unparsable)");
  }
  return manifest;
}

}  // namespace psrec::checkpoint
