// ClientUpdate, RoundAggregate, ClientUpdateTransform: the seams of a federated round
// (train/federated_round.h) where privacy steps go.
//
//   client c trains locally  ->  ClientUpdate (its item-row deltas; never leaves the client
//                                 in this form once a transform masks it)
//                            ->  ClientUpdateTransform::TransformClientUpdate (e.g. clip the
//                                 whole update to L2 norm S, add a secure-aggregation mask)
//   worker sums its clients  ->  RoundAggregate (per-row sums and client counts)
//                            ->  ClientUpdateTransform::TransformAggregate (e.g. Gaussian
//                                 noise, this worker's share of z*S)
//   then the round's aggregation rule scales the sums and the worker pushes them.
//
// With no transform the round is plain FedAvg. A transform sees only what it is handed:
// one client's update, or the worker's sum.
//
// Thread safety: a transform is called from the trainer's thread only.
// Ownership: the round owns the update and aggregate objects; a transform may change their
// values in place but not their keys.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "common/status.h"

namespace psrec::train {

// One client's update for one round: the change of each item row it trained on.
struct ClientUpdate {
  int64_t round = 0;       // 0-based
  uint64_t client_id = 0;  // the user id; stays on the worker (never sent)
  // The worker-dense ids of the items it trained on, and dim floats of delta per item
  // (items.size() * dim floats, in the same order).
  std::vector<uint32_t> items;
  std::vector<float> deltas;
  int dim = 0;
  // The client's weight: its deltas enter the sum times this, and it adds this to each of
  // its rows' weights (WEIGHTED_MEAN). 1 in rounds; a buffered update's staleness weight.
  double weight = 1;
  size_t ratings = 0;  // the client's local examples (not sent)
  // The round aggregate's row of each item (RoundAggregate::keys index), for transforms that
  // lay the update out densely.
  std::vector<uint32_t> rows;
  // Set by a transform that took the update into its own aggregation (secure aggregation):
  // the round then adds nothing from `deltas`, and what the client sent its aggregation
  // point is `masked_words` (fixed point, masked; counted as the client's upload).
  bool absorbed = false;
  std::vector<uint64_t> masked_words;
};

// A client sampled in a round on this worker, and whether it reports (a dropped one does
// not, but took part in the key exchange before dropping out).
struct RoundParticipant {
  uint64_t client_id = 0;
  bool reports = true;
};

// The worker's sum of its reporting clients' updates in one round, per row of the round's
// item set: sums (rows * dim floats, accumulated in double) and the summed client weights.
struct RoundAggregate {
  int64_t round = 0;
  int dim = 0;
  std::vector<uint64_t> keys;    // the item row keys; row r of sums is keys[r]
  std::vector<double> sums;      // rows * dim
  std::vector<double> weights;   // per row: summed weights of the clients that sent it
  int64_t clients = 0;           // clients whose updates are in the sums
  // Set by transforms: clients whose update was scaled down by clipping; secure-aggregation
  // groups abandoned (fewer than 2 reporting clients, or too few survivors to unmask).
  int64_t clients_clipped = 0;
  int64_t groups_abandoned = 0;
};

class ClientUpdateTransform {
 public:
  virtual ~ClientUpdateTransform() = default;
  // Called once per round on every worker before any client trains, with the aggregate's
  // rows laid out (keys set, sums zero) and the round's sampled clients on this worker.
  virtual Status StartRound(const RoundAggregate& aggregate,
                            std::span<const RoundParticipant> participants) = 0;
  // Called once per reporting client, before its update is added to the aggregate.
  virtual Status TransformClientUpdate(ClientUpdate* update) = 0;
  // Called once per round on every worker (also one with no reporting client), before the
  // aggregation rule scales the sums.
  virtual Status TransformAggregate(RoundAggregate* aggregate) = 0;
};

}  // namespace psrec::train
