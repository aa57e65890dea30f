#include "train/privacy/rdp_accountant.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>
#include <utility>

#include "train/privacy/log_space.h"

namespace psrec::train::privacy {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// log A_alpha for integer alpha (MTZ19 Sec. 3.3):
//   A = sum_{i=0}^{alpha} binom(alpha, i) q^i (1-q)^(alpha-i) exp((i^2 - i) / (2 sigma^2)).
double LogAInteger(double q, double sigma, int alpha) {
  double log_a = -kInf;
  double log_q = std::log(q);
  double log_1mq = std::log1p(-q);
  for (int i = 0; i <= alpha; ++i) {
    double log_coef = LogBinomialCoefficient(alpha, i).log_abs + i * log_q + (alpha - i) * log_1mq;
    double s = log_coef + (static_cast<double>(i) * i - i) / (2.0 * sigma * sigma);
    log_a = LogAdd(log_a, s);
  }
  return log_a;
}

// log A_alpha for fractional alpha (MTZ19 Sec. 3.4): two series split at
// z0 = sigma^2 log(1/q - 1) + 1/2, each term weighted by an erfc tail, summed until both
// terms fall below e^-30 relative to 1. Terms of negative binomial coefficients are
// subtracted (in log space), as in TF Privacy (kExact). kAbsoluteTerms adds every term's
// magnitude instead and stops once both terms decrease and lie e^-30 below the running total,
// as Google's dp_accounting RdpAccountant does: never smaller than kExact. Where double precision cannot evaluate the
// series (a noise multiplier so small that exp((i^2 - i) / 2 sigma^2) overflows, or a
// subtraction that rounding would turn negative) the order's RDP is +infinity: conservative,
// and that order then simply never attains the minimum epsilon.
double LogAFractional(double q, double sigma, double alpha, FractionalSeries series) {
  constexpr int kMaxTerms = 1000000;
  double log_a0 = -kInf;
  double log_a1 = -kInf;
  double z0 = sigma * sigma * std::log(1.0 / q - 1.0) + 0.5;
  double log_q = std::log(q);
  double log_1mq = std::log1p(-q);
  double sqrt2_sigma = std::sqrt(2.0) * sigma;
  double last_s0 = -kInf, last_s1 = -kInf;  // kAbsoluteTerms: the previous terms
  for (int i = 0;; ++i) {
    LogBinomial coef = LogBinomialCoefficient(alpha, i);
    double j = alpha - i;
    double log_t0 = coef.log_abs + i * log_q + j * log_1mq;
    double log_t1 = coef.log_abs + j * log_q + i * log_1mq;
    double log_e0 = std::log(0.5) + LogErfc((i - z0) / sqrt2_sigma);
    double log_e1 = std::log(0.5) + LogErfc((z0 - j) / sqrt2_sigma);
    double log_s0 = log_t0 + (static_cast<double>(i) * i - i) / (2.0 * sigma * sigma) + log_e0;
    double log_s1 = log_t1 + (j * j - j) / (2.0 * sigma * sigma) + log_e1;
    if (std::isnan(log_s0) || std::isnan(log_s1) || log_s0 == kInf || log_s1 == kInf) {
      return kInf;
    }
    if (series == FractionalSeries::kAbsoluteTerms) {
      // Every term's magnitude added: an upper bound on A (dp_accounting's convention).
      log_a0 = LogAdd(log_a0, log_s0);
      log_a1 = LogAdd(log_a1, log_s1);
      const double total = LogAdd(log_a0, log_a1);
      const bool decreasing = log_s0 < last_s0 && log_s1 < last_s1;
      last_s0 = log_s0;
      last_s1 = log_s1;
      if (decreasing && std::max(log_s0, log_s1) < total - 30.0) break;
      if (i >= kMaxTerms) return kInf;
      continue;
    }
    if (coef.sign > 0) {
      log_a0 = LogAdd(log_a0, log_s0);
      log_a1 = LogAdd(log_a1, log_s1);
    } else {
      if (log_s0 > log_a0 || log_s1 > log_a1) return kInf;
      log_a0 = LogSub(log_a0, log_s0);
      log_a1 = LogSub(log_a1, log_s1);
    }
    if (std::max(log_s0, log_s1) < -30.0) break;
    if (i >= kMaxTerms) return kInf;
  }
  return LogAdd(log_a0, log_a1);
}

std::string Num(double v) {
  std::ostringstream out;
  out.precision(17);
  out << v;
  return out.str();
}

}  // namespace

std::vector<double> DefaultRdpOrders() {
  std::vector<double> orders;
  for (int x = 1; x < 100; ++x) orders.push_back(1.0 + x / 10.0);
  for (int a = 12; a < 64; ++a) orders.push_back(a);
  for (double a : {128.0, 256.0, 512.0}) orders.push_back(a);
  return orders;
}

double RdpOfOneStep(double q, double noise_multiplier, double order, FractionalSeries series) {
  CHECK(q >= 0.0 && q <= 1.0) << "q = " << q;
  CHECK_GE(noise_multiplier, 0.0);
  CHECK_GT(order, 1.0);
  if (q == 0.0) return 0.0;
  // z = 0, or a z whose square underflows: no noise as far as double precision can tell.
  if (noise_multiplier * noise_multiplier == 0.0) return kInf;
  if (q == 1.0) return order / (2.0 * noise_multiplier * noise_multiplier);
  if (std::isinf(order)) return kInf;
  double log_a = order == std::floor(order) && order < 1e6
                     ? LogAInteger(q, noise_multiplier, static_cast<int>(order))
                     : LogAFractional(q, noise_multiplier, order, series);
  return log_a / (order - 1.0);
}

std::vector<double> ComputeRdp(double q, double noise_multiplier, int64_t steps,
                               std::span<const double> orders, FractionalSeries series) {
  std::vector<double> rdp;
  rdp.reserve(orders.size());
  for (double order : orders) {
    rdp.push_back(RdpOfOneStep(q, noise_multiplier, order, series) *
                  static_cast<double>(steps));
  }
  return rdp;
}

Result<PrivacySpent> EpsilonFromRdp(std::span<const double> orders, std::span<const double> rdp,
                                    double delta, EpsilonConversion conversion) {
  if (!(delta > 0.0 && delta < 1.0)) {
    return Status::InvalidArgument("delta must lie in (0, 1), got " + Num(delta));
  }
  if (orders.size() != rdp.size() || orders.empty()) {
    return Status::InvalidArgument("orders and rdp must be non-empty and of one length, got " +
                                   std::to_string(orders.size()) + " and " +
                                   std::to_string(rdp.size()));
  }
  PrivacySpent best{kInf, orders[0]};
  for (size_t k = 0; k < orders.size(); ++k) {
    double a = orders[k];
    double r = rdp[k];
    if (!(a > 1.0)) return Status::InvalidArgument("RDP orders must be > 1, got " + Num(a));
    if (!(r >= 0.0)) return Status::InvalidArgument("RDP values must be >= 0, got " + Num(r));
    double eps;
    if (conversion == EpsilonConversion::kClassic) {
      eps = r - std::log(delta) / (a - 1.0);
    } else if (delta * delta + std::expm1(-r) >= 0.0) {
      eps = 0.0;  // delta >= sqrt(1 - exp(-KL)) already: the KL bound (Pinsker-type) suffices.
    } else if (a > 1.01) {
      // Unstable as a -> 1, and never the minimiser there.
      eps = r + std::log1p(-1.0 / a) - std::log(delta * a) / (a - 1.0);
    } else {
      eps = kInf;
    }
    // The first minimum wins ties, as numpy's argmin does.
    if (eps < best.epsilon) best = {eps, a};
  }
  best.epsilon = std::max(0.0, best.epsilon);
  return best;
}

namespace {

Status CheckMechanism(double q, double noise_multiplier, int64_t steps) {
  if (!(q > 0.0 && q <= 1.0)) {
    return Status::InvalidArgument("sampling rate q must lie in (0, 1], got " + Num(q));
  }
  if (!(noise_multiplier >= 0.0) || std::isinf(noise_multiplier)) {
    return Status::InvalidArgument("noise multiplier z must be a finite number >= 0, got " +
                                   Num(noise_multiplier));
  }
  if (steps < 0) {
    return Status::InvalidArgument("steps must be >= 0, got " + std::to_string(steps));
  }
  return Status::OK();
}

}  // namespace

RdpAccountant::RdpAccountant(std::vector<double> orders)
    : orders_(std::move(orders)), rdp_(orders_.size(), 0.0) {
  for (double order : orders_) CHECK_GT(order, 1.0) << "RDP orders must be > 1";
}

Status RdpAccountant::Compose(double q, double noise_multiplier, int64_t steps) {
  RETURN_IF_ERROR(CheckMechanism(q, noise_multiplier, steps));
  if (q != cached_q_ || noise_multiplier != cached_z_) {
    cached_step_rdp_ = ComputeRdp(q, noise_multiplier, 1, orders_);
    cached_q_ = q;
    cached_z_ = noise_multiplier;
  }
  for (size_t k = 0; k < rdp_.size(); ++k) {
    rdp_[k] += cached_step_rdp_[k] * static_cast<double>(steps);
  }
  steps_ += steps;
  return Status::OK();
}

Result<PrivacySpent> RdpAccountant::Spent(double delta, EpsilonConversion conversion) const {
  return EpsilonFromRdp(orders_, rdp_, delta, conversion);
}

Result<PrivacySpent> ComputeEpsilon(double q, double noise_multiplier, int64_t steps,
                                    double delta, EpsilonConversion conversion,
                                    std::span<const double> orders) {
  RETURN_IF_ERROR(CheckMechanism(q, noise_multiplier, steps));
  std::vector<double> defaults;
  if (orders.empty()) {
    defaults = DefaultRdpOrders();
    orders = defaults;
  }
  std::vector<double> rdp = ComputeRdp(q, noise_multiplier, steps, orders);
  return EpsilonFromRdp(orders, rdp, delta, conversion);
}

Result<int64_t> StepsForEpochs(double epochs, int64_t population, int64_t expected_batch) {
  if (!(epochs > 0.0) || std::isinf(epochs)) {
    return Status::InvalidArgument("epochs must be a finite number > 0, got " + Num(epochs));
  }
  if (population < 1 || expected_batch < 1 || expected_batch > population) {
    return Status::InvalidArgument("need 1 <= batch <= population, got batch " +
                                   std::to_string(expected_batch) + " of population " +
                                   std::to_string(population));
  }
  return static_cast<int64_t>(std::ceil(epochs * static_cast<double>(population) /
                                        static_cast<double>(expected_batch)));
}

}  // namespace psrec::train::privacy
