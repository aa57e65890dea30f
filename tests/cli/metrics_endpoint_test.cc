// The metrics endpoint (cluster.metrics_port) end to end: `psrec sim` with 1 server and 2
// workers, scraped with curl while it trains; every page must pass the strict checker
// (tests/common/prometheus_check.h) and carry the expected families, and the endpoint must
// answer 404/405/431 to what it does not serve. Skips when curl is not installed.
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/common/prometheus_check.h"

namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

int Shell(const std::string& command) {
  const int status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// stdout of `command`, and its exit code.
std::pair<std::string, int> Capture(const std::string& command) {
  std::string out;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return {"", -1};
  std::array<char, 4096> buf;
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) out.append(buf.data(), n);
  const int status = ::pclose(pipe);
  return {out, WIFEXITED(status) ? WEXITSTATUS(status) : -1};
}

bool PortFree(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  ::close(fd);
  return ok;
}

// A base port with base, base+1 and base+2 free (rank 0 the server, 1 and 2 the workers).
int FreeBasePort() {
  for (int base = 20000 + (::getpid() * 7) % 30000; base < 60000; base += 3) {
    if (PortFree(base) && PortFree(base + 1) && PortFree(base + 2)) return base;
  }
  return 0;
}

std::string Url(int port, const std::string& path = "/metrics") {
  return "http://127.0.0.1:" + std::to_string(port) + path;
}

TEST(MetricsEndpointTest, ServerAndWorkersServeValidPrometheusTextDuringASimRun) {
  if (Shell("command -v curl >/dev/null 2>&1") != 0) GTEST_SKIP() << "curl is not installed";
  const int base = FreeBasePort();
  ASSERT_NE(base, 0);
  const fs::path out = fs::temp_directory_path() / ("psrec_metrics_" + std::to_string(::getpid()));
  const std::string sim =
      std::string(PSREC_BINARY_DIR "/psrec sim --quiet --config " PSREC_SOURCE_DIR
                  "/configs/synthetic.textproto --set training.epochs=12 --servers 1 "
                  "--workers 2 --set cluster.metrics_port=") +
      std::to_string(base) + " --out " + out.string() + " >/dev/null 2>&1";
  std::thread run([&] { EXPECT_EQ(Shell(sim), 0) << sim; });

  // The server's page once training has begun (pulls counted).
  std::string server_page;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    auto [page, rc] = Capture("curl -sf " + Url(base));
    if (rc == 0 && page.find("psrec_server_pulls_total{server=\"0\"} 0\n") == std::string::npos &&
        page.find("psrec_server_pulls_total") != std::string::npos) {
      server_page = page;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_FALSE(server_page.empty()) << "no scrape of " << Url(base) << " during the run";
  EXPECT_EQ(psrec::testing::CheckPrometheusText(server_page), "") << server_page;
  for (const char* family :
       {"psrec_server_table_rows{server=\"0\",table=\"item\"}", "psrec_server_pushes_total",
        "psrec_server_sent_bytes_total", "psrec_server_parked_pulls",
        "psrec_server_slowest_clock", "psrec_server_connections_over_limit_total",
        "psrec_server_request_seconds_bucket{server=\"0\",type=\"pull\",le=\"+Inf\"}",
        "psrec_server_request_seconds_count{server=\"0\",type=\"checkpoint\"}"}) {
    EXPECT_THAT(server_page, HasSubstr(family));
  }
  for (int worker : {0, 1}) {
    auto [page, rc] = Capture("curl -sf " + Url(base + 1 + worker));
    ASSERT_EQ(rc, 0) << Url(base + 1 + worker);
    EXPECT_EQ(psrec::testing::CheckPrometheusText(page), "") << page;
    EXPECT_THAT(page, HasSubstr("psrec_worker_sent_bytes_total{worker=\"" +
                                std::to_string(worker) + "\"}"));
    EXPECT_THAT(page, HasSubstr("psrec_worker_pull_wait_seconds_total"));
  }
  const std::string code = "curl -s -o /dev/null -w '%{http_code}' ";
  EXPECT_EQ(Capture(code + Url(base, "/other")).first, "404");
  EXPECT_EQ(Capture(code + "-X POST " + Url(base)).first, "405");
  EXPECT_EQ(Capture(code + "-H 'X-Big: " + std::string(9000, 'a') + "' " + Url(base)).first,
            "431");
  auto [content_type, rc] = Capture("curl -sf -o /dev/null -w '%{content_type}' " + Url(base));
  EXPECT_EQ(content_type, "text/plain; version=0.0.4; charset=utf-8");
  run.join();
  fs::remove_all(out);
}

}  // namespace
