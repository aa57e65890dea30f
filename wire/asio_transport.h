// AsioTransport: the real Transport (wire/transport.h), and Transport::Default(): TCP and
// Linux abstract Unix-domain sockets through Boost.Asio.
//
// TCP streams have Nagle off (requests and replies are latency-bound). Local streams get a
// send buffer of kLocalSendBufferBytes: a Unix-domain stream's in-flight bytes are bounded by
// the sender's buffer alone, and the default (~200 KB) cuts a large frame into many
// wake-ups of both ends (the kernel caps it at net.core.wmem_max). An accepted stream's
// peer() is "address:port" (TCP) or "local pid N" (SO_PEERCRED); a dialed one's is the
// endpoint dialed.
//
// TryWriteNow is a non-blocking send(2) on the socket's descriptor (MSG_DONTWAIT |
// MSG_NOSIGNAL), safe next to a read in flight on the io thread.
//
// Thread safety: as Transport; stateless, so one instance serves a whole process.
#pragma once

#include <memory>

#include "wire/transport.h"

namespace psrec::wire {

class AsioTransport final : public Transport {
 public:
  static constexpr int kLocalSendBufferBytes = 4 << 20;

  Result<std::unique_ptr<Listener>> Listen(boost::asio::io_context& io,
                                           const Endpoint& at) override;
  Result<std::unique_ptr<ByteStream>> Dial(boost::asio::io_context& io, const Endpoint& to,
                                           IoHandler connected) override;
};

}  // namespace psrec::wire
