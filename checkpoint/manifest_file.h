// The bytes of a MANIFEST file (layout: checkpoint/checkpoint_format.h, "A MANIFEST file"):
// a checkpoint::Manifest framed by a magic, its length and a Checksum64 trailer, so that a
// flipped bit anywhere in the file is refused instead of changing the model it describes.
//
// Thread safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "checkpoint/proto/checkpoint.pb.h"
#include "common/status.h"

namespace psrec::checkpoint {

// The whole file for `manifest` (serialized as is: the caller sets its fields).
Result<std::string> EncodeManifestFile(const checkpoint::Manifest& manifest);

// Checks the frame and the checksum of `file` (the bytes of the file at `path`, which only
// names it in messages) and parses the manifest. Corruption, naming path, for an empty file
// ("empty MANIFEST"), a truncated one ("truncated"), a bad checksum, a missing magic or an
// unparsable body; InvalidArgument for a format-1 manifest (written before the frame
// existed, recognised by name). The format version of a parsed manifest is not checked here.
Result<checkpoint::Manifest> DecodeManifestFile(const std::string& path, std::string_view file);

}  // namespace psrec::checkpoint
