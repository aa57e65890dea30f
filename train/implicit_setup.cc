#include "train/implicit_setup.h"

#include <algorithm>
#include <cstdio>
#include <string>

#include "data/implicit.h"

namespace psrec::train {

Result<std::vector<uint64_t>> AllGatherKeys(std::vector<uint64_t> keys, Collective* collective) {
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  // Sums of doubles are exact for 32-bit halves placed in disjoint segments: each member
  // writes its keys into its own segment, zeros elsewhere.
  const size_t members = static_cast<size_t>(collective->size());
  const size_t rank = static_cast<size_t>(collective->rank());
  std::vector<double> sizes(members, 0.0);
  sizes[rank] = static_cast<double>(keys.size());
  RETURN_IF_ERROR(collective->AllReduceSum(sizes));
  size_t begin = 0, total = 0;
  for (size_t m = 0; m < members; ++m) {
    if (m == rank) begin = total;
    total += static_cast<size_t>(sizes[m]);
  }
  std::vector<double> halves(2 * total, 0.0);
  for (size_t k = 0; k < keys.size(); ++k) {
    halves[2 * (begin + k)] = static_cast<double>(keys[k] >> 32);
    halves[2 * (begin + k) + 1] = static_cast<double>(keys[k] & 0xffffffffULL);
  }
  RETURN_IF_ERROR(collective->AllReduceSum(halves));
  std::vector<uint64_t> all(total);
  for (size_t k = 0; k < total; ++k) {
    all[k] = (static_cast<uint64_t>(halves[2 * k]) << 32) | static_cast<uint64_t>(halves[2 * k + 1]);
  }
  std::sort(all.begin(), all.end());
  all.erase(std::unique(all.begin(), all.end()), all.end());
  return all;
}

namespace {

std::string TrainSource(const config::DataConfig& data) {
  return data.train_path().empty() ? std::string("the synthetic data (data.synthetic)")
                                   : data.train_path();
}

}  // namespace

Result<std::shared_ptr<const ImplicitTraining>> PrepareImplicit(const config::JobConfig& job,
                                                                models::Examples examples,
                                                                data::WorkerData* data,
                                                                Collective* collective) {
  auto implicit = std::make_shared<ImplicitTraining>();
  implicit->config = job.data().implicit();
  implicit->examples = examples;
  std::vector<uint64_t> keys(data->train.item_ids.begin(), data->train.item_ids.end());
  keys.insert(keys.end(), data->test.item_ids.begin(), data->test.item_ids.end());
  ASSIGN_OR_RETURN(implicit->catalogue, AllGatherKeys(std::move(keys), collective));

  const size_t interactions = data->train.size();
  data::RecencyWeights recency;
  if (implicit->config.recency_half_life() > 0) {
    // A worker without training data has nothing to weigh (and reads no timestamps).
    if (!data->train.has_timestamps() && data->train.size() > 0) {
      return Status::InvalidArgument(
          "data.implicit.recency_half_life needs the time of each interaction, and " +
          TrainSource(job.data()) +
          " has none (a format with a timestamp column, e.g. MOVIELENS_TSV's 4th column)");
    }
    recency = {implicit->config.recency_half_life(), implicit->config.recency_min_weight()};
  }
  data->train =
      data::ImplicitPositives(data->train, implicit->config, implicit->catalogue, recency);
  data->test = data::ImplicitPositives(data->test, implicit->config, implicit->catalogue);

  // Training positives of every catalogue item, over all workers; the last entry counts
  // the interactions read, for the message below.
  std::vector<double> counts(implicit->catalogue.size() + 1, 0.0);
  for (const uint32_t item : data->train.item_index) counts[item] += 1;
  counts.back() = static_cast<double>(interactions);
  RETURN_IF_ERROR(collective->AllReduceSum(counts));
  const double read = counts.back();
  counts.pop_back();
  double positives = 0;
  for (const double c : counts) positives += c;
  if (positives == 0) {
    char text[160];
    if (implicit->config.has_positive_threshold()) {
      std::snprintf(text, sizeof(text), "no interaction is >= data.implicit.positive_threshold %g",
                    implicit->config.positive_threshold());
    } else {
      std::snprintf(text, sizeof(text), "no interaction to train on");
    }
    return Status::InvalidArgument(TrainSource(job.data()) + ": " + text + " (" +
                                   std::to_string(static_cast<int64_t>(read)) +
                                   " training interactions read)");
  }
  implicit->positives = UserPositives(data->train.user_ids.size(), data->train.user_index,
                                      data->train.item_index);
  if (implicit->config.sampler() == config::ImplicitConfig::POPULARITY) {
    ASSIGN_OR_RETURN(implicit->sampler,
                     NegativeSampler::Popularity(counts, implicit->config.popularity_alpha()));
  } else {
    implicit->sampler =
        NegativeSampler::Uniform(static_cast<uint32_t>(implicit->catalogue.size()));
  }
  return std::shared_ptr<const ImplicitTraining>(std::move(implicit));
}

}  // namespace psrec::train
