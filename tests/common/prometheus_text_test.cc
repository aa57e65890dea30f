// common/prometheus_text (the writer) against tests/common/prometheus_check (the strict
// checker), and the checker against pages it must refuse.
#include "common/prometheus_text.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/common/prometheus_check.h"

namespace psrec {
namespace {

using ::psrec::testing::CheckPrometheusText;
using ::testing::HasSubstr;

TEST(PrometheusTextTest, WritesHelpAndTypeOncePerFamilyAndEscapesLabels) {
  PrometheusText page;
  page.Counter("psrec_x_total", "a \\ help\nline", 3, {{"table", "we\"ird\\\nname"}});
  page.Counter("psrec_x_total", "a \\ help\nline", 4, {{"table", "item"}});
  page.Gauge("psrec_y", "a gauge", 0.25);
  EXPECT_EQ(page.text(),
            "# HELP psrec_x_total a \\\\ help\\nline\n"
            "# TYPE psrec_x_total counter\n"
            "psrec_x_total{table=\"we\\\"ird\\\\\\nname\"} 3\n"
            "psrec_x_total{table=\"item\"} 4\n"
            "# HELP psrec_y a gauge\n"
            "# TYPE psrec_y gauge\n"
            "psrec_y 0.25\n");
  EXPECT_EQ(CheckPrometheusText(page.text()), "");
}

TEST(PrometheusTextTest, HistogramBucketsAreCumulativeAndEndInInf) {
  PrometheusText page;
  page.Histogram("psrec_h_seconds", "h", {0.001, 0.01}, {2, 0, 5}, 1.5, {{"type", "pull"}});
  EXPECT_THAT(page.text(), HasSubstr("psrec_h_seconds_bucket{type=\"pull\",le=\"0.001\"} 2\n"
                                     "psrec_h_seconds_bucket{type=\"pull\",le=\"0.01\"} 2\n"
                                     "psrec_h_seconds_bucket{type=\"pull\",le=\"+Inf\"} 7\n"
                                     "psrec_h_seconds_sum{type=\"pull\"} 1.5\n"
                                     "psrec_h_seconds_count{type=\"pull\"} 7\n"));
  EXPECT_EQ(CheckPrometheusText(page.text()), "");
  EXPECT_EQ(PrometheusNumber(1e-5), "1e-05");
  EXPECT_EQ(PrometheusNumber(12345678), "12345678");
}

TEST(PrometheusCheckTest, RefusesWhatTheFormatForbids) {
  const std::string type = "# TYPE m counter\n";
  EXPECT_THAT(CheckPrometheusText("m 1\n"), HasSubstr("no TYPE"));
  EXPECT_THAT(CheckPrometheusText(type + "m 1"), HasSubstr("newline"));
  EXPECT_THAT(CheckPrometheusText(type + "m -1\n"), HasSubstr("negative counter"));
  EXPECT_THAT(CheckPrometheusText(type + "m one\n"), HasSubstr("bad value"));
  EXPECT_THAT(CheckPrometheusText(type + "m{a=\"x\\t\"} 1\n"), HasSubstr("bad escape"));
  EXPECT_THAT(CheckPrometheusText(type + "m{a=\"x} 1\n"), HasSubstr("unterminated"));
  EXPECT_THAT(CheckPrometheusText(type + "m{1a=\"x\"} 1\n"), HasSubstr("bad label name"));
  EXPECT_THAT(CheckPrometheusText("# TYPE 1m counter\n"), HasSubstr("bad metric name"));
  EXPECT_THAT(CheckPrometheusText(type + type), HasSubstr("second TYPE"));
  EXPECT_THAT(CheckPrometheusText(type + "m 1\nm 2\n"), HasSubstr("duplicate"));
  EXPECT_THAT(CheckPrometheusText(type + "# TYPE n gauge\nm{a=\"1\"} 1\nn 1\nm{a=\"2\"} 1\n"),
              HasSubstr("not contiguous"));
  const std::string h = "# TYPE h histogram\n";
  EXPECT_THAT(CheckPrometheusText(h + "h_bucket{le=\"1\"} 2\nh_bucket{le=\"2\"} 1\n"),
              HasSubstr("decreases"));
  EXPECT_THAT(CheckPrometheusText(h + "h_bucket{le=\"1\"} 2\nh_count 2\n"),
              HasSubstr("+Inf"));
  EXPECT_THAT(CheckPrometheusText(h + "h_bucket{le=\"+Inf\"} 2\nh_count 3\n"),
              HasSubstr("_count differs"));
  EXPECT_THAT(CheckPrometheusText(h + "h_bucket{le=\"2\"} 1\nh_bucket{le=\"1\"} 1\n"),
              HasSubstr("le not increasing"));
  EXPECT_EQ(CheckPrometheusText(h + "h_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\n"
                                    "h_sum 3.5\nh_count 2\n"),
            "");
}

}  // namespace
}  // namespace psrec
