// DotScores: many scores at once for a model whose score is a dot product plus offsets
// (Model::dot_form), the kernel of full-ranking evaluation (train/ranking_evaluator.h).
//
//   score(u, i) = (user[0:k] . item[0:k] + (constant + user[user_offset])) + item[item_offset]
//
// (an offset index < 0: that term is absent). The items are packed once into panels of
// kLanes items, factor-major (panel p, factor d: items 16p..16p+15 side by side), so the
// kernel computes a tile of users x kLanes items with one vector multiply-add per user and
// factor and no horizontal sums. The kernel is compiled for AVX-512, AVX2+FMA and the
// baseline ISA, picked at run time (GCC target_clones): the default build stays portable.
// Scores agree with a plain dot product up to float rounding (the order of the k products
// is the natural one; FMA machines round once per multiply-add).
//
// Thread safety: a PackedItems is immutable once built and may be read from any number of
// threads; ScoreUsers writes only `out`.
#pragma once

#include <cstddef>
#include <vector>

namespace psrec::models {

struct DotForm {
  int k = 0;
  int user_offset = -1;  // index in the user row of a term added to every score, or -1
  int item_offset = -1;  // index in the item row of the item's term, or -1
  float constant = 0;    // added with the user's term
};

class PackedItems {
 public:
  static constexpr size_t kLanes = 16;

  // REQUIRES: rows + i * stride holds the item row of form (k floats, and the offset).
  PackedItems(const DotForm& form, const float* rows, size_t stride, size_t n_items);

  const DotForm& form() const { return form_; }
  size_t n_items() const { return n_items_; }
  size_t panels() const { return offsets_.size() / kLanes; }
  // Panel p: k x kLanes floats, factor-major; the item terms of its items.
  const float* panel(size_t p) const { return panels_.data() + p * kLanes * form_.k; }
  const float* offsets(size_t p) const { return offsets_.data() + p * kLanes; }

 private:
  DotForm form_;
  size_t n_items_;
  std::vector<float> panels_;   // panels() * k * kLanes (items past n_items: zeros)
  std::vector<float> offsets_;  // panels() * kLanes (zeros without an item term)
};

// out[u * items.n_items() + i] = score(user u, item i) for users at user_rows + u *
// user_stride, u < n_users.
void ScoreUsers(const float* user_rows, size_t user_stride, size_t n_users,
                const PackedItems& items, float* out);

}  // namespace psrec::models
