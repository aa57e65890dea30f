// `psrec data split --split ncf-leave-one-out`: writes the NCF triple (data/ncf_split.h) as
//   train, test   "user \t item \t rating \t timestamp" (the MovieLens TSV layout, raw ids)
//   negatives     "(user,item) \t neg1 \t ... \t negN", one line per test rating (NCF's
//                 .test.negative layout, read by evaluation.negatives_path)
//
// Thread safety: one call at a time per set of paths.
#pragma once

#include <cstdint>
#include <string>

#include "common/status.h"
#include "data/ratings.h"

namespace psrec::cli {

struct NcfSplitPaths {
  std::string train, test, negatives;
};

// Splits `all` and writes the three files; returns the line printed on success.
Result<std::string> WriteNcfSplit(data::RatingColumns all, int negatives, uint64_t seed,
                                  const NcfSplitPaths& paths);

}  // namespace psrec::cli
