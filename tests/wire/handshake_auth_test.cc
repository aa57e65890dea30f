// The handshake's proofs: each depends on the secret, both nonces, the direction and every
// claim it covers, so none can be replayed, reflected or moved to other claims.
#include "wire/handshake_auth.h"

#include <functional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "wire/frame.h"

namespace psrec::wire {
namespace {

Handshake Hello() {
  Handshake hs;
  hs.set_protocol_version(kProtocolVersion);
  hs.set_job_id("job");
  hs.set_worker_id(1);
  hs.set_num_workers(4);
  hs.set_client_nonce(std::string(kNonceBytes, 'c'));
  return hs;
}

HandshakeReply Reply() {
  HandshakeReply reply;
  reply.set_protocol_version(kProtocolVersion);
  reply.set_server_id(2);
  reply.set_num_servers(3);
  reply.set_local_socket("psrec-1-s2-abc");
  return reply;
}

const std::string kServerNonce(kNonceBytes, 's');

TEST(HandshakeAuthTest, WorkerProofCoversSecretNoncesAndClaims) {
  const std::string proof = WorkerProof("secret", kServerNonce, Hello());
  EXPECT_EQ(proof.size(), kProofBytes);
  EXPECT_EQ(WorkerProof("secret", kServerNonce, Hello()), proof) << "not deterministic";
  EXPECT_TRUE(ProofMatches(proof, WorkerProof("secret", kServerNonce, Hello())));
  EXPECT_NE(WorkerProof("secreT", kServerNonce, Hello()), proof);
  EXPECT_NE(WorkerProof("secret", std::string(kNonceBytes, 't'), Hello()), proof);
  const std::vector<std::function<void(Handshake&)>> changes = {
      [](Handshake& h) { h.set_protocol_version(2); },
      [](Handshake& h) { h.set_job_id("other"); },
      [](Handshake& h) { h.set_worker_id(0); },
      [](Handshake& h) { h.set_num_workers(5); },
      [](Handshake& h) { h.set_client_nonce(std::string(kNonceBytes, 'd')); },
  };
  for (size_t i = 0; i < changes.size(); ++i) {
    Handshake changed = Hello();
    changes[i](changed);
    EXPECT_FALSE(ProofMatches(proof, WorkerProof("secret", kServerNonce, changed))) << i;
  }
  // The proof field itself is not part of what is proven.
  Handshake with_proof = Hello();
  with_proof.set_proof(proof);
  EXPECT_EQ(WorkerProof("secret", kServerNonce, with_proof), proof);
}

TEST(HandshakeAuthTest, ServerProofCoversTheReplyAndIsNotTheWorkers) {
  const std::string proof = ServerProof("secret", kServerNonce, Hello(), Reply());
  EXPECT_EQ(proof.size(), kProofBytes);
  EXPECT_NE(proof, WorkerProof("secret", kServerNonce, Hello())) << "reflectable";
  const std::vector<std::function<void(HandshakeReply&)>> changes = {
      [](HandshakeReply& r) { r.set_server_id(0); },
      [](HandshakeReply& r) { r.set_num_servers(4); },
      [](HandshakeReply& r) { r.set_local_socket("elsewhere"); },
  };
  for (size_t i = 0; i < changes.size(); ++i) {
    HandshakeReply changed = Reply();
    changes[i](changed);
    EXPECT_FALSE(ProofMatches(proof, ServerProof("secret", kServerNonce, Hello(), changed))) << i;
  }
}

TEST(HandshakeAuthTest, ProofMatchesNeedsEqualLengthAndBytes) {
  const std::string a(kProofBytes, 'a');
  EXPECT_TRUE(ProofMatches(a, a));
  EXPECT_FALSE(ProofMatches(a, ""));
  EXPECT_FALSE(ProofMatches(a, a.substr(1)));
  std::string b = a;
  b.back() = 'b';
  EXPECT_FALSE(ProofMatches(a, b));
}

TEST(HandshakeAuthTest, RandomBytesDiffer) {
  const std::string x = RandomBytes(kNonceBytes).value();
  EXPECT_EQ(x.size(), kNonceBytes);
  EXPECT_NE(x, RandomBytes(kNonceBytes).value());
  EXPECT_EQ(DrawJobSecret().value().size(), kDrawnSecretBytes);
}

}  // namespace
}  // namespace psrec::wire
