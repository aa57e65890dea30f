#include "cli/data_split_ncf.h"

#include <cerrno>
#include <cstring>
#include <fstream>

#include "data/ncf_split.h"

namespace psrec::cli {
namespace {

std::string Name(const std::vector<std::string>& names, const std::vector<uint64_t>& ids,
                 uint32_t index) {
  return names.empty() ? std::to_string(ids[index]) : names[index];
}

Status WriteTsv(const data::RatingColumns& c, const std::string& path) {
  std::ofstream out(path, std::ios::binary);
  if (!out) return Status::IoError(path + ": cannot create: " + std::strerror(errno));
  for (size_t r = 0; r < c.size(); ++r) {
    out << Name(c.user_names, c.user_ids, c.user_index[r]) << '\t'
        << Name(c.item_names, c.item_ids, c.item_index[r]) << '\t' << c.rating[r] << '\t'
        << c.timestamp[r] << '\n';
  }
  out.close();
  if (!out) return Status::IoError(path + ": write failed");
  return Status::OK();
}

}  // namespace

Result<std::string> WriteNcfSplit(data::RatingColumns all, int negatives, uint64_t seed,
                                  const NcfSplitPaths& paths) {
  ASSIGN_OR_RETURN(data::NcfTriple triple, data::SplitNcf(std::move(all), negatives, seed));
  RETURN_IF_ERROR(WriteTsv(triple.train, paths.train));
  RETURN_IF_ERROR(WriteTsv(triple.test, paths.test));
  std::ofstream out(paths.negatives, std::ios::binary);
  if (!out) {
    return Status::IoError(paths.negatives + ": cannot create: " + std::strerror(errno));
  }
  const data::RatingColumns& test = triple.test;
  for (size_t r = 0; r < test.size(); ++r) {
    out << '(' << Name(test.user_names, test.user_ids, test.user_index[r]) << ','
        << Name(test.item_names, test.item_ids, test.item_index[r]) << ')';
    for (uint32_t item : triple.negatives[r]) {
      out << '\t' << Name(triple.item_names, triple.item_ids, item);
    }
    out << '\n';
  }
  out.close();
  if (!out) return Status::IoError(paths.negatives + ": write failed");
  return "wrote " + paths.train + " (" + std::to_string(triple.train.size()) + " ratings), " +
         paths.test + " (" + std::to_string(test.size()) + " test items) and " +
         paths.negatives + " (" + std::to_string(negatives) + " negatives each)";
}

}  // namespace psrec::cli
