#include "train/compute_pool.h"

namespace psrec::train {

ComputePool::ComputePool(int threads) {
  for (int t = 1; t < threads; ++t) helpers_.emplace_back([this, t] { Help(t); });
}

ComputePool::~ComputePool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  for (std::thread& helper : helpers_) helper.join();
}

void ComputePool::Work(int thread) {
  for (size_t t = next_.fetch_add(1, std::memory_order_relaxed); t < tasks_;
       t = next_.fetch_add(1, std::memory_order_relaxed)) {
    (*task_)(t, thread);
  }
}

void ComputePool::Run(size_t tasks, const std::function<void(size_t, int)>& task) {
  if (helpers_.empty() || tasks <= 1) {
    for (size_t t = 0; t < tasks; ++t) task(t, 0);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    task_ = &task;
    tasks_ = tasks;
    next_.store(0, std::memory_order_relaxed);
    busy_ = static_cast<int>(helpers_.size());
    ++generation_;
  }
  wake_.notify_all();
  Work(0);
  std::unique_lock<std::mutex> lock(mu_);
  done_.wait(lock, [this] { return busy_ == 0; });
  task_ = nullptr;
}

void ComputePool::Help(int thread) {
  uint64_t seen = 0;
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    wake_.wait(lock, [&] { return stop_ || generation_ != seen; });
    if (stop_) return;
    seen = generation_;
    lock.unlock();
    Work(thread);  // task_ and tasks_ were written under mu_ before generation_ moved
    lock.lock();
    if (--busy_ == 0) done_.notify_one();
  }
}

}  // namespace psrec::train
