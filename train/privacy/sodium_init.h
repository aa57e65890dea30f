// libsodium must be initialised once before use; every psrec_privacy entry point that calls
// libsodium calls EnsureSodium() first. CHECK-fails when libsodium cannot initialise (no
// entropy source: nothing in privacy can work then).
//
// Thread safety: thread-safe (sodium_init is idempotent and thread-safe).
#pragma once

namespace psrec::train::privacy {

void EnsureSodium();

}  // namespace psrec::train::privacy
