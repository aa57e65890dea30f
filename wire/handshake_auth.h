// The cryptography of the handshake (wire/proto/wire.proto): a job secret that both ends
// hold and that never crosses the wire, fresh nonces, and HMAC-SHA256 proofs of knowing it.
//
//   server                                     worker
//   HandshakeChallenge{server_nonce}    ->
//                                       <-     Handshake{claims, client_nonce,
//                                                        proof = WorkerProof(secret, ...)}
//   checks the proof (ProofMatches)
//   HandshakeReply{..., proof = ServerProof(secret, ...)}  ->  checks it
//
// Each proof is an HMAC under the secret of a direction label, both nonces and every field
// the other side acts on, so a proof cannot be replayed on another connection (the peer's
// nonce differs), reflected to the other direction (the label differs), or moved to other
// claims (another worker id, job id, server id or local socket). The job id binds the
// connection to the job; the secret is what an outsider who knows the job id lacks.
//
// Thread safety: pure functions; RandomBytes uses the OS's CSPRNG through OpenSSL.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "common/status.h"
#include "wire/proto/wire.pb.h"

namespace psrec::wire {

inline constexpr size_t kNonceBytes = 32;
inline constexpr size_t kProofBytes = 32;         // HMAC-SHA256
inline constexpr size_t kDrawnSecretBytes = 32;  // a secret drawn for one job

// n bytes from a cryptographically secure generator. Fails (Internal) only when the OS
// has no randomness to give.
Result<std::string> RandomBytes(size_t n);

// A fresh job secret (kDrawnSecretBytes random bytes).
inline Result<std::string> DrawJobSecret() { return RandomBytes(kDrawnSecretBytes); }

// The worker's proof for `hello` (its protocol_version, job_id, worker_id, num_workers and
// client_nonce; its proof field is ignored) answering `server_nonce`.
std::string WorkerProof(std::string_view secret, std::string_view server_nonce,
                        const Handshake& hello);

// The server's proof for `reply` (every field but proof) to the worker that sent `hello`.
std::string ServerProof(std::string_view secret, std::string_view server_nonce,
                        const Handshake& hello, const HandshakeReply& reply);

// Whether `got` equals `expected`, in time that does not depend on where they differ.
bool ProofMatches(std::string_view expected, std::string_view got);

}  // namespace psrec::wire
