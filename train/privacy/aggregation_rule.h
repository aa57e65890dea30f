// How a round's sum of client updates becomes the server's step: divided by the weight of
// the clients that reported (weighted mean, FedAvg), or by a fixed expected weight decided
// before the round (the fixed-denominator estimator of DP-FedAvg, McMahan et al. 2018).
//
// Under DP the divisor must not depend on the data: the number of reporting clients of a
// Poisson sample reveals whether one client took part, so DP-FedAvg divides the noised sum by
// q * N (expected clients, each of weight 1 after clipping), never by the realised count.
// The weighted mean is for runs without DP.
//
// Thread safety: pure functions.
#pragma once

#include "common/status.h"

namespace psrec::train::privacy {

enum class AggregationRule {
  kWeightedMean,       // sum / (sum of reporting clients' weights)
  kFixedDenominator,   // sum / expected_weight (q * population for DP-FedAvg)
};

// The divisor of the round's sum. InvalidArgument when the rule's divisor is not > 0
// (a weighted mean over no weight, a fixed denominator <= 0).
Result<double> AggregateDivisor(AggregationRule rule, double reported_weight,
                                double expected_weight);

}  // namespace psrec::train::privacy
