// cli/report_svg and cli/report_page: the charts and the page of `psrec report`.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "cli/report_page.h"
#include "cli/report_svg.h"

namespace psrec::cli {
namespace {

namespace fs = std::filesystem;

// data-series="NAME", the attribute that names a chart's series.
std::string SeriesAttr(const std::string& name) {
  std::string attr = "data-series=\"";
  attr.append(name).append("\"");
  return attr;
}

size_t Count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST(ReportSvgTest, EscapesEveryMarkupCharacter) {
  EXPECT_EQ(EscapeXml("a<b>&\"c\"'d'"), "a&lt;b&gt;&amp;&quot;c&quot;&#39;d&#39;");
  EXPECT_EQ(EscapeXml("plain"), "plain");
}

TEST(ReportSvgTest, TicksAreRoundAndCoverTheRange) {
  std::vector<double> t = NiceTicks(0.81, 0.883, 5);
  ASSERT_GE(t.size(), 3u);
  EXPECT_LE(t.front(), 0.81);
  EXPECT_GE(t.back(), 0.883);
  EXPECT_NEAR(t[1] - t[0], 0.02, 1e-12);
  std::vector<double> flat = NiceTicks(5, 5, 5);  // one value: widened
  EXPECT_LT(flat.front(), 5);
  EXPECT_GT(flat.back(), 5);
  EXPECT_EQ(TickLabel(2500000), "2.5M");
  EXPECT_EQ(TickLabel(0.25), "0.25");
  EXPECT_EQ(TickLabel(20000), "20k");
}

TEST(ReportSvgTest, ChartHasEverySeriesAxesTicksAndLegend) {
  LineChart chart{"RMSE <train & test>", "epoch", "RMSE",
                  {{"train_rmse", {{1, 0.9}, {2, 0.85}, {3, 0.8}}},
                   {"test_rmse", {{1, 0.95}, {2, 0.9}, {3, std::nan("")}}}}};
  const std::string svg = RenderLineChartSvg(chart, 400, 300);
  EXPECT_EQ(svg.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\"", 0), 0u);
  EXPECT_NE(svg.find("RMSE &lt;train &amp; test&gt;"), std::string::npos);
  EXPECT_EQ(svg.find("<train"), std::string::npos);
  EXPECT_NE(svg.find("data-series=\"train_rmse\""), std::string::npos);
  EXPECT_NE(svg.find("data-series=\"test_rmse\""), std::string::npos);
  EXPECT_EQ(Count(svg, "<circle"), 5u);  // the NaN point is left out
  EXPECT_EQ(Count(svg, "<polyline"), 2u);
  EXPECT_NE(svg.find(">epoch</text>"), std::string::npos);
  EXPECT_NE(svg.find(">0.8</text>"), std::string::npos);   // a y tick
  EXPECT_NE(svg.find(">2</text>"), std::string::npos);     // an x tick
  EXPECT_NE(svg.find("class=\"legend\""), std::string::npos);
  EXPECT_EQ(Count(svg, "<svg"), 1u);
  EXPECT_EQ(Count(svg, "</svg>"), 1u);
}

TEST(ReportSvgTest, ChartWithoutPointsSaysNoData) {
  LineChart chart{"empty", "x", "y", {{"s", {{std::nan(""), 1}}}}};
  EXPECT_NE(RenderLineChartSvg(chart, 300, 200).find("no data"), std::string::npos);
}

class ReportPageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("psrec_report_" + std::to_string(::getpid()) + "_" +
                                         ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(root_);
  }
  void TearDown() override { fs::remove_all(root_); }

  std::string MakeRun(const std::string& name, int workers, bool with_summary) {
    fs::path dir = root_ / name;
    fs::create_directories(dir);
    std::ofstream(dir / "metrics.jsonl")
        << "{\"epoch\":1,\"train_rmse\":0.9,\"test_rmse\":null,\"test_hr@10\":0.1,"
           "\"ratings_per_sec\":1000,\"epoch_sec\":1,\"eval_sec\":0.5,\"bytes_sent\":10,"
           "\"bytes_received\":20}\n"
        << "{\"epoch\":2,\"train_rmse\":0.8,\"test_rmse\":0.85,\"test_hr@10\":0.2,"
           "\"ratings_per_sec\":2000,\"epoch_sec\":1,\"eval_sec\":0.5,\"bytes_sent\":30,"
           "\"bytes_received\":40,\"checkpoint_pause_sec\":0.01,\"restarts\":1}\n"
        << "{\"epoch\":3,\"train_rm";  // torn by a crash
    std::ofstream(dir / "config.textproto") << "job_id: \"<demo>\"\n";
    if (with_summary) {
      std::ofstream(dir / "summary.json")
          << "{\"servers\":1,\"workers\":" << workers << ",\"total_sec\":3}";
    }
    return dir.string();
  }

  fs::path root_;
};

TEST_F(ReportPageTest, LoadsARunAndSkipsATornLine) {
  Result<RunDirectory> run = LoadRunDirectory(MakeRun("a", 2, true));
  ASSERT_TRUE(run.ok()) << run.status().message();
  EXPECT_EQ(run->epochs.size(), 2u);
  EXPECT_EQ(run->bad_lines, 1);
  EXPECT_EQ(run->label, "a");
  EXPECT_EQ(run->summary["workers"], 2);
  EXPECT_FALSE(LoadRunDirectory((root_ / "none").string()).ok());
}

TEST_F(ReportPageTest, PlotsEveryNumericFieldAndEscapesTheConfig) {
  Result<RunDirectory> run = LoadRunDirectory(MakeRun("a", 2, false));
  ASSERT_TRUE(run.ok());
  const std::string page = RenderReportPage({*run});
  EXPECT_EQ(page.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_EQ(page.find("<script"), std::string::npos);
  EXPECT_EQ(page.find("http://", page.find("<body>")), page.find("http://www.w3.org/2000/svg"));
  for (const char* series : {"train_rmse", "test_rmse", "test_hr@10", "ratings_per_sec",
                             "bytes_sent", "bytes_received", "checkpoint_pause_sec",
                             "restarts"}) {
    EXPECT_NE(page.find(SeriesAttr(series)), std::string::npos)
        << series;
  }
  EXPECT_NE(page.find("job_id: &quot;&lt;demo&gt;&quot;"), std::string::npos);
  EXPECT_NE(page.find("no summary.json"), std::string::npos);
  EXPECT_NE(page.find("wall time"), std::string::npos);
}

TEST_F(ReportPageTest, ComparisonHasOneSeriesPerRun) {
  std::vector<RunDirectory> runs;
  for (int w : {1, 2, 4}) {
    Result<RunDirectory> run = LoadRunDirectory(MakeRun(std::string(1, 'w').append(std::to_string(w)), w, true));
    ASSERT_TRUE(run.ok());
    runs.push_back(*run);
  }
  const std::string page = RenderReportPage(runs);
  for (const char* label : {"w1 (1S/1W)", "w2 (1S/2W)", "w4 (1S/4W)"}) {
    EXPECT_NE(page.find(SeriesAttr(std::string(label) + ": train_rmse")),
              std::string::npos) << label;
    EXPECT_NE(page.find(SeriesAttr(label)), std::string::npos)
        << label;  // ratings_per_sec: one field per chart, named by the run alone
  }
}

}  // namespace
}  // namespace psrec::cli
