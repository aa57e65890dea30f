// Implicit-feedback models (BPR_MF, LOGISTIC_MF) on a federated client: the client trains on
// its own positives with negatives it draws itself, on the device, uniformly from the item
// catalogue and excluding its own positives (train/negative_sampler.h's rejection rule). The
// draws are seeded by (training.seed, round, client id) only, never by a stream shared with
// other clients, so what a client computes depends on its own data, the item rows it
// downloaded and the public catalogue, and on nothing else (docs/federated.md, "Implicit
// models"). A client's update covers every item it touched: its positives and its sampled
// negatives.
#include <algorithm>

#include "train/client_sampler.h"
#include "train/federated_round.h"

namespace psrec::train {

void FederatedRound::DrawClientNegatives(uint32_t dense, int64_t round, uint64_t stream,
                                         int epochs) {
  negatives_.clear();
  if (implicit_ == nullptr) return;
  const uint64_t id = context_.user_ids[dense];
  const uint64_t seed = context_.job->training().seed();
  SampleRng rng(MixBits(MixBits(seed ^ MixBits(static_cast<uint64_t>(round) * 0x100000001b3ULL +
                                               stream)) ^
                        id));
  const std::span<const uint32_t> own = implicit_->positives.of(dense);
  const size_t count = static_cast<size_t>(epochs) * (first_[dense + 1] - first_[dense]) *
                       static_cast<size_t>(negatives_per_positive_);
  const int max_draws = implicit_->config.max_draws_per_negative();
  negatives_.resize(count);
  for (uint32_t& negative : negatives_) {
    negative = implicit_->sampler.DrawExcluding(&rng, own, max_draws);
  }
}

void FederatedRound::AppendClientItems(uint32_t dense, std::vector<uint32_t>* out) const {
  for (size_t i = first_[dense]; i < first_[dense + 1]; ++i) out->push_back(by_client_[i].item);
  out->insert(out->end(), negatives_.begin(), negatives_.end());
}

size_t FederatedRound::BuildLocalExamples(uint32_t dense, int epoch,
                                          const std::vector<uint32_t>* slot_of_item) {
  const size_t first = first_[dense];
  const size_t n = first_[dense + 1] - first;
  auto slot = [slot_of_item](uint32_t item) {
    return slot_of_item == nullptr ? item : (*slot_of_item)[item];
  };
  const size_t npp = static_cast<size_t>(negatives_per_positive_);
  // The epoch's negatives: npp per positive, in visiting order.
  const uint32_t* negatives = negatives_.data() + static_cast<size_t>(epoch) * n * npp;
  switch (examples_) {
    case models::Examples::kRatings:
      labels_.resize(n);
      slots_.resize(n);
      for (size_t i = 0; i < n; ++i) {
        const data::PackedRating& r = by_client_[first + order_[i]];
        labels_[i] = r.rating;
        slots_[i] = slot(r.item);
      }
      return n;
    case models::Examples::kPairwise:
      // (user, positive, negative) triples, label 1 (train/implicit_batches.h's layout).
      labels_.assign(n * npp, 1.0f);
      slots_.resize(n * npp);
      neg_slots_.resize(n * npp);
      for (size_t i = 0; i < n; ++i) {
        const uint32_t pos = slot(by_client_[first + order_[i]].item);
        for (size_t j = 0; j < npp; ++j) {
          slots_[i * npp + j] = pos;
          neg_slots_[i * npp + j] = slot(negatives[i * npp + j]);
        }
      }
      return n * npp;
    case models::Examples::kPointwise:
      // (user, positive, 1), then (user, negative, 0) npp times.
      labels_.resize(n * (npp + 1));
      slots_.resize(n * (npp + 1));
      for (size_t i = 0; i < n; ++i) {
        const size_t at = i * (npp + 1);
        labels_[at] = 1.0f;
        slots_[at] = slot(by_client_[first + order_[i]].item);
        for (size_t j = 0; j < npp; ++j) {
          labels_[at + 1 + j] = 0.0f;
          slots_[at + 1 + j] = slot(negatives[i * npp + j]);
        }
      }
      return n * (npp + 1);
  }
  return 0;
}

void FederatedRound::BindFields(float* user_row, float* item_rows, float user_lr,
                                float item_lr) {
  const size_t fields = context_.model->fields().size();
  steppers_[0] = {&client_sgd_, user_lr, 0};
  fields_[0] = models::RowLookup();
  fields_[0].rows = user_row;  // the client's private row, in place
  fields_[0].stride = static_cast<size_t>(users_.table().row_floats());
  fields_[0].index = &zero_;
  fields_[0].index_stride = 0;
  for (size_t f = 1; f < fields; ++f) {
    steppers_[f] = {&client_sgd_, item_lr, 0};
    fields_[f] = models::RowLookup();
    fields_[f].rows = item_rows;
    fields_[f].stride = static_cast<size_t>(dim_);
    fields_[f].index = f == 1 ? slots_.data() : neg_slots_.data();
  }
}

}  // namespace psrec::train
