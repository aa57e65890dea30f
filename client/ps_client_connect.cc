// PsClient's first connections (client/ps_client.h): every server dialed and handshaken
// by the connect deadline; with reconnection on, a first connection the network breaks
// during the handshake is dialed again, as a later loss would be (ps_client_reconnect.cc).
#include <condition_variable>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include <boost/asio/post.hpp>
#include <glog/logging.h>

#include "client/ps_client_impl.h"

namespace psrec::client {
namespace asio = boost::asio;

using Clock = std::chrono::steady_clock;

Status PsClient::Impl::ConnectAll() {
  const Clock::time_point deadline = Clock::now() + options_.connect_timeout;
  // Shared with the io thread's callbacks, which may outlive this call if it gives up.
  struct Progress {
    std::mutex mu;
    std::condition_variable cv;
    int left;
    std::vector<Status> errors;
  };
  auto progress = std::make_shared<Progress>();
  progress->left = num_servers_;
  progress->errors.resize(static_cast<size_t>(num_servers_));
  asio::post(io_, [this, deadline, progress] {
    for (int s = 0; s < num_servers_; ++s) {
      ConnectOne(s, deadline, [s, progress](const Status& status) {
        std::lock_guard<std::mutex> lock(progress->mu);
        progress->errors[static_cast<size_t>(s)] = status;
        if (--progress->left == 0) progress->cv.notify_all();
      });
    }
  });
  std::unique_lock<std::mutex> lock(progress->mu);
  // The connections' own timers end every attempt by the deadline; the slack only guards
  // against a stuck io thread.
  if (!progress->cv.wait_until(lock, deadline + std::chrono::seconds(5),
                               [&] { return progress->left == 0; })) {
    return Status::DeadlineExceeded("connecting to the servers did not finish in time");
  }
  // The lowest server id's error, so that a misconfiguration reads the same every run.
  for (const Status& error : progress->errors) RETURN_IF_ERROR(error);
  asio::post(io_, [this] { ArmWatchdog(); });
  return Status::OK();
}

void PsClient::Impl::ConnectOne(int s, Clock::time_point deadline,
                                std::function<void(const Status&)> done) {
  const size_t i = static_cast<size_t>(s);
  ServerConnection* conn = conns_[i].get();
  conn->StartConnect(deadline, [this, s, i, conn, deadline,
                                done = std::move(done)](const Status& status) mutable {
    if (status.ok() || !Retriable(status) || Clock::now() >= deadline) {
      done(status.WithContext(conn->name()));
      return;
    }
    LOG(WARNING) << "PS client of worker " << options_.worker_id << ": " << conn->name()
                 << ": first connection lost during the handshake (" << status.message()
                 << "); connecting again";
    {
      std::lock_guard<std::mutex> lock(mu_);
      retired_conns_.push_back(std::move(conns_[i]));  // closed; its callback is running
      conns_[i] = MakeConnection(s);
    }
    asio::steady_timer& timer = *reconnects_[i].timer;
    timer.expires_after(std::chrono::milliseconds(10));
    timer.async_wait([this, s, deadline, done = std::move(done)](
                         boost::system::error_code ec) mutable {
      if (ec) {
        done(Status::Aborted("connecting was cancelled"));
        return;
      }
      ConnectOne(s, deadline, std::move(done));
    });
  });
}

}  // namespace psrec::client
