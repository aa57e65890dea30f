#include "cli/report_svg.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <sstream>

namespace psrec::cli {
namespace {

// Colour-blind-friendly (Okabe-Ito), then greys; cycled when there are more series.
constexpr const char* kPalette[] = {"#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00",
                                    "#56B4E9", "#000000", "#999999"};

std::string Num(double v) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.1f", v);
  return text;
}

bool Finite(const std::pair<double, double>& p) {
  return std::isfinite(p.first) && std::isfinite(p.second);
}

}  // namespace

std::string EscapeXml(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::vector<double> NiceTicks(double lo, double hi, int target) {
  if (!(hi > lo)) {
    const double pad = lo == 0 ? 1 : std::abs(lo) * 0.1;
    lo -= pad;
    hi += pad;
  }
  target = std::max(target, 2);
  const double raw = (hi - lo) / target;
  const double magnitude = std::pow(10, std::floor(std::log10(raw)));
  double step = magnitude;
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    step = m * magnitude;
    if (step >= raw) break;
  }
  std::vector<double> ticks;
  const double first = std::floor(lo / step) * step;
  for (int i = 0; i < 1000; ++i) {
    double t = first + i * step;
    if (std::abs(t) < step * 1e-9) t = 0;  // no "-0" from rounding
    ticks.push_back(t);
    if (t >= hi - step * 1e-9) break;
  }
  return ticks;
}

std::string TickLabel(double value) {
  const double a = std::abs(value);
  char text[32];
  if (a >= 1e9) {
    std::snprintf(text, sizeof(text), "%gG", value / 1e9);
  } else if (a >= 1e6) {
    std::snprintf(text, sizeof(text), "%gM", value / 1e6);
  } else if (a >= 1e4) {
    std::snprintf(text, sizeof(text), "%gk", value / 1e3);
  } else {
    std::snprintf(text, sizeof(text), "%.6g", value);
  }
  return text;
}

std::string RenderLineChartSvg(const LineChart& chart, int width, int height) {
  double x_lo = std::numeric_limits<double>::infinity(), x_hi = -x_lo;
  double y_lo = x_lo, y_hi = -x_lo;
  for (const ChartSeries& s : chart.series) {
    for (const auto& p : s.points) {
      if (!Finite(p)) continue;
      x_lo = std::min(x_lo, p.first);
      x_hi = std::max(x_hi, p.first);
      y_lo = std::min(y_lo, p.second);
      y_hi = std::max(y_hi, p.second);
    }
  }
  std::ostringstream svg;
  svg << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\""
      << height << "\" viewBox=\"0 0 " << width << " " << height
      << "\" font-family=\"sans-serif\" font-size=\"12\" role=\"img\" aria-label=\""
      << EscapeXml(chart.title) << "\">\n";
  svg << "<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n";
  svg << "<text x=\"" << width / 2 << "\" y=\"18\" text-anchor=\"middle\" font-size=\"14\" "
      << "font-weight=\"bold\">" << EscapeXml(chart.title) << "</text>\n";
  if (!std::isfinite(x_lo)) {
    svg << "<text x=\"" << width / 2 << "\" y=\"" << height / 2
        << "\" text-anchor=\"middle\" fill=\"#777\">no data</text>\n</svg>\n";
    return svg.str();
  }
  const std::vector<double> xt = NiceTicks(x_lo, x_hi, 6);
  const std::vector<double> yt = NiceTicks(y_lo, y_hi, 5);
  // Plot area; the legend takes one row of 16 px per series below the x label.
  const double left = 64, right = width - 16, top = 30;
  const double legend_h = 16.0 * chart.series.size();
  const double bottom = height - 44 - legend_h;
  const double x0 = xt.front(), x1 = xt.back(), y0 = yt.front(), y1 = yt.back();
  auto px = [&](double x) { return left + (x - x0) / (x1 - x0) * (right - left); };
  auto py = [&](double y) { return bottom - (y - y0) / (y1 - y0) * (bottom - top); };

  svg << "<g class=\"grid\" stroke=\"#e4e4e4\">\n";
  for (double t : yt) {
    svg << "<line x1=\"" << Num(left) << "\" x2=\"" << Num(right) << "\" y1=\"" << Num(py(t))
        << "\" y2=\"" << Num(py(t)) << "\"/>\n";
  }
  svg << "</g>\n<g class=\"axes\" stroke=\"#333\">\n"
      << "<line x1=\"" << Num(left) << "\" x2=\"" << Num(left) << "\" y1=\"" << Num(top)
      << "\" y2=\"" << Num(bottom) << "\"/>\n"
      << "<line x1=\"" << Num(left) << "\" x2=\"" << Num(right) << "\" y1=\"" << Num(bottom)
      << "\" y2=\"" << Num(bottom) << "\"/>\n</g>\n";
  svg << "<g class=\"xticks\" text-anchor=\"middle\">\n";
  for (double t : xt) {
    svg << "<line x1=\"" << Num(px(t)) << "\" x2=\"" << Num(px(t)) << "\" y1=\"" << Num(bottom)
        << "\" y2=\"" << Num(bottom + 4) << "\" stroke=\"#333\"/><text x=\"" << Num(px(t))
        << "\" y=\"" << Num(bottom + 16) << "\">" << EscapeXml(TickLabel(t)) << "</text>\n";
  }
  svg << "</g>\n<g class=\"yticks\" text-anchor=\"end\">\n";
  for (double t : yt) {
    svg << "<line x1=\"" << Num(left - 4) << "\" x2=\"" << Num(left) << "\" y1=\"" << Num(py(t))
        << "\" y2=\"" << Num(py(t)) << "\" stroke=\"#333\"/><text x=\"" << Num(left - 6)
        << "\" y=\"" << Num(py(t) + 4) << "\">" << EscapeXml(TickLabel(t)) << "</text>\n";
  }
  svg << "</g>\n";
  svg << "<text class=\"xlabel\" x=\"" << Num((left + right) / 2) << "\" y=\""
      << Num(bottom + 32) << "\" text-anchor=\"middle\">" << EscapeXml(chart.x_label)
      << "</text>\n";
  svg << "<text class=\"ylabel\" x=\"14\" y=\"" << Num((top + bottom) / 2)
      << "\" text-anchor=\"middle\" transform=\"rotate(-90 14 " << Num((top + bottom) / 2)
      << ")\">" << EscapeXml(chart.y_label) << "</text>\n";

  for (size_t i = 0; i < chart.series.size(); ++i) {
    const ChartSeries& s = chart.series[i];
    const char* colour = kPalette[i % std::size(kPalette)];
    svg << "<g class=\"series\" data-series=\"" << EscapeXml(s.name) << "\" stroke=\"" << colour
        << "\" fill=\"" << colour << "\">\n<polyline fill=\"none\" stroke-width=\"2\" points=\"";
    for (const auto& p : s.points) {
      if (Finite(p)) svg << Num(px(p.first)) << "," << Num(py(p.second)) << " ";
    }
    svg << "\"/>\n";
    for (const auto& p : s.points) {
      if (Finite(p)) {
        svg << "<circle cx=\"" << Num(px(p.first)) << "\" cy=\"" << Num(py(p.second))
            << "\" r=\"2.5\"/>\n";
      }
    }
    svg << "</g>\n";
    const double ly = bottom + 48 + 16.0 * i;
    svg << "<g class=\"legend\"><line x1=\"" << Num(left) << "\" x2=\"" << Num(left + 20)
        << "\" y1=\"" << Num(ly - 4) << "\" y2=\"" << Num(ly - 4) << "\" stroke=\"" << colour
        << "\" stroke-width=\"3\"/><text x=\"" << Num(left + 26) << "\" y=\"" << Num(ly) << "\">"
        << EscapeXml(s.name) << "</text></g>\n";
  }
  svg << "</svg>\n";
  return svg.str();
}

}  // namespace psrec::cli
