// The identity of the job that wrote a checkpoint (Manifest.identity), and the check that a
// resume continues the same job: same job id, same model type, same training data.
//
// What "same data" means: data_description lists every field of the job's DataConfig with
// its effective value (defaults included), one "data.field=value" line each, in schema
// order; train_path and test_path are made absolute (lexically, from the working directory;
// symlinks are not resolved and file contents are not read); data.synthetic is listed only
// when the job generates its data (train_path empty). data_hash is the Checksum64 of that
// text. So moving the data files, or changing the format, split, rating range or synthetic
// generator, makes another job; changing the cluster shape, optimizer or epochs does not.
//
// Thread safety: pure functions.
#pragma once

#include <string>

#include "checkpoint/proto/checkpoint.pb.h"
#include "common/proto/config.pb.h"
#include "common/status.h"

namespace psrec::checkpoint {

checkpoint::JobIdentity JobIdentityOf(const config::JobConfig& job);

// OK when `saved` (a checkpoint's, read from `dir`) and `current` name the same job;
// otherwise InvalidArgument listing what differs (job id, model, and each differing data
// field with both values) and how to force the resume (--resume-other-job).
Status CheckSameJob(const checkpoint::JobIdentity& saved, const checkpoint::JobIdentity& current,
                    const std::string& dir);

}  // namespace psrec::checkpoint
