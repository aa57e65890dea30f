// IoHandler: the completion of one ByteStream operation, void(error_code, bytes), as a
// move-only callable stored inline. Streams complete one read and one write per frame or
// batch of frames; a std::function holding a lambda that captures a shared_ptr would
// allocate for each of them, this never does (a callable larger than kInlineBytes does not
// compile). Asio accepts it as a completion handler as is, so the real transport hands it
// to the socket without wrapping it.
//
// Thread safety: a value; one owner at a time. Calling an empty IoHandler is a programmer
// error (CHECK).
#pragma once

#include <cstddef>
#include <new>
#include <type_traits>
#include <utility>

#include <boost/system/error_code.hpp>
#include <glog/logging.h>

namespace psrec::wire {

class IoHandler {
 public:
  static constexpr size_t kInlineBytes = 48;

  IoHandler() = default;

  template <typename F>
    requires(!std::is_same_v<std::decay_t<F>, IoHandler> &&
             std::is_invocable_v<std::decay_t<F>&, const boost::system::error_code&, size_t>)
  IoHandler(F&& f) {  // NOLINT(google-explicit-constructor): used like a lambda
    using Fn = std::decay_t<F>;
    static_assert(sizeof(Fn) <= kInlineBytes, "IoHandler: capture less (it never allocates)");
    static_assert(alignof(Fn) <= alignof(std::max_align_t));
    static_assert(std::is_nothrow_move_constructible_v<Fn>);
    new (storage_) Fn(std::forward<F>(f));
    ops_ = &kOps<Fn>;
  }

  IoHandler(IoHandler&& other) noexcept { MoveFrom(other); }
  IoHandler& operator=(IoHandler&& other) noexcept {
    if (this != &other) {
      Reset();
      MoveFrom(other);
    }
    return *this;
  }
  IoHandler(const IoHandler&) = delete;
  IoHandler& operator=(const IoHandler&) = delete;
  ~IoHandler() { Reset(); }

  explicit operator bool() const { return ops_ != nullptr; }

  void operator()(const boost::system::error_code& ec, size_t bytes) {
    CHECK(ops_ != nullptr) << "calling an empty IoHandler";
    ops_->call(storage_, ec, bytes);
  }

 private:
  struct Ops {
    void (*call)(void* fn, const boost::system::error_code& ec, size_t bytes);
    void (*move_to)(void* from, void* to);  // move-constructs at `to`, destroys `from`
    void (*destroy)(void* fn);
  };
  template <typename Fn>
  static constexpr Ops kOps = {
      [](void* fn, const boost::system::error_code& ec, size_t bytes) {
        (*static_cast<Fn*>(fn))(ec, bytes);
      },
      [](void* from, void* to) {
        new (to) Fn(std::move(*static_cast<Fn*>(from)));
        static_cast<Fn*>(from)->~Fn();
      },
      [](void* fn) { static_cast<Fn*>(fn)->~Fn(); },
  };

  void MoveFrom(IoHandler& other) {
    if (other.ops_ == nullptr) return;
    other.ops_->move_to(other.storage_, storage_);
    ops_ = other.ops_;
    other.ops_ = nullptr;
  }
  void Reset() {
    if (ops_ != nullptr) ops_->destroy(storage_);
    ops_ = nullptr;
  }

  alignas(std::max_align_t) unsigned char storage_[kInlineBytes];
  const Ops* ops_ = nullptr;
};

}  // namespace psrec::wire
