// Transport: how a parameter server listens and a worker dials, and the byte streams the two
// then talk over. The server (ps::ServerOptions::transport) and the client
// (client::PsClientOptions::transport) are given one, as a leveldb DB is given an Env; both
// default to Transport::Default(), TCP and abstract Unix-domain sockets through Boost.Asio
// (wire/asio_transport.h). Framing stays with the owners of the streams (wire/frame.h): a
// transport moves bytes, and the one that tests use (wire/frame_tap.h) cuts what it sends
// into frames only to record or break them.
//
// Asynchronous operations run on the io_context the stream or listener was made with and
// complete there, through an IoHandler (wire/io_handler.h), like the Asio operations they
// mirror: a handler never runs inside the call that started its operation; one read and one
// write may be in flight on a stream at a time; closing a stream (or destroying it) ends
// its pending operations with boost::asio::error::operation_aborted, whose handlers still
// run later on the io thread and must not assume the stream exists.
//
// Thread safety: a Transport may be used from any thread (it holds no per-connection state).
// A ByteStream and a Listener belong to their io thread, except ByteStream::TryWriteNow.
// Ownership: whoever Dials or accepts owns the stream; a Listener owns its listening
// socket. REQUIRES: a transport outlives every stream and listener it made.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <utility>

#include <boost/system/error_code.hpp>

#include "common/status.h"
#include "wire/io_handler.h"

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace psrec::wire {

// Where a server listens or a worker dials.
struct Endpoint {
  enum class Kind : uint8_t {
    kTcp,    // host and port
    kLocal,  // an abstract Unix-domain socket (Linux): `name`, without its leading NUL
  };
  Kind kind = Kind::kTcp;
  std::string host;  // kTcp: a host name or IP address (to listen on: an IP address)
  uint16_t port = 0;  // kTcp: 0 to listen on a port the OS picks
  std::string name;   // kLocal

  static Endpoint Tcp(std::string host, uint16_t port) {
    return {Kind::kTcp, std::move(host), port, {}};
  }
  static Endpoint Local(std::string name) { return {Kind::kLocal, {}, 0, std::move(name)}; }
  // "host:port" or "@name", for messages.
  std::string ToString() const;
};

// One connection: an ordered, reliable byte stream.
class ByteStream {
 public:
  virtual ~ByteStream() = default;

  // io thread: reads at least one byte into `into` (which must stay valid until done runs);
  // done(ec, bytes). The peer closing is boost::asio::error::eof.
  virtual void AsyncReadSome(std::span<uint8_t> into, IoHandler done) = 0;
  // io thread: writes all of `bytes` (valid until done runs); done(ec, bytes written).
  virtual void AsyncWrite(std::span<const uint8_t> bytes, IoHandler done) = 0;
  // Any thread, never blocks: writes the prefix of `bytes` that the stream takes at once
  // and returns its length; 0 when it takes none now or failed (the next AsyncWrite then
  // reports the failure). It lets a caller send a small request without waking the io
  // thread. REQUIRES: no AsyncWrite in flight, and no TryWriteNow or Close at the same time
  // (the caller serializes them).
  virtual size_t TryWriteNow(std::span<const uint8_t> bytes) = 0;
  // io thread; idempotent.
  virtual void Close() = 0;

  // The other end, for logs ("127.0.0.1:5000", "local pid 123").
  virtual const std::string& peer() const = 0;
};

class Listener {
 public:
  // stream is null when ec is set. Accepting again is the handler's decision.
  using AcceptHandler =
      std::function<void(const boost::system::error_code& ec, std::unique_ptr<ByteStream> stream)>;

  virtual ~Listener() = default;
  // What it listens on; a TCP port 0 asked for is the port chosen.
  virtual const Endpoint& endpoint() const = 0;
  // io thread: accepts one connection; done runs on the io thread (operation_aborted once
  // closed).
  virtual void AsyncAccept(AcceptHandler done) = 0;
  // io thread; idempotent.
  virtual void Close() = 0;
  virtual bool is_open() const = 0;
};

class Transport {
 public:
  virtual ~Transport() = default;

  // The real transport (wire/asio_transport.h); lives as long as the process.
  static Transport* Default();

  // Listening when it returns. InvalidArgument for an endpoint it cannot listen on (a host
  // that is not an IP address), Unavailable when the address cannot be bound.
  virtual Result<std::unique_ptr<Listener>> Listen(boost::asio::io_context& io,
                                                   const Endpoint& at) = 0;

  // Starts connecting to `to` and returns the stream at once; connected(ec, 0) runs on the
  // io thread when it is connected or has failed (connection refused is the usual failure
  // of a server still starting: the caller retries with a fresh Dial). Closing the stream
  // cancels the attempt. Fails at once (InvalidArgument) when `to` cannot be resolved.
  virtual Result<std::unique_ptr<ByteStream>> Dial(boost::asio::io_context& io,
                                                   const Endpoint& to, IoHandler connected) = 0;
};

}  // namespace psrec::wire
