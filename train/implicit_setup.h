// ImplicitTraining: what a worker needs to train an implicit-feedback model
// (models::Examples kPairwise / kPointwise): the item catalogue, its data as positives, the
// user's own positives to exclude from negatives, and the negative sampler.
//
// PrepareImplicit is collective (every worker of the job calls it): the catalogue is the
// union of every worker's train and test item keys (an all-gather over the Collective), so a
// dense item index names the same item everywhere and negatives are drawn from all items,
// not only those of the worker's partition; popularity counts are summed over workers.
//
// Thread safety: an ImplicitTraining is immutable once prepared.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "common/proto/config.pb.h"
#include "common/status.h"
#include "data/dataset.h"
#include "models/model.h"
#include "train/collective.h"
#include "train/negative_sampler.h"

namespace psrec::train {

struct ImplicitTraining {
  config::ImplicitConfig config;
  models::Examples examples = models::Examples::kPairwise;
  std::vector<uint64_t> catalogue;  // every item key of the job, sorted
  UserPositives positives;          // this worker's users' training positives
  NegativeSampler sampler;
};

// Replaces data->train and data->test by their positives over the catalogue
// (data::ImplicitPositives) and builds the sampler. An error names the file (or the
// synthetic data) when no training interaction of any worker passes the threshold.
// REQUIRES: examples is kPairwise or kPointwise.
Result<std::shared_ptr<const ImplicitTraining>> PrepareImplicit(const config::JobConfig& job,
                                                                models::Examples examples,
                                                                data::WorkerData* data,
                                                                Collective* collective);

// The union of every member's `keys`, sorted and unique (collective).
Result<std::vector<uint64_t>> AllGatherKeys(std::vector<uint64_t> keys, Collective* collective);

}  // namespace psrec::train
