#include "wire/fault_transport.h"

#include <cstring>
#include <deque>

#include <boost/asio/error.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <glog/logging.h>

namespace psrec::wire {

namespace asio = boost::asio;
using Clock = FaultInjector::Clock;

namespace {

constexpr auto kReorderWait = std::chrono::milliseconds(10);

uint64_t Mix(uint64_t x) {  // splitmix64's finalizer
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// Clauses without type= act on requests, not on the handshake (type=handshake does).
bool IsRequest(MessageType type) {
  return type != MessageType::kHandshake && type != MessageType::kHandshakeChallenge &&
         type != MessageType::kHandshakeReply;
}

}  // namespace

// ---- FaultInjector ----------------------------------------------------------------------

FaultInjector::FaultInjector(FaultSpec spec) : spec_(std::move(spec)), start_(Clock::now()) {}

void FaultInjector::Restart() {
  std::lock_guard<std::mutex> lock(mu_);
  start_ = Clock::now();
}

std::optional<FaultRule> FaultInjector::Decide(int worker, int server, MessageType type) {
  std::lock_guard<std::mutex> lock(mu_);
  std::optional<FaultRule> chosen;
  for (size_t i = 0; i < spec_.rules.size(); ++i) {
    const FaultRule& rule = spec_.rules[i];
    if (rule.kind == FaultRule::Kind::kPartition || !rule.Matches(worker, server)) continue;
    if (rule.type ? *rule.type != type : !IsRequest(type)) continue;
    // Every matching clause counts the frame, so a clause's choice does not depend on
    // whether an earlier clause fired.
    const int64_t n = seen_[{i, worker, server}]++;
    bool fires = false;
    if (rule.frame >= 0) {
      fires = n == rule.frame;
    } else {
      const uint64_t h = Mix(spec_.seed ^ Mix(i * 0x100000001b3ull ^ Mix(
                                 (static_cast<uint64_t>(worker) << 32) ^
                                 static_cast<uint32_t>(server)) ^ Mix(static_cast<uint64_t>(n))));
      fires = static_cast<double>(h >> 11) * 0x1.0p-53 < rule.p;
    }
    if (fires && !chosen) chosen = rule;
  }
  if (chosen) Count(chosen->kind);
  return chosen;
}

std::vector<std::pair<Clock::time_point, Clock::time_point>> FaultInjector::Partitions(
    int worker, int server) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::pair<Clock::time_point, Clock::time_point>> windows;
  for (const FaultRule& rule : spec_.rules) {
    if (rule.kind != FaultRule::Kind::kPartition || !rule.Matches(worker, server)) continue;
    const Clock::time_point from = start_ + std::chrono::milliseconds(rule.at_ms);
    windows.emplace_back(from, from + std::chrono::milliseconds(rule.for_ms));
  }
  return windows;
}

bool FaultInjector::Partitioned(int worker, int server, Clock::time_point at) const {
  for (const auto& [from, to] : Partitions(worker, server)) {
    if (at >= from && at < to) return true;
  }
  return false;
}

uint64_t FaultInjector::applied_total() const {
  uint64_t total = 0;
  for (const auto& n : applied_) total += n.load();
  return total;
}

std::string FaultInjector::Summary() const {
  std::string out;
  for (size_t k = 0; k < applied_.size(); ++k) {
    const uint64_t n = applied_[k].load();
    if (n == 0) continue;
    if (!out.empty()) out += ", ";
    out += std::string(FaultKindName(static_cast<FaultRule::Kind>(k))) + " " + std::to_string(n);
  }
  return out.empty() ? "none" : out;
}

// ---- The stream ------------------------------------------------------------------------

namespace {

// The state of one faulty stream, shared with the handlers of its operations (which may
// run after the stream is gone: they then only see `closed`).
class FaultyCore : public std::enable_shared_from_this<FaultyCore> {
 public:
  FaultyCore(asio::io_context& io, FaultInjector* injector, int worker, int server)
      : io_(io), injector_(injector), worker_(worker), server_(server), write_timer_(io),
        reorder_timer_(io) {}

  std::unique_ptr<ByteStream> inner;

  void OnConnected(const boost::system::error_code& ec, IoHandler connected) {
    boost::system::error_code result = ec;
    if (!result && !closed_ && injector_->Partitioned(worker_, server_, Clock::now())) {
      injector_->Count(FaultRule::Kind::kPartition);
      broken_ = true;
      inner->Close();
      result = asio::error::connection_refused;
    }
    if (!result && !closed_) ArmPartitions();
    connected(result, 0);
  }

  void AsyncReadSome(std::span<uint8_t> into, IoHandler done) {
    read_done_ = std::move(done);
    inner->AsyncReadSome(into, [self = shared_from_this()](const boost::system::error_code& ec,
                                                           size_t n) {
      IoHandler done = std::move(self->read_done_);
      done(self->Translate(ec), n);
    });
  }

  void AsyncWrite(std::span<const uint8_t> bytes, IoHandler done) {
    write_done_ = std::move(done);
    boost::system::error_code ec;
    size_t taken = 0;
    if (closed_) {
      ec = asio::error::operation_aborted;
    } else if (broken_) {
      ec = asio::error::connection_reset;
    } else {
      partial_.insert(partial_.end(), bytes.begin(), bytes.end());
      taken = bytes.size();
      CutFrames();
      Pump();
    }
    asio::post(io_, [self = shared_from_this(), ec, taken] {
      IoHandler done = std::move(self->write_done_);
      done(ec, taken);
    });
  }

  void Close() {
    if (closed_) return;
    closed_ = true;
    CancelTimers();
    inner->Close();
  }

 private:
  struct Out {
    std::vector<uint8_t> bytes;
    Clock::time_point not_before;
    bool break_after = false;
  };

  boost::system::error_code Translate(const boost::system::error_code& ec) const {
    if (ec == asio::error::operation_aborted && broken_ && !closed_) {
      return asio::error::connection_reset;
    }
    return ec;
  }

  void ArmPartitions() {
    const Clock::time_point now = Clock::now();
    for (const auto& [from, to] : injector_->Partitions(worker_, server_)) {
      if (to <= now) continue;
      auto timer = std::make_unique<asio::steady_timer>(io_, from);
      timer->async_wait([self = shared_from_this()](boost::system::error_code ec) {
        if (ec || self->closed_ || self->broken_) return;
        self->injector_->Count(FaultRule::Kind::kPartition);
        self->Break();
      });
      partition_timers_.push_back(std::move(timer));
    }
  }

  // Takes the complete frames out of partial_ and queues them with their faults.
  void CutFrames() {
    size_t at = 0;
    while (partial_.size() - at >= kFrameHeaderBytes) {
      uint32_t body = 0;
      std::memcpy(&body, partial_.data() + at, 4);
      const size_t frame = kFrameHeaderBytes + body;
      if (partial_.size() - at < frame) break;
      Handle({partial_.begin() + static_cast<ptrdiff_t>(at),
              partial_.begin() + static_cast<ptrdiff_t>(at + frame)});
      at += frame;
    }
    partial_.erase(partial_.begin(), partial_.begin() + static_cast<ptrdiff_t>(at));
  }

  void Handle(std::vector<uint8_t> frame) {
    const auto type = static_cast<MessageType>(frame[4]);
    const std::optional<FaultRule> fault = injector_->Decide(worker_, server_, type);
    const Clock::time_point now = Clock::now();
    using K = FaultRule::Kind;
    if (fault && fault->kind == K::kReorder && !held_) {
      held_ = std::move(frame);
      reorder_timer_.expires_after(kReorderWait);
      reorder_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
        if (ec || self->closed_ || !self->held_) return;
        self->Emit(std::move(*self->held_));
        self->held_.reset();
        self->Pump();
      });
      return;
    }
    if (!fault) {
      Emit(std::move(frame));
    } else {
      switch (fault->kind) {
        case K::kDrop:
          queue_.push_back({{}, now, true});
          break;
        case K::kDelay:
          Emit(std::move(frame), now + std::chrono::milliseconds(fault->delay_ms));
          break;
        case K::kDuplicate:
          Emit(frame);
          Emit(std::move(frame));
          break;
        case K::kTruncate:
          frame.resize(frame.size() / 2);
          queue_.push_back({std::move(frame), now, true});
          break;
        case K::kCorrupt:
          frame[4] = 0;  // no MessageType: ParseFrameHeader refuses it
          Emit(std::move(frame));
          break;
        case K::kReorder:  // a second reorder while one frame is held: sent in order
        case K::kPartition:
          Emit(std::move(frame));
          break;
      }
    }
    if (held_) {  // the frame it was swapped with is queued: the held one follows
      reorder_timer_.cancel();
      Emit(std::move(*held_));
      held_.reset();
    }
  }

  void Emit(std::vector<uint8_t> frame, Clock::time_point not_before = {}) {
    // FIFO: a delayed frame holds back what follows it, as on a real stream.
    if (!queue_.empty()) not_before = std::max(not_before, queue_.back().not_before);
    queue_.push_back({std::move(frame), not_before, false});
  }

  void Pump() {
    if (in_flight_ || queue_.empty() || broken_ || closed_) return;
    Out& front = queue_.front();
    if (front.bytes.empty()) {  // a drop: the connection dies here
      queue_.clear();
      Break();
      return;
    }
    if (front.not_before > Clock::now()) {
      write_timer_.expires_at(front.not_before);
      write_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
        if (!ec) self->Pump();
      });
      return;
    }
    in_flight_ = true;
    inner->AsyncWrite({front.bytes.data(), front.bytes.size()},
                      [self = shared_from_this()](const boost::system::error_code& ec, size_t) {
                        self->in_flight_ = false;
                        if (self->closed_ || self->broken_) return;
                        if (ec) {
                          self->Break();
                          return;
                        }
                        const bool break_after = self->queue_.front().break_after;
                        self->queue_.pop_front();
                        if (break_after) {
                          self->Break();
                        } else {
                          self->Pump();
                        }
                      });
  }

  void Break() {
    if (broken_ || closed_) return;
    broken_ = true;
    CancelTimers();
    queue_.clear();
    inner->Close();
  }

  void CancelTimers() {
    write_timer_.cancel();
    reorder_timer_.cancel();
    for (auto& timer : partition_timers_) timer->cancel();
  }

  asio::io_context& io_;
  FaultInjector* const injector_;
  const int worker_, server_;
  IoHandler read_done_, write_done_;
  std::vector<uint8_t> partial_;  // written bytes not yet a whole frame
  std::deque<Out> queue_;         // frames to write, in order (element addresses are stable)
  std::optional<std::vector<uint8_t>> held_;  // a reordered frame
  asio::steady_timer write_timer_, reorder_timer_;
  std::vector<std::unique_ptr<asio::steady_timer>> partition_timers_;
  bool in_flight_ = false;
  bool broken_ = false;  // by a fault: operations fail with connection_reset
  bool closed_ = false;  // by the owner
};

class FaultyStream final : public ByteStream {
 public:
  explicit FaultyStream(std::shared_ptr<FaultyCore> core) : core_(std::move(core)) {}
  ~FaultyStream() override { core_->Close(); }

  void AsyncReadSome(std::span<uint8_t> into, IoHandler done) override {
    core_->AsyncReadSome(into, std::move(done));
  }
  void AsyncWrite(std::span<const uint8_t> bytes, IoHandler done) override {
    core_->AsyncWrite(bytes, std::move(done));
  }
  size_t TryWriteNow(std::span<const uint8_t>) override { return 0; }  // every frame is seen
  void Close() override { core_->Close(); }
  const std::string& peer() const override { return core_->inner->peer(); }

 private:
  std::shared_ptr<FaultyCore> core_;
};

}  // namespace

// ---- FaultyTransport ---------------------------------------------------------------------

FaultyTransport::FaultyTransport(Transport* inner, FaultInjector* injector, int worker,
                                 std::vector<std::string> servers)
    : inner_(inner), injector_(injector), worker_(worker), servers_(std::move(servers)) {}

Result<std::unique_ptr<Listener>> FaultyTransport::Listen(asio::io_context& io,
                                                          const Endpoint& at) {
  return inner_->Listen(io, at);
}

Result<std::unique_ptr<ByteStream>> FaultyTransport::Dial(asio::io_context& io,
                                                          const Endpoint& to,
                                                          IoHandler connected) {
  int server = -1;
  const std::string address = to.ToString();
  for (size_t i = 0; i < servers_.size(); ++i) {
    if (servers_[i] == address) server = static_cast<int>(i);
  }
  auto core = std::make_shared<FaultyCore>(io, injector_, worker_, server);
  // The owner's handler waits in a holder: IoHandler captures are small.
  auto holder = std::make_shared<IoHandler>(std::move(connected));
  ASSIGN_OR_RETURN(core->inner,
                   inner_->Dial(io, to,
                                [core, holder](const boost::system::error_code& ec, size_t) {
                                  core->OnConnected(ec, std::move(*holder));
                                }));
  return std::unique_ptr<ByteStream>(new FaultyStream(std::move(core)));
}

}  // namespace psrec::wire
