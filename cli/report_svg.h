// Line charts as inline SVG for `psrec report`: no script, no external font or stylesheet, so
// the page renders the same offline in any browser. A chart has a title, labelled axes with
// "nice" ticks (1, 2 or 5 times a power of ten), one polyline with point markers per series
// and a legend. Points with a non-finite coordinate are left out; a series with one point is
// drawn as a marker alone.
//
// Every text (titles, labels, series names) is XML-escaped here; callers pass plain text.
// Pure functions; thread-safe.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace psrec::cli {

struct ChartSeries {
  std::string name;
  std::vector<std::pair<double, double>> points;  // (x, y)
};

struct LineChart {
  std::string title;
  std::string x_label;
  std::string y_label;
  std::vector<ChartSeries> series;
};

// `text` with &, <, >, " and ' replaced by entities (valid in element text and attributes).
std::string EscapeXml(const std::string& text);

// Up to about `target` evenly spaced round values covering [lo, hi] (lo <= hi; equal ends
// are widened). The first tick is <= lo and the last >= hi.
std::vector<double> NiceTicks(double lo, double hi, int target);

// A tick value as short text: "0.5", "1.2k", "3M", "0.0012".
std::string TickLabel(double value);

// The chart as one <svg> element, `width` x `height` CSS pixels. Series colours come from a
// fixed palette in order. A chart without any finite point says "no data".
std::string RenderLineChartSvg(const LineChart& chart, int width, int height);

}  // namespace psrec::cli
