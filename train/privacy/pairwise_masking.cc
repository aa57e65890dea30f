#include "train/privacy/pairwise_masking.h"

#include <algorithm>
#include <vector>

#include <sodium.h>

#include "train/privacy/sodium_init.h"

namespace psrec::train::privacy {

namespace {

// Words of the pair's mask stream; both pair members generate the same words.
void PairStream(const StreamKey& seed, uint64_t first_coordinate, std::span<uint64_t> out) {
  KeyedStream(seed, /*nonce=*/0).WordsAt(first_coordinate, out);
}

// + the stream when the peer's id is above mine, - below.
void ApplyOnePair(const StreamKey& seed, bool add, uint64_t first_coordinate,
                  std::span<uint64_t> words, std::vector<uint64_t>& scratch) {
  scratch.resize(words.size());
  PairStream(seed, first_coordinate, scratch);
  if (add) {
    for (size_t k = 0; k < words.size(); ++k) words[k] += scratch[k];
  } else {
    for (size_t k = 0; k < words.size(); ++k) words[k] -= scratch[k];
  }
}

}  // namespace

ClientKeyPair KeyPairFromSecret(const SecretKey& secret) {
  EnsureSodium();
  ClientKeyPair pair;
  pair.secret_key = secret;
  crypto_scalarmult_base(pair.public_key.data(), pair.secret_key.data());
  return pair;
}

ClientKeyPair RandomClientKeyPair() {
  EnsureSodium();
  SecretKey secret;
  randombytes_buf(secret.data(), secret.size());
  return KeyPairFromSecret(secret);
}

ClientKeyPair ClientKeyPairFrom(KeyedStream& stream) {
  SecretKey secret;
  stream.NextBytes(secret);
  return KeyPairFromSecret(secret);
}

Result<StreamKey> AgreePairSeed(uint64_t my_id, const ClientKeyPair& mine, uint64_t peer_id,
                                const PublicKey& peer_public, int64_t round) {
  EnsureSodium();
  if (my_id == peer_id) {
    return Status::InvalidArgument("secure aggregation: client " + std::to_string(my_id) +
                                   " cannot pair with itself");
  }
  std::array<uint8_t, 32> shared;
  if (crypto_scalarmult(shared.data(), mine.secret_key.data(), peer_public.data()) != 0) {
    return Status::InvalidArgument("secure aggregation: client " + std::to_string(peer_id) +
                                   "'s public key is a low-order point");
  }
  // Hash the shared secret with both public keys in id order (the libsodium crypto_kx
  // construction) and the round.
  const PublicKey& low = my_id < peer_id ? mine.public_key : peer_public;
  const PublicKey& high = my_id < peer_id ? peer_public : mine.public_key;
  std::array<uint8_t, 96> material;
  std::copy(shared.begin(), shared.end(), material.begin());
  std::copy(low.begin(), low.end(), material.begin() + 32);
  std::copy(high.begin(), high.end(), material.begin() + 64);
  StreamKey seed = DeriveStreamKey("psrec-secagg-pair", material,
                                   {std::min(my_id, peer_id), std::max(my_id, peer_id),
                                    static_cast<uint64_t>(round)});
  sodium_memzero(shared.data(), shared.size());
  sodium_memzero(material.data(), material.size());
  return seed;
}

Result<std::vector<PeerSeed>> AgreePairSeeds(uint64_t my_id, const ClientKeyPair& mine,
                                             std::span<const Peer> peers, int64_t round) {
  std::vector<PeerSeed> seeds;
  seeds.reserve(peers.size());
  for (const Peer& peer : peers) {
    ASSIGN_OR_RETURN(StreamKey seed, AgreePairSeed(my_id, mine, peer.id, peer.public_key, round));
    seeds.push_back({peer.id, seed});
  }
  return seeds;
}

Status ApplyMasksWithSeeds(uint64_t my_id, std::span<const PeerSeed> seeds,
                           uint64_t first_coordinate, std::span<uint64_t> words) {
  if (seeds.empty()) {
    return Status::InvalidArgument("secure aggregation needs at least 2 clients per round: "
                                   "client " + std::to_string(my_id) + " has no peer to mask "
                                   "with, so its update would reach the servers in the clear");
  }
  std::vector<uint64_t> scratch;
  for (const PeerSeed& peer : seeds) {
    if (peer.id == my_id) {
      return Status::InvalidArgument("secure aggregation: client " + std::to_string(my_id) +
                                     " cannot pair with itself");
    }
    ApplyOnePair(peer.seed, /*add=*/peer.id > my_id, first_coordinate, words, scratch);
  }
  return Status::OK();
}

Status ApplyPairwiseMasks(uint64_t my_id, const ClientKeyPair& mine,
                          std::span<const Peer> peers, int64_t round, uint64_t first_coordinate,
                          std::span<uint64_t> words) {
  ASSIGN_OR_RETURN(std::vector<PeerSeed> seeds, AgreePairSeeds(my_id, mine, peers, round));
  return ApplyMasksWithSeeds(my_id, seeds, first_coordinate, words);
}

Status RemoveMasksOfDropped(uint64_t dropped_id, const ClientKeyPair& dropped,
                            std::span<const Peer> survivors, int64_t round,
                            uint64_t first_coordinate, std::span<uint64_t> sum) {
  if (survivors.size() < 2) {
    return Status::InvalidArgument(
        "secure aggregation: " + std::to_string(survivors.size()) +
        " client(s) reported; unmasking would reveal a single client's update, so the round "
        "must be abandoned");
  }
  std::vector<uint64_t> scratch;
  for (const Peer& survivor : survivors) {
    ASSIGN_OR_RETURN(StreamKey seed, AgreePairSeed(dropped_id, dropped, survivor.id,
                                                   survivor.public_key, round));
    // The survivor added the stream when dropped_id > survivor.id: subtract it then, and
    // add it back when the survivor subtracted it.
    ApplyOnePair(seed, /*add=*/dropped_id < survivor.id, first_coordinate, sum, scratch);
  }
  return Status::OK();
}

}  // namespace psrec::train::privacy
