// Secure aggregation by pairwise masking (Bonawitz et al. 2017, "Practical secure aggregation
// for privacy-preserving machine learning", the one-mask variant): every pair (i, j) of a
// round's participants agrees a seed by X25519 Diffie-Hellman on their public keys; client i
// adds the seed's ChaCha20 stream to its fixed-point update for every peer j > i and
// subtracts it for every j < i (ids compared as integers). Over all participants each mask
// appears once with + and once with -, so the servers' sum of masked updates equals the sum
// of the plain encodings exactly (mod 2^64), while one masked update alone is uniformly
// distributed: its words carry no information about the plain update to whoever lacks a
// peer's secret key.
//
// Masked vectors are dense: every participant masks the same coordinates (the whole federated
// parameter vector, or the same shard of it: coordinate p of the vector uses word p of each
// pair's stream, so each server range can be masked and summed separately). A client that
// sends only the rows it touched cannot be masked this way.
//
// Dropouts: a client that never reports leaves its peers' masks for it in the sum; they are
// removed by RemoveMasksOfDropped from the dropped client's secret key, reconstructed from
// t-of-n Shamir shares held by the survivors (shamir_sharing.h). Without Bonawitz's second
// (self) mask, a client that reports after its key was reconstructed would be exposed, so a
// dropout is final for its round. Costs: each client derives n-1 seeds and expands n-1
// streams over the vector, O(n L) per client and O(n^2 L) per round in simulation.
//
// Thread safety: values and pure functions; distinct instances may be used concurrently.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "common/status.h"
#include "train/privacy/keyed_stream.h"

namespace psrec::train::privacy {

using PublicKey = std::array<uint8_t, 32>;
using SecretKey = std::array<uint8_t, 32>;

struct ClientKeyPair {
  PublicKey public_key;
  SecretKey secret_key;
};

// A fresh key pair from the OS CSPRNG, or a reproducible one for simulation (the secret key
// drawn from `stream`).
ClientKeyPair RandomClientKeyPair();
ClientKeyPair ClientKeyPairFrom(KeyedStream& stream);
// The pair of a known secret key (its public key recomputed), e.g. one rebuilt from shares.
ClientKeyPair KeyPairFromSecret(const SecretKey& secret);

// The pair seed of two clients for one round: BLAKE2b of the X25519 shared secret, both
// public keys (in id order) and the round, so seeds differ across rounds with the same keys.
// Both sides compute the same seed. InvalidArgument when the peer's public key is a
// low-order point (the shared secret would be all zeros) or the ids are equal.
Result<StreamKey> AgreePairSeed(uint64_t my_id, const ClientKeyPair& mine, uint64_t peer_id,
                                const PublicKey& peer_public, int64_t round);

struct Peer {
  uint64_t id;
  PublicKey public_key;
};

// A peer's pair seed for one round, agreed once and reused for every shard of the vector
// (X25519 costs tens of microseconds; a round of n clients needs n (n - 1) / 2 of them).
struct PeerSeed {
  uint64_t id;
  StreamKey seed;
};
Result<std::vector<PeerSeed>> AgreePairSeeds(uint64_t my_id, const ClientKeyPair& mine,
                                             std::span<const Peer> peers, int64_t round);

// ApplyPairwiseMasks with seeds agreed beforehand; same errors for an empty `seeds`.
Status ApplyMasksWithSeeds(uint64_t my_id, std::span<const PeerSeed> seeds,
                           uint64_t first_coordinate, std::span<uint64_t> words);

// Masks one client's encoded update, words [first_coordinate, first_coordinate + size) of
// the vector, in place: + stream(seed(i, j)) for peers j with id > my_id, - for id < my_id.
// `peers` lists the round's other participants (my_id excluded). InvalidArgument when there
// are none (secure aggregation needs at least 2 clients per round) or a seed cannot be agreed.
Status ApplyPairwiseMasks(uint64_t my_id, const ClientKeyPair& mine,
                          std::span<const Peer> peers, int64_t round, uint64_t first_coordinate,
                          std::span<uint64_t> words);

// Server side, after dropouts: `dropped`'s secret key was reconstructed; each survivor
// applied +-stream(seed(survivor, dropped)) for it. Subtracts exactly those from `sum`.
// InvalidArgument with fewer than 2 survivors: the sum would be one client's plain update, so
// the round must be abandoned (and counted) instead.
Status RemoveMasksOfDropped(uint64_t dropped_id, const ClientKeyPair& dropped,
                            std::span<const Peer> survivors, int64_t round,
                            uint64_t first_coordinate, std::span<uint64_t> sum);

}  // namespace psrec::train::privacy
