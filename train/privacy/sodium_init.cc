#include "train/privacy/sodium_init.h"

#include <glog/logging.h>
#include <sodium.h>

namespace psrec::train::privacy {

void EnsureSodium() {
  static const int kInitResult = sodium_init();  // 0: initialised now, 1: already, -1: failed
  CHECK_GE(kInitResult, 0) << "libsodium failed to initialise";
}

}  // namespace psrec::train::privacy
