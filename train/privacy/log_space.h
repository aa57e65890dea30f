// Log-space arithmetic for the RDP accountant: sums and differences of numbers held as their
// logarithms, and log(erfc(x)) that stays finite where erfc(x) underflows. The accountant's
// terms span hundreds of orders of magnitude (exp(i^2 / 2 z^2) against q^i), so every sum is
// done on logarithms. -infinity stands for log(0).
//
// Thread safety: pure functions.
#pragma once

namespace psrec::train::privacy {

// log(exp(log_x) + exp(log_y)).
double LogAdd(double log_x, double log_y);

// log(exp(log_x) - exp(log_y)). REQUIRES: log_x >= log_y (a negative result is a bug).
double LogSub(double log_x, double log_y);

// log(erfc(x)), accurate for every finite x (an asymptotic series past x = 25).
double LogErfc(double x);

// log|binomial(alpha, i)| and its sign, for real alpha >= 0 and integer i >= 0
// (generalized binomial coefficient Gamma(alpha+1) / (Gamma(i+1) Gamma(alpha-i+1))).
struct LogBinomial {
  double log_abs;
  int sign;  // +1, -1, or 0 when the coefficient is exactly zero (integer alpha, i > alpha)
};
LogBinomial LogBinomialCoefficient(double alpha, int i);

}  // namespace psrec::train::privacy
