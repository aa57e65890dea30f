#include "train/privacy/aggregation_rule.h"

#include <cmath>
#include <sstream>

namespace psrec::train::privacy {

Result<double> AggregateDivisor(AggregationRule rule, double reported_weight,
                                double expected_weight) {
  double divisor =
      rule == AggregationRule::kWeightedMean ? reported_weight : expected_weight;
  if (!(divisor > 0.0) || std::isinf(divisor)) {
    std::ostringstream msg;
    msg << (rule == AggregationRule::kWeightedMean
                ? "weighted mean: the reporting clients' weight must be > 0, got "
                : "fixed denominator: the expected weight (q * population) must be > 0, got ")
        << divisor;
    return Status::InvalidArgument(msg.str());
  }
  return divisor;
}

}  // namespace psrec::train::privacy
