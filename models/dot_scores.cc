#include "models/dot_scores.h"

#include <algorithm>

namespace psrec::models {
namespace {

constexpr size_t kLanes = PackedItems::kLanes;
constexpr size_t kTileUsers = 8;  // users per tile: 8 accumulators of kLanes floats

// kLanes floats as one vector (one zmm, two ymm or four xmm, as the clone's ISA allows).
typedef float Lanes __attribute__((vector_size(kLanes * sizeof(float))));
typedef float UnalignedLanes
    __attribute__((vector_size(kLanes * sizeof(float)), aligned(alignof(float))));

// Scores of `users` users (<= kTileUsers) x one panel, into rows of `out` (stride
// out_stride), the first `items` (<= kLanes) columns.
template <size_t kUsers>
inline __attribute__((always_inline)) void ScoreTile(const float* const* users,
                                                     const float* user_terms,
                                                     const float* panel, const float* item_terms,
                                                     int k, float* out, size_t out_stride,
                                                     size_t items) {
  Lanes acc[kUsers];
  for (size_t a = 0; a < kUsers; ++a) acc[a] = Lanes{};
  for (int d = 0; d < k; ++d) {
    const Lanes q = *reinterpret_cast<const UnalignedLanes*>(panel + static_cast<size_t>(d) * kLanes);
    for (size_t a = 0; a < kUsers; ++a) acc[a] += users[a][d] * q;
  }
  const Lanes item_term = *reinterpret_cast<const UnalignedLanes*>(item_terms);
  for (size_t a = 0; a < kUsers; ++a) {
    const Lanes s = (acc[a] + user_terms[a]) + item_term;
    float* row = out + a * out_stride;
    if (items == kLanes) {
      *reinterpret_cast<UnalignedLanes*>(row) = s;
    } else {
      for (size_t j = 0; j < items; ++j) row[j] = s[j];
    }
  }
}

// Panels scored per pass over the users: 32 x kLanes items x k floats (128 KiB at k = 64)
// stay in L2 while every user tile reads them, so the catalogue is read from memory once per
// call, not once per tile.
constexpr size_t kChunkPanels = 32;

__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
void ScoreUsersKernel(const float* user_rows, size_t user_stride, size_t n_users,
                      const PackedItems& items, float* out) {
  const DotForm& form = items.form();
  const size_t n_items = items.n_items();
  const size_t panels = items.panels();
  for (size_t chunk = 0; chunk < panels; chunk += kChunkPanels) {
    const size_t chunk_end = std::min(panels, chunk + kChunkPanels);
    for (size_t first = 0; first < n_users; first += kTileUsers) {
      const size_t users = std::min(kTileUsers, n_users - first);
      const float* rows[kTileUsers];
      float terms[kTileUsers];
      for (size_t a = 0; a < kTileUsers; ++a) {
        // A short tile repeats its last user (computed, not written).
        rows[a] = user_rows + (first + std::min(a, users - 1)) * user_stride;
        terms[a] = form.constant + (form.user_offset >= 0 ? rows[a][form.user_offset] : 0.0f);
      }
      float* block = out + first * n_items;
      for (size_t p = chunk; p < chunk_end; ++p) {
        const size_t width = std::min(kLanes, n_items - p * kLanes);
        float* at = block + p * kLanes;
        if (users == kTileUsers) {
          ScoreTile<kTileUsers>(rows, terms, items.panel(p), items.offsets(p), form.k, at,
                                n_items, width);
        } else {
          for (size_t a = 0; a < users; ++a) {
            ScoreTile<1>(rows + a, terms + a, items.panel(p), items.offsets(p), form.k,
                         at + a * n_items, n_items, width);
          }
        }
      }
    }
  }
}

}  // namespace

PackedItems::PackedItems(const DotForm& form, const float* rows, size_t stride, size_t n_items)
    : form_(form), n_items_(n_items) {
  const size_t panels = (n_items + kLanes - 1) / kLanes;
  const size_t k = static_cast<size_t>(form.k);
  panels_.assign(panels * k * kLanes, 0.0f);
  offsets_.assign(panels * kLanes, 0.0f);
  for (size_t i = 0; i < n_items; ++i) {
    const float* row = rows + i * stride;
    float* panel = panels_.data() + (i / kLanes) * k * kLanes + i % kLanes;
    for (size_t d = 0; d < k; ++d) panel[d * kLanes] = row[d];
    if (form.item_offset >= 0) offsets_[i] = row[form.item_offset];
  }
}

void ScoreUsers(const float* user_rows, size_t user_stride, size_t n_users,
                const PackedItems& items, float* out) {
  ScoreUsersKernel(user_rows, user_stride, n_users, items, out);
}

}  // namespace psrec::models
