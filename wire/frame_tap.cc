#include "wire/frame_tap.h"

#include <cstring>
#include <random>
#include <utility>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include "common/byte_buffer.h"

namespace psrec::wire {

// Cuts what its owner writes into frames, lets the tap see each, and writes the frames
// (with their faults) to the wrapped stream.
class TappedStream final : public ByteStream {
 public:
  TappedStream(FrameTap* tap, int id, boost::asio::io_context& io,
               std::unique_ptr<ByteStream> inner)
      : tap_(tap), id_(id), io_(io), inner_(std::move(inner)), write_(std::make_shared<Write>()) {}

  void AsyncReadSome(std::span<uint8_t> into, IoHandler done) override {
    inner_->AsyncReadSome(into, std::move(done));
  }

  void AsyncWrite(std::span<const uint8_t> bytes, IoHandler done) override {
    pending_.Append(bytes.data(), bytes.size());
    size_t at = 0;
    while (pending_.size() - at >= kFrameHeaderBytes) {
      uint32_t body_bytes = 0;
      std::memcpy(&body_bytes, pending_.data() + at, 4);
      const size_t frame_bytes = kFrameHeaderBytes + body_bytes;
      if (pending_.size() - at < frame_bytes) break;
      const auto type = static_cast<MessageType>(pending_.data()[at + 4]);
      int index = 0;
      const std::optional<FrameFault::Action> fault =
          tap_->See(id_, type, {pending_.data() + at + kFrameHeaderBytes, body_bytes}, &index);
      if (fault != FrameFault::Action::kDrop) {
        ByteBuffer& out = write_->bytes;
        const size_t frame_at = out.size();
        out.Append(pending_.data() + at, frame_bytes);
        if (fault == FrameFault::Action::kBadType) out.data()[frame_at + 4] = 0;
        if (fault == FrameFault::Action::kGarbleBody) {
          tap_->Garble(index, {out.data() + frame_at + kFrameHeaderBytes, body_bytes});
        }
      }
      at += frame_bytes;
    }
    pending_.Consume(at);
    write_->done = std::move(done);
    write_->offered = bytes.size();
    if (write_->bytes.empty()) {  // dropped frames, or a frame not complete yet
      boost::asio::post(io_, [write = write_] { write->Complete({}); });
      return;
    }
    inner_->AsyncWrite(write_->bytes.span(),
                       [write = write_](const boost::system::error_code& ec, size_t) {
                         write->Complete(ec);
                       });
  }

  size_t TryWriteNow(std::span<const uint8_t>) override { return 0; }
  void Close() override { inner_->Close(); }
  const std::string& peer() const override { return inner_->peer(); }

 private:
  // The write in flight, shared with its completion, which may run after the stream is gone.
  struct Write {
    ByteBuffer bytes;  // what goes to the wrapped stream
    size_t offered = 0;
    IoHandler done;

    void Complete(const boost::system::error_code& ec) {
      bytes.Clear();
      IoHandler handler = std::move(done);
      handler(ec, ec ? 0 : offered);
    }
  };

  FrameTap* const tap_;
  const int id_;
  boost::asio::io_context& io_;
  std::unique_ptr<ByteStream> inner_;
  ByteBuffer pending_;  // the start of a frame whose end has not been written yet
  std::shared_ptr<Write> write_;
};

class TappedListener final : public Listener {
 public:
  TappedListener(FrameTap* tap, boost::asio::io_context& io, std::unique_ptr<Listener> inner)
      : tap_(tap), io_(io), inner_(std::move(inner)) {}

  const Endpoint& endpoint() const override { return inner_->endpoint(); }
  void AsyncAccept(AcceptHandler done) override {
    inner_->AsyncAccept([this, done = std::move(done)](const boost::system::error_code& ec,
                                                       std::unique_ptr<ByteStream> stream) {
      done(ec, stream ? tap_->Wrap(io_, std::move(stream)) : nullptr);
    });
  }
  void Close() override { inner_->Close(); }
  bool is_open() const override { return inner_->is_open(); }

 private:
  FrameTap* const tap_;
  boost::asio::io_context& io_;
  std::unique_ptr<Listener> inner_;
};

FrameTap::FrameTap(Transport* inner, FrameTapOptions options)
    : inner_(inner), options_(std::move(options)) {}

Result<std::unique_ptr<Listener>> FrameTap::Listen(boost::asio::io_context& io,
                                                   const Endpoint& at) {
  ASSIGN_OR_RETURN(std::unique_ptr<Listener> inner, inner_->Listen(io, at));
  return std::unique_ptr<Listener>(std::make_unique<TappedListener>(this, io, std::move(inner)));
}

Result<std::unique_ptr<ByteStream>> FrameTap::Dial(boost::asio::io_context& io,
                                                   const Endpoint& to, IoHandler connected) {
  ASSIGN_OR_RETURN(std::unique_ptr<ByteStream> inner,
                   inner_->Dial(io, to, std::move(connected)));
  return Wrap(io, std::move(inner));
}

std::unique_ptr<ByteStream> FrameTap::Wrap(boost::asio::io_context& io,
                                           std::unique_ptr<ByteStream> stream) {
  int id = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    id = next_stream_++;
  }
  return std::make_unique<TappedStream>(this, id, io, std::move(stream));
}

std::optional<FrameFault::Action> FrameTap::See(int stream, MessageType type,
                                                std::span<const uint8_t> body, int* index) {
  std::lock_guard<std::mutex> lock(mu_);
  *index = seen_[type]++;
  std::optional<FrameFault::Action> fault;
  for (const FrameFault& f : options_.faults) {
    if (f.type == type && f.index == *index) fault = f.action;
  }
  if (fault) ++faults_applied_;
  if (options_.record) {
    frames_.push_back({stream, type, *index, {body.begin(), body.end()}, fault});
  }
  return fault;
}

void FrameTap::Garble(int index, std::span<uint8_t> body) const {
  std::mt19937_64 random(options_.seed * 0x9E3779B97F4A7C15ull + static_cast<uint64_t>(index));
  for (uint8_t& b : body) b = static_cast<uint8_t>(random());
}

std::vector<SentFrame> FrameTap::frames() const {
  std::lock_guard<std::mutex> lock(mu_);
  return frames_;
}

std::vector<SentFrame> FrameTap::frames(MessageType type) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<SentFrame> of_type;
  for (const SentFrame& f : frames_) {
    if (f.type == type) of_type.push_back(f);
  }
  return of_type;
}

int FrameTap::faults_applied() const {
  std::lock_guard<std::mutex> lock(mu_);
  return faults_applied_;
}

}  // namespace psrec::wire
