#include "wire/handshake_auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <cstdint>
#include <cstring>

#include <glog/logging.h>

namespace psrec::wire {
namespace {

// The MAC input: a direction label, then fixed-width integers and length-prefixed byte
// strings, so that no two different transcripts encode to the same bytes.
class Transcript {
 public:
  explicit Transcript(std::string_view label) { Bytes(label); }
  void U32(uint32_t v) { bytes_.append(reinterpret_cast<const char*>(&v), sizeof(v)); }
  void I32(int32_t v) { U32(static_cast<uint32_t>(v)); }
  void Bytes(std::string_view s) {
    U32(static_cast<uint32_t>(s.size()));
    bytes_.append(s);
  }
  std::string Mac(std::string_view secret) const {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int out_len = 0;
    const unsigned char* mac =
        HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
             reinterpret_cast<const unsigned char*>(bytes_.data()), bytes_.size(), out, &out_len);
    CHECK(mac != nullptr && out_len == kProofBytes) << "HMAC-SHA256 failed";
    return std::string(reinterpret_cast<const char*>(out), out_len);
  }

 private:
  std::string bytes_;
};

void AddHello(std::string_view server_nonce, const Handshake& hello, Transcript* t) {
  t->U32(hello.protocol_version());
  t->Bytes(hello.job_id());
  t->I32(hello.worker_id());
  t->I32(hello.num_workers());
  t->Bytes(server_nonce);
  t->Bytes(hello.client_nonce());
}

}  // namespace

Result<std::string> RandomBytes(size_t n) {
  std::string bytes(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(bytes.data()), static_cast<int>(n)) != 1) {
    return Status::Internal("no randomness from the OS (OpenSSL RAND_bytes failed)");
  }
  return bytes;
}

std::string WorkerProof(std::string_view secret, std::string_view server_nonce,
                        const Handshake& hello) {
  Transcript t("psrec handshake: worker");
  AddHello(server_nonce, hello, &t);
  return t.Mac(secret);
}

std::string ServerProof(std::string_view secret, std::string_view server_nonce,
                        const Handshake& hello, const HandshakeReply& reply) {
  Transcript t("psrec handshake: server");
  AddHello(server_nonce, hello, &t);
  t.U32(reply.protocol_version());
  t.I32(reply.server_id());
  t.I32(reply.num_servers());
  t.Bytes(reply.local_socket());
  return t.Mac(secret);
}

bool ProofMatches(std::string_view expected, std::string_view got) {
  // Lengths are public (kProofBytes); only the contents are compared in constant time.
  return expected.size() == got.size() &&
         CRYPTO_memcmp(expected.data(), got.data(), expected.size()) == 0;
}

}  // namespace psrec::wire
