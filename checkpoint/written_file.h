// Conversions between a manifest's FileInfo (what a checkpoint lists) and the wire's
// WrittenFile (what a server or a LOCAL-rows owner reports once a rows file is on disk).
//
// Thread safety: pure functions.
#pragma once

#include "checkpoint/proto/checkpoint.pb.h"
#include "wire/proto/wire.pb.h"

namespace psrec::checkpoint {

wire::WrittenFile WrittenFileOf(const checkpoint::FileInfo& info, int state_floats, bool local);
// An id text file (checkpoint/id_text_file.h): WrittenFile.id_text set; the manifest lists
// it in id_files.
wire::WrittenFile WrittenIdTextFileOf(const checkpoint::FileInfo& info);
checkpoint::FileInfo FileInfoOf(const wire::WrittenFile& file);

}  // namespace psrec::checkpoint
