#include "train/thread_collective.h"

#include <algorithm>

namespace psrec::train {

class ThreadCollective : public Collective {
 public:
  ThreadCollective(ThreadCollectiveGroup* group, int rank) : group_(group), rank_(rank) {}
  int rank() const override { return rank_; }
  int size() const override { return group_->size_; }
  Status AllReduceSum(std::span<double> values) override {
    return group_->Reduce(rank_, values, ThreadCollectiveGroup::Op::kSum);
  }
  Status AllReduceMax(std::span<double> values) override {
    return group_->Reduce(rank_, values, ThreadCollectiveGroup::Op::kMax);
  }
  Status Barrier() override { return group_->Reduce(rank_, {}, ThreadCollectiveGroup::Op::kSum); }

 private:
  ThreadCollectiveGroup* group_;
  int rank_;
};

ThreadCollectiveGroup::ThreadCollectiveGroup(int size) : size_(size), inputs_(size) {}

std::unique_ptr<Collective> ThreadCollectiveGroup::Member(int rank) {
  CHECK(rank >= 0 && rank < size_);
  return std::make_unique<ThreadCollective>(this, rank);
}

void ThreadCollectiveGroup::Abort() {
  std::lock_guard<std::mutex> lock(mu_);
  aborted_ = true;
  cv_.notify_all();
}

Status ThreadCollectiveGroup::Reduce(int rank, std::span<double> values, Op op) {
  std::unique_lock<std::mutex> lock(mu_);
  if (aborted_) return Status::Aborted("another worker failed");
  inputs_[rank].assign(values.begin(), values.end());
  const uint64_t my_generation = generation_;
  if (++arrived_ == size_) {
    result_ = inputs_[0];
    for (int r = 1; r < size_; ++r) {
      CHECK_EQ(inputs_[r].size(), result_.size()) << "members reduced different lengths";
      for (size_t i = 0; i < result_.size(); ++i) {
        result_[i] = op == Op::kSum ? result_[i] + inputs_[r][i]
                                    : std::max(result_[i], inputs_[r][i]);
      }
    }
    arrived_ = 0;
    ++generation_;
    cv_.notify_all();
  } else {
    cv_.wait(lock, [&] { return generation_ != my_generation || aborted_; });
    if (generation_ == my_generation) return Status::Aborted("another worker failed");
  }
  std::copy(result_.begin(), result_.end(), values.begin());
  return Status::OK();
}

}  // namespace psrec::train
