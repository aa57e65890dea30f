// A strict checker of the Prometheus text exposition format 0.0.4, for tests of the metrics
// endpoint (promtool is not packaged for Debian bookworm's psrec build). It rejects what
// Prometheus would reject and what the format's conventions forbid:
//   - metric and label names outside [a-zA-Z_:][a-zA-Z0-9_:]* / [a-zA-Z_][a-zA-Z0-9_]*;
//   - label values with an escape other than \\, \" and \n, or unterminated;
//   - values that are not floats (+Inf, -Inf, NaN allowed), negative counters;
//   - a sample without a # TYPE before it, a second HELP or TYPE for a family, a family
//     whose samples are not contiguous, a duplicate sample (same name and labels);
//   - histograms: a _bucket without le, buckets not in increasing le order or with a count
//     that decreases, no le="+Inf" bucket, or _count different from the +Inf bucket;
//   - text not ending in a newline.
// Returns "" when the page is valid, else the first problem with its line number.
#pragma once

#include <string>

namespace psrec::testing {

std::string CheckPrometheusText(const std::string& text);

}  // namespace psrec::testing
