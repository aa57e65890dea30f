// Simulated client compute time (training.federated.client_compute) and FedBuff's staleness
// weight: pure functions of (seed, client id), so every worker and every rerun agree.
//
// A client's local training takes local_epochs x examples x slowdown units of virtual time
// (one unit: one local example step on a nominal device). The slowdown is a property of the
// client's device, fixed for the run: exp(speed_spread x N(0, 1)), times straggler_slowdown
// for a straggler_fraction of clients. Virtual time is what a synchronous round waits for
// (its slowest reporting client) and what orders a buffered schedule's arrivals; it is not
// the simulation's wall time.
//
// Thread safety: pure functions.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <numbers>

#include "common/proto/config.pb.h"
#include "train/client_sampler.h"

namespace psrec::train {

// The client's device slowdown (>= 0; 1 when client_compute is unset).
inline double ClientSlowdown(uint64_t seed, uint64_t client,
                             const config::ClientCompute& compute) {
  // round -1: a device property, the same in every round.
  double slowdown = 1;
  if (compute.speed_spread() > 0) {
    // Box-Muller on two independent uniforms; 1 - u keeps the logarithm finite.
    const double u = 1.0 - ClientUniform(seed, -1, client, kSpeedStream);
    const double v = ClientUniform(seed, -1, client, kSpeedAngleStream);
    const double normal = std::sqrt(-2.0 * std::log(u)) * std::cos(2.0 * std::numbers::pi * v);
    slowdown = std::exp(compute.speed_spread() * normal);
  }
  if (compute.straggler_fraction() > 0 &&
      ClientUniform(seed, -1, client, kStragglerStream) < compute.straggler_fraction()) {
    slowdown *= compute.straggler_slowdown();
  }
  return slowdown;
}

// Virtual time of one client's local training.
inline double ClientComputeTime(uint64_t seed, uint64_t client, size_t examples,
                                int local_epochs, const config::ClientCompute& compute) {
  return static_cast<double>(local_epochs) * static_cast<double>(examples) *
         ClientSlowdown(seed, client, compute);
}

// The weight of an update `staleness` server steps old: (1 + staleness)^-exponent
// (FedBuff's polynomial staleness scaling; exponent 0 weighs every update 1).
inline double StalenessWeight(int64_t staleness, double exponent) {
  if (exponent == 0) return 1;
  return std::pow(1.0 + static_cast<double>(staleness), -exponent);
}

}  // namespace psrec::train
