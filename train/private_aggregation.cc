#include "train/private_aggregation.h"

#include <algorithm>
#include <string>

#include "train/privacy/keyed_stream.h"
#include "train/privacy/shamir_sharing.h"
#include "train/privacy/update_clipping.h"

namespace psrec::train {

Result<std::unique_ptr<PrivateAggregation>> PrivateAggregation::Create(
    const FederatedPrivacySettings& settings, uint64_t seed, int worker, int workers) {
  std::optional<privacy::AggregateNoise> noise;
  if (settings.dp && settings.noise_multiplier > 0) {
    ASSIGN_OR_RETURN(privacy::AggregateNoise n,
                     privacy::AggregateNoise::Create(seed, settings.noise_multiplier,
                                                     settings.clip_norm, workers));
    noise.emplace(n);
  }
  return std::unique_ptr<PrivateAggregation>(
      new PrivateAggregation(settings, seed, worker, std::move(noise)));
}

privacy::ClientKeyPair PrivateAggregation::KeyPairOf(uint64_t client_id) const {
  privacy::KeyedStream stream(privacy::DeriveStreamKey(
      "psrec-secagg-client-key", seed_, {static_cast<uint64_t>(round_), client_id}));
  return privacy::ClientKeyPairFrom(stream);
}

Status PrivateAggregation::StartRound(const RoundAggregate& aggregate,
                                      std::span<const RoundParticipant> participants) {
  round_ = aggregate.round;
  dim_ = aggregate.dim;
  clipped_ = 0;
  if (!settings_.secure_aggregation) return Status::OK();
  width_ = aggregate.keys.size() * static_cast<size_t>(dim_ + 1);
  participants_.assign(participants.begin(), participants.end());
  peers_.clear();
  index_of_.clear();
  // Every sampled client posts its public key before training (dropped ones included: they
  // drop out after the key exchange, which is what makes their masks need removing).
  for (const RoundParticipant& p : participants_) {
    index_of_[p.client_id] = peers_.size();
    peers_.push_back({p.client_id, KeyPairOf(p.client_id).public_key});
  }
  masked_sum_.assign(width_, 0);
  return Status::OK();
}

Status PrivateAggregation::TransformClientUpdate(ClientUpdate* update) {
  if (settings_.dp) {
    std::span<float> all(update->deltas);
    const std::span<float> rows[1] = {all};
    if (privacy::ClipUpdate(rows, settings_.clip_norm) < 1) ++clipped_;
  }
  if (!settings_.secure_aggregation) return Status::OK();
  const size_t stride = static_cast<size_t>(dim_ + 1);
  dense_.assign(width_, 0.0f);
  for (size_t s = 0; s < update->rows.size(); ++s) {
    float* out = &dense_[update->rows[s] * stride];
    // The update enters the sum times its weight (1 in rounds; a buffered update's
    // staleness weight <= 1, after clipping, so its norm stays <= S).
    const float* delta = &update->deltas[s * static_cast<size_t>(dim_)];
    const float weight = static_cast<float>(update->weight);
    for (int k = 0; k < dim_; ++k) out[k] = weight == 1.0f ? delta[k] : weight * delta[k];
    out[dim_] = weight;
  }
  update->masked_words.resize(width_);
  RETURN_IF_ERROR(codec_.Encode(dense_, update->masked_words));
  if (participants_.size() >= 2) {
    std::vector<privacy::Peer> others;
    others.reserve(peers_.size() - 1);
    for (const privacy::Peer& p : peers_) {
      if (p.id != update->client_id) others.push_back(p);
    }
    ASSIGN_OR_RETURN(std::vector<privacy::PeerSeed> seeds,
                     privacy::AgreePairSeeds(update->client_id, KeyPairOf(update->client_id),
                                             others, round_));
    RETURN_IF_ERROR(privacy::ApplyMasksWithSeeds(update->client_id, seeds, 0,
                                                 update->masked_words));
  }
  privacy::AddWords(update->masked_words, masked_sum_);
  update->absorbed = true;
  return Status::OK();
}

Result<bool> PrivateAggregation::UnmaskDropouts() {
  std::vector<privacy::Peer> survivors;
  for (const RoundParticipant& p : participants_) {
    if (p.reports) survivors.push_back(peers_[index_of_.at(p.client_id)]);
  }
  const int n = static_cast<int>(participants_.size());
  const int threshold = std::max(2, n / 2 + 1);
  for (size_t i = 0; i < participants_.size(); ++i) {
    const RoundParticipant& dropped = participants_[i];
    if (dropped.reports) continue;
    if (static_cast<int>(survivors.size()) < threshold) return false;
    // The dropped client split its secret key among the participants before training; the
    // first `threshold` survivors hand their shares over.
    privacy::KeyedStream randomness(privacy::DeriveStreamKey(
        "psrec-secagg-shamir", seed_, {static_cast<uint64_t>(round_), dropped.client_id}));
    const privacy::ClientKeyPair pair = KeyPairOf(dropped.client_id);
    ASSIGN_OR_RETURN(std::vector<privacy::ShamirShare> shares,
                     privacy::SplitSecret(pair.secret_key, threshold, n, randomness));
    std::vector<privacy::ShamirShare> handed;
    for (size_t j = 0; j < participants_.size() && static_cast<int>(handed.size()) < threshold;
         ++j) {
      if (participants_[j].reports) handed.push_back(shares[j]);
    }
    ASSIGN_OR_RETURN(privacy::SecretKey rebuilt, privacy::CombineShares(handed, threshold));
    RETURN_IF_ERROR(privacy::RemoveMasksOfDropped(dropped.client_id,
                                                  privacy::KeyPairFromSecret(rebuilt),
                                                  survivors, round_, 0, masked_sum_));
  }
  return true;
}

Status PrivateAggregation::TransformAggregate(RoundAggregate* aggregate) {
  aggregate->clients_clipped = clipped_;
  if (settings_.secure_aggregation) {
    bool usable = aggregate->clients >= 2;
    if (usable) {
      ASSIGN_OR_RETURN(usable, UnmaskDropouts());
    }
    const size_t rows = aggregate->keys.size();
    const size_t dim = static_cast<size_t>(dim_);
    std::fill(aggregate->sums.begin(), aggregate->sums.end(), 0.0);
    std::fill(aggregate->weights.begin(), aggregate->weights.end(), 0.0);
    if (usable) {
      std::vector<double> decoded(width_);
      codec_.Decode(masked_sum_, decoded);
      for (size_t r = 0; r < rows; ++r) {
        std::copy_n(&decoded[r * (dim + 1)], dim, &aggregate->sums[r * dim]);
        aggregate->weights[r] = decoded[r * (dim + 1) + dim];
      }
    } else if (!participants_.empty()) {
      // One reporting client's "sum" is its plain update: discard the group's updates.
      aggregate->groups_abandoned = 1;
      aggregate->clients = 0;
    }
  }
  if (noise_) {
    const size_t dim = static_cast<size_t>(dim_);
    for (size_t r = 0; r < aggregate->keys.size(); ++r) {
      noise_->AddShare({aggregate->round, 0, aggregate->keys[r]}, worker_,
                       std::span<double>(&aggregate->sums[r * dim], dim));
    }
  }
  return Status::OK();
}

}  // namespace psrec::train
