#include "checkpoint/checkpoint_format.h"

#include <cstdio>
#include <cstring>

#include "common/checksum.h"

namespace psrec::checkpoint {

namespace {
template <typename T>
void Put(unsigned char* out, size_t offset, T value) {
  std::memcpy(out + offset, &value, sizeof(T));
}
template <typename T>
T Get(const unsigned char* in, size_t offset) {
  T value;
  std::memcpy(&value, in + offset, sizeof(T));
  return value;
}
constexpr size_t kHeaderChecksumOffset = 32;
}  // namespace

void EncodeRowsHeader(const RowsFileHeader& header, unsigned char out[kRowsHeaderBytes]) {
  std::memset(out, 0, kRowsHeaderBytes);
  std::memcpy(out, kRowsFileMagic, sizeof(kRowsFileMagic));
  Put<uint32_t>(out, 8, header.version);
  Put<uint32_t>(out, 12, header.table_id);
  Put<uint32_t>(out, 16, header.dim);
  Put<uint32_t>(out, 20, header.state_floats);
  Put<uint64_t>(out, 24, header.rows);
  Put<uint64_t>(out, kHeaderChecksumOffset, Checksum64::Of(out, kHeaderChecksumOffset));
}

bool DecodeRowsHeader(const unsigned char in[kRowsHeaderBytes], RowsFileHeader* header) {
  if (std::memcmp(in, kRowsFileMagic, sizeof(kRowsFileMagic)) != 0) return false;
  if (Get<uint64_t>(in, kHeaderChecksumOffset) != Checksum64::Of(in, kHeaderChecksumOffset)) {
    return false;
  }
  header->version = Get<uint32_t>(in, 8);
  header->table_id = Get<uint32_t>(in, 12);
  header->dim = Get<uint32_t>(in, 16);
  header->state_floats = Get<uint32_t>(in, 20);
  header->rows = Get<uint64_t>(in, 24);
  return true;
}

std::string CheckpointDirName(int64_t step) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%s%012lld", kCheckpointPrefix, static_cast<long long>(step));
  return buf;
}

int64_t StepOfCheckpointDirName(const std::string& name) {
  const size_t prefix = std::strlen(kCheckpointPrefix);
  if (name.size() <= prefix || name.compare(0, prefix, kCheckpointPrefix) != 0) return -1;
  if (name.size() - prefix > 18) return -1;
  int64_t step = 0;
  for (size_t i = prefix; i < name.size(); ++i) {
    if (name[i] < '0' || name[i] > '9') return -1;
    step = step * 10 + (name[i] - '0');
  }
  return step;
}

std::string RowsFileName(const std::string& table_name, int shard, bool local) {
  return table_name + (local ? "-local-" : "-") + std::to_string(shard) + ".rows";
}

std::string IdTextFileName(const std::string& table_name, int worker) {
  return table_name + "-" + std::to_string(worker) + ".ids";
}

}  // namespace psrec::checkpoint
