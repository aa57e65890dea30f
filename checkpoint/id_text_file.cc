#include "checkpoint/id_text_file.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

#include "checkpoint/checkpoint_format.h"
#include "common/checksum.h"

namespace psrec::checkpoint {

namespace {

template <typename T>
void Append(std::string* out, T value) {
  out->append(reinterpret_cast<const char*>(&value), sizeof(value));
}

template <typename T>
T Load(std::string_view bytes, size_t offset) {
  T value;
  std::memcpy(&value, bytes.data() + offset, sizeof(value));
  return value;
}

Result<std::string> ReadWhole(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return errno == ENOENT ? Status::NotFound(path + ": missing")
                           : Status::IoError(path + ": " + std::strerror(errno));
  }
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return Status::IoError(path + ": read failed");
  return bytes;
}

}  // namespace

bool NeedsIdText(uint64_t key, std::string_view text) {
  return key >= (uint64_t{1} << 63) || text != std::to_string(key);
}

std::string EncodeIdTextFile(TableId table, const IdTextEntries& entries) {
  std::string out(kIdTextMagic, sizeof(kIdTextMagic));
  Append<uint32_t>(&out, kCheckpointFormatVersion);
  Append<uint32_t>(&out, table);
  Append<uint64_t>(&out, entries.size());
  Append<uint64_t>(&out, Checksum64::Of(out.data(), out.size()));
  for (const auto& [key, text] : entries) {
    Append<uint64_t>(&out, key);
    Append<uint32_t>(&out, static_cast<uint32_t>(text.size()));
    out += text;
  }
  Append<uint64_t>(&out, Checksum64::Of(out.data(), out.size()));
  return out;
}

Status DecodeIdTextFile(const std::string& path, std::string_view bytes,
                        const checkpoint::FileInfo& file, IdTextMap* out) {
  if (bytes.size() != file.bytes()) {
    return Status::Corruption(path + ": " + std::to_string(bytes.size()) +
                              " bytes, the manifest says " + std::to_string(file.bytes()) +
                              (bytes.size() < file.bytes() ? " (truncated)" : ""));
  }
  if (bytes.size() < kIdTextHeaderBytes + 8) return Status::Corruption(path + ": truncated");
  // The whole-file checksum first: any flipped bit is reported as such, wherever it is.
  const uint64_t trailer = Load<uint64_t>(bytes, bytes.size() - 8);
  const uint64_t actual = Checksum64::Of(bytes.data(), bytes.size() - 8);
  if (actual != trailer || actual != file.checksum()) {
    return Status::Corruption(path + ": checksum mismatch (id text is corrupted)");
  }
  if (std::memcmp(bytes.data(), kIdTextMagic, sizeof(kIdTextMagic)) != 0 ||
      Load<uint64_t>(bytes, 24) != Checksum64::Of(bytes.data(), 24)) {
    return Status::Corruption(path + ": bad header (magic or header checksum)");
  }
  const uint32_t version = Load<uint32_t>(bytes, 8);
  const uint32_t table = Load<uint32_t>(bytes, 12);
  const uint64_t entries = Load<uint64_t>(bytes, 16);
  if (version != kCheckpointFormatVersion) {
    return Status::Corruption(path + ": format version " + std::to_string(version) +
                              ", this build writes id text as " +
                              std::to_string(kCheckpointFormatVersion));
  }
  if (table != file.table_id() || entries != file.rows()) {
    return Status::Corruption(path + ": header (table " + std::to_string(table) + ", " +
                              std::to_string(entries) + " entries) does not match the manifest");
  }
  const size_t end = bytes.size() - 8;
  size_t at = kIdTextHeaderBytes;
  for (uint64_t i = 0; i < entries; ++i) {
    if (end - at < 12) return Status::Corruption(path + ": entry " + std::to_string(i) + " is cut short");
    const uint64_t key = Load<uint64_t>(bytes, at);
    const uint32_t length = Load<uint32_t>(bytes, at + 8);
    at += 12;
    if (length > kMaxIdTextBytes || end - at < length) {
      return Status::Corruption(path + ": entry " + std::to_string(i) + " has a bad length");
    }
    if (out != nullptr) out->try_emplace(key, bytes.substr(at, length));
    at += length;
  }
  if (at != end) return Status::Corruption(path + ": bytes after the last entry");
  return Status::OK();
}

Status CheckIdTextFile(const std::string& dir, const checkpoint::FileInfo& file, bool verify) {
  const std::string path = dir + "/" + file.name();
  if (!verify) {
    struct stat st;
    if (stat(path.c_str(), &st) != 0) {
      return errno == ENOENT ? Status::NotFound(path + ": missing")
                             : Status::IoError(path + ": " + std::strerror(errno));
    }
    if (static_cast<uint64_t>(st.st_size) != file.bytes()) {
      return Status::Corruption(path + ": " + std::to_string(st.st_size) +
                                " bytes, the manifest says " + std::to_string(file.bytes()));
    }
    return Status::OK();
  }
  ASSIGN_OR_RETURN(std::string bytes, ReadWhole(path));
  return DecodeIdTextFile(path, bytes, file, nullptr);
}

Result<IdTextMap> ReadIdText(const LoadedCheckpoint& checkpoint, TableId table) {
  IdTextMap text;
  for (const checkpoint::FileInfo& file : checkpoint.manifest.id_files()) {
    if (file.table_id() != table) continue;
    const std::string path = checkpoint.dir + "/" + file.name();
    ASSIGN_OR_RETURN(std::string bytes, ReadWhole(path));
    RETURN_IF_ERROR(DecodeIdTextFile(path, bytes, file, &text));
  }
  return text;
}

}  // namespace psrec::checkpoint
