// `psrec report` end to end: short `psrec sim` runs, the page for one run and for a 3-run
// comparison, rendered by headless Chromium (Debian package `chromium`); the screenshot must
// not be blank (tests/cli/png_nonblank.py) and the page must carry the expected series.
// Skips, saying why, when chromium or python3 is not installed.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

namespace {

namespace fs = std::filesystem;

// data-series="NAME", the attribute that names a chart's series.
std::string SeriesAttr(const std::string& name) {
  std::string attr = "data-series=\"";
  attr.append(name).append("\"");
  return attr;
}

int Shell(const std::string& command) {
  const int status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string Chromium() {
  for (const char* name : {"chromium", "chromium-browser", "google-chrome"}) {
    if (Shell(std::string("command -v ") + name + " >/dev/null 2>&1") == 0) return name;
  }
  return "";
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

class ReportRenderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    chromium_ = Chromium();
    if (chromium_.empty()) {
      GTEST_SKIP() << "chromium is not installed (apt-get install chromium; "
                      "scripts/install-deps.sh does)";
    }
    if (Shell("command -v python3 >/dev/null 2>&1") != 0) GTEST_SKIP() << "python3 not found";
    dir_ = fs::temp_directory_path() / ("psrec_report_render_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  // A short simulated run with `workers` workers into dir_/name.
  std::string Sim(const std::string& name, int workers) {
    const std::string out = (dir_ / name).string();
    const std::string cmd =
        std::string(PSREC_BINARY_DIR "/psrec sim --quiet --config " PSREC_SOURCE_DIR
                    "/configs/synthetic.textproto --set data.synthetic.num_users=2000 "
                    "--set data.synthetic.num_items=300 --set training.epochs=4 "
                    "--set tables.user.optimizer.learning_rate=0.01 "
                    "--set tables.item.optimizer.learning_rate=0.01 --servers 2 --workers ") +
        std::to_string(workers) + " --out " + out + " >/dev/null 2>&1";
    EXPECT_EQ(Shell(cmd), 0) << cmd;
    return out;
  }

  // Screenshots `html` and checks the picture is not blank.
  void ExpectRendersNonBlank(const std::string& html) {
    const std::string png = html + ".png";
    const std::string shot = chromium_ +
                             " --headless=new --no-sandbox --disable-gpu --hide-scrollbars "
                             "--window-size=900,900 --screenshot=" + png + " file://" + html +
                             " >/dev/null 2>&1";
    ASSERT_EQ(Shell(shot), 0) << shot;
    ASSERT_TRUE(fs::exists(png)) << shot;
    EXPECT_EQ(Shell("python3 " PSREC_SOURCE_DIR "/tests/cli/png_nonblank.py " + png), 0)
        << png << " looks blank";
  }

  std::string chromium_;
  fs::path dir_;
};

TEST_F(ReportRenderTest, OneRunAndAThreeRunComparisonRender) {
  const std::string w1 = Sim("w1", 1), w2 = Sim("w2", 2), w4 = Sim("w4", 4);
  ASSERT_EQ(Shell(PSREC_BINARY_DIR "/psrec report " + w2 + " >/dev/null"), 0);
  const std::string one = w2 + "/report.html";
  const std::string page = ReadFile(one);
  for (const char* series : {"train_rmse", "test_rmse", "ratings_per_sec", "bytes_sent",
                             "pull_wait_sec", "max_staleness"}) {
    EXPECT_NE(page.find(SeriesAttr(series)), std::string::npos)
        << series;
  }
  ExpectRendersNonBlank(one);

  const std::string compare = (dir_ / "compare.html").string();
  ASSERT_EQ(Shell(PSREC_BINARY_DIR "/psrec report " + w1 + " --compare " + w2 + " --compare " +
                  w4 + " --out " + compare + " >/dev/null"),
            0);
  const std::string overlay = ReadFile(compare);
  for (const char* series : {"w1 (2S/1W): test_rmse", "w2 (2S/2W): test_rmse",
                             "w4 (2S/4W): test_rmse", "w4 (2S/4W)"}) {
    EXPECT_NE(overlay.find(SeriesAttr(series)), std::string::npos)
        << series;
  }
  ExpectRendersNonBlank(compare);
}

}  // namespace
