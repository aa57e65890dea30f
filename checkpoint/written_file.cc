#include "checkpoint/written_file.h"

namespace psrec::checkpoint {

wire::WrittenFile WrittenFileOf(const checkpoint::FileInfo& info, int state_floats, bool local) {
  wire::WrittenFile file;
  file.set_name(info.name());
  file.set_bytes(info.bytes());
  file.set_checksum(info.checksum());
  file.set_table_id(info.table_id());
  file.set_shard(info.shard());
  file.set_rows(info.rows());
  file.set_state_floats(state_floats);
  file.set_local(local);
  return file;
}

wire::WrittenFile WrittenIdTextFileOf(const checkpoint::FileInfo& info) {
  wire::WrittenFile file = WrittenFileOf(info, /*state_floats=*/0, /*local=*/false);
  file.set_id_text(true);
  return file;
}

checkpoint::FileInfo FileInfoOf(const wire::WrittenFile& file) {
  checkpoint::FileInfo info;
  info.set_name(file.name());
  info.set_bytes(file.bytes());
  info.set_checksum(file.checksum());
  info.set_table_id(file.table_id());
  info.set_shard(file.shard());
  info.set_rows(file.rows());
  return info;
}

}  // namespace psrec::checkpoint
