// The RDP accountant of the Poisson-subsampled Gaussian mechanism, and its conversion to
// (epsilon, delta)-differential privacy.
//
// Mechanism: each step includes every record (here: every client) independently with
// probability q, sums their contributions clipped to L2 norm S, and adds N(0, (z S)^2) noise
// to the sum. Its Renyi DP at order alpha is computed as in Mironov, Talwar, Zhang 2019
// ("Renyi Differential Privacy of the Sampled Gaussian Mechanism", arXiv 1908.10530):
// integer orders by the binomial expansion (Sec. 3.3), fractional orders by the two-sided
// series with erfc tails (Sec. 3.4), every sum in log space. RDP composes additively over
// steps. This is the same computation as TensorFlow Privacy's rdp_accountant.py, and its
// published test values hold to 1e-9 (tests/train/privacy/rdp_accountant_test.cc).
//
// Conversion to (epsilon, delta), minimised over the orders:
//   kImproved (the default): epsilon = rdp + log((a-1)/a) - (log(delta) + log(a)) / (a-1),
//     Balle et al. 2020 ("Hypothesis testing interpretations and Renyi DP", arXiv 2004.00010)
//     Prop. 12 as TF Privacy's compute_eps applies it (orders a <= 1.01 skipped; epsilon 0 when
//     delta^2 + expm1(-rdp) >= 0, the KL bound).
//   kClassic: epsilon = rdp - log(delta) / (a - 1) (Mironov 2017, Prop. 3); never smaller.
//
// Thread safety: the free functions are pure; an RdpAccountant is not thread-safe (one per
// aggregator, updated once per round).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "common/status.h"

namespace psrec::train::privacy {

// TF Privacy's default orders: 1 + x/10 for x in 1..99, then 12..63, then 128, 256, 512
// (154 orders). The published epsilons above are attained at integer orders 19 and 13, which
// every TF Privacy order list contains, so they hold for this list and for the older one
// without 128, 256, 512.
std::vector<double> DefaultRdpOrders();

// How fractional orders sum the series of MTZ19 Sec. 3.4, whose binomial coefficients
// binom(alpha, i) turn negative past i = alpha + 1:
//   kExact          subtracts the negative terms (TF Privacy's rdp_accountant.py): A itself,
//                   which a 30-digit quadrature confirms to 11 digits;
//   kAbsoluteTerms  adds their magnitudes (Google's dp_accounting RdpAccountant, whose test
//                   values issue #13 quotes): an upper bound, e.g. 6.70579741e-04 instead of
//                   6.50070897e-04 at order 1.5 for q 0.01, z 2.5, 50 steps. Both are valid
//                   RDP bounds; integer orders are the same under both.
enum class FractionalSeries { kExact, kAbsoluteTerms };

// RDP at `order` of one step. q = 0 gives 0; z = 0 gives +infinity; q = 1 gives
// order / (2 z^2) (the plain Gaussian mechanism).
// REQUIRES (CHECKed): q in [0, 1], z >= 0, order > 1.
double RdpOfOneStep(double q, double noise_multiplier, double order,
                    FractionalSeries series = FractionalSeries::kExact);

// RDP of `steps` compositions at each order: steps * RdpOfOneStep.
std::vector<double> ComputeRdp(double q, double noise_multiplier, int64_t steps,
                               std::span<const double> orders,
                               FractionalSeries series = FractionalSeries::kExact);

enum class EpsilonConversion { kImproved, kClassic };

struct PrivacySpent {
  double epsilon = 0;       // +infinity when no order gives a finite bound
  double optimal_order = 0; // the order attaining the minimum
};

// The smallest epsilon over the orders for the accumulated `rdp` (same length as orders).
// InvalidArgument naming the argument: delta outside (0, 1), lengths differ, an order <= 1,
// a negative RDP.
Result<PrivacySpent> EpsilonFromRdp(std::span<const double> orders, std::span<const double> rdp,
                                    double delta,
                                    EpsilonConversion conversion = EpsilonConversion::kImproved);

// The whole computation for `steps` steps of the mechanism, with validated inputs (errors name
// the quantity: "q must lie in (0, 1]", "noise multiplier z must be >= 0", ...).
Result<PrivacySpent> ComputeEpsilon(double q, double noise_multiplier, int64_t steps,
                                    double delta,
                                    EpsilonConversion conversion = EpsilonConversion::kImproved,
                                    std::span<const double> orders = {});

// A running account for a training job: Compose() once per round (or once for many steps),
// Spent() whenever epsilon is reported. The per-step RDP of the last (q, z) is cached, so a
// round costs one vector addition unless q or z changed (adaptive noise).
//
//   RdpAccountant accountant;
//   RETURN_IF_ERROR(accountant.Compose(q, z, 1));               // after each round
//   ASSIGN_OR_RETURN(PrivacySpent spent, accountant.Spent(delta));
class RdpAccountant {
 public:
  explicit RdpAccountant(std::vector<double> orders = DefaultRdpOrders());

  // Adds `steps` steps of the mechanism at (q, z). InvalidArgument naming the quantity as
  // ComputeEpsilon does; the account is unchanged then.
  Status Compose(double q, double noise_multiplier, int64_t steps);
  Result<PrivacySpent> Spent(double delta,
                             EpsilonConversion conversion = EpsilonConversion::kImproved) const;

  int64_t steps() const { return steps_; }
  std::span<const double> orders() const { return orders_; }
  std::span<const double> rdp() const { return rdp_; }

 private:
  std::vector<double> orders_;
  std::vector<double> rdp_;
  int64_t steps_ = 0;
  double cached_q_ = -1;
  double cached_z_ = -1;
  std::vector<double> cached_step_rdp_;
};

// Steps of `epochs` passes over a population of `population` records sampled `expected_batch`
// at a time (q = expected_batch / population): ceil(epochs * population / expected_batch), in
// exact integer arithmetic (TF Privacy's compute_dp_sgd_privacy convention).
Result<int64_t> StepsForEpochs(double epochs, int64_t population, int64_t expected_batch);

}  // namespace psrec::train::privacy
