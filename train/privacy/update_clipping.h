// Clipping of one client's update for DP-FedAvg: the client's whole update, all its rows (of
// every federated table) together, is scaled so that its L2 norm is at most the clip norm S.
// Clipping the whole update, not each row, is what bounds one client's influence on the
// round's sum by S, the sensitivity the noise z*S and the accountant assume.
//
// Thread safety: pure functions on caller-owned memory.
#pragma once

#include <span>

namespace psrec::train::privacy {

// The L2 norm of the concatenation of `rows`, accumulated in double.
double UpdateNorm(std::span<const std::span<const float>> rows);
double UpdateNorm(std::span<const std::span<float>> rows);

// Scales every row by min(1, clip_norm / norm) in place and returns that scale (1 when the
// update was within the bound; 1 for an all-zero update).
// REQUIRES (CHECKed): clip_norm > 0 and finite.
double ClipUpdate(std::span<const std::span<float>> rows, double clip_norm);

}  // namespace psrec::train::privacy
