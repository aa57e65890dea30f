#include "train/privacy/log_space.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <glog/logging.h>

namespace psrec::train::privacy {

namespace {
constexpr double kNegInf = -std::numeric_limits<double>::infinity();
}  // namespace

double LogAdd(double log_x, double log_y) {
  double a = std::min(log_x, log_y);
  double b = std::max(log_x, log_y);
  if (a == kNegInf) return b;
  return std::log1p(std::exp(a - b)) + b;
}

double LogSub(double log_x, double log_y) {
  CHECK(log_x >= log_y) << "LogSub: the result would be negative (" << log_x << " < " << log_y
                        << ")";
  if (log_y == kNegInf) return log_x;
  if (log_x == log_y) return kNegInf;
  double d = log_x - log_y;
  // expm1 overflows past ~709; log(expm1(d)) + log_y is then log_x to double precision.
  if (d > 700.0) return log_x;
  return std::log(std::expm1(d)) + log_y;
}

double LogErfc(double x) {
  if (x < 25.0) return std::log(std::erfc(x));
  // erfc(x) ~ exp(-x^2 - 1/(2x^2) + 5/(8x^4) - 37/(24x^6) + 353/(64x^8)) / (x sqrt(pi)),
  // the Laurent series of log(erfc) at infinity; its error at x = 25 is below 1e-16.
  double x2 = x * x;
  double inv2 = 1.0 / x2;
  return -0.5 * std::log(M_PI) - std::log(x) - x2 - 0.5 * inv2 + 0.625 * inv2 * inv2 -
         37.0 / 24.0 * inv2 * inv2 * inv2 + 353.0 / 64.0 * inv2 * inv2 * inv2 * inv2;
}

LogBinomial LogBinomialCoefficient(double alpha, int i) {
  CHECK_GE(i, 0);
  CHECK_GE(alpha, 0.0);
  // Gamma(alpha - i + 1) has poles at non-positive integers: for integer alpha the
  // coefficient is then exactly zero.
  double tail = alpha - i + 1.0;
  if (tail <= 0.0 && tail == std::floor(tail)) return {kNegInf, 0};
  // The sign of Gamma(t) for t < 0 alternates between poles: negative on (-1, 0), positive on
  // (-2, -1), ... std::lgamma returns log|Gamma| only, so the sign is worked out here.
  int sign = 1;
  if (tail < 0.0 && static_cast<long long>(std::floor(tail)) % 2 != 0) sign = -1;
  double log_abs = std::lgamma(alpha + 1.0) - std::lgamma(i + 1.0) - std::lgamma(tail);
  return {log_abs, sign};
}

}  // namespace psrec::train::privacy
