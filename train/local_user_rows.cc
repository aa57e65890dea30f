#include "train/local_user_rows.h"

namespace psrec::train {

void LocalUserRows::Resolve() {
  if (resolved_arena_ != nullptr && table_->size() == resolved_rows_ &&
      table_->rows().rows == resolved_arena_) {
    return;
  }
  // A fresh table: size the arena for the partition's users at once (growth doubles).
  if (table_->size() == 0) table_->Reserve(user_ids_.size());
  row_of_dense_.resize(user_ids_.size());
  table_->ResolveRows(user_ids_, row_of_dense_.data());
  resolved_rows_ = table_->size();
  resolved_arena_ = table_->rows().rows;
  const size_t stride = static_cast<size_t>(table_->row_floats());
  contiguous_ = true;
  for (size_t d = 0; d < row_of_dense_.size() && contiguous_; ++d) {
    contiguous_ = row_of_dense_[d] == row_of_dense_[0] + d * stride;
  }
  first_row_ = row_of_dense_.empty() ? nullptr : row_of_dense_[0];
  if (contiguous_ && !keep_addresses_) std::vector<float*>().swap(row_of_dense_);
}

}  // namespace psrec::train
