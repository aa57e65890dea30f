// ComputePool: training.compute_threads threads that step one batch's tiles together. The
// caller is one of them; the others wait on a condition variable between calls, so a call
// costs a wake-up, not a thread start (a 1024-rating batch would not pay for one).
//
// Thread safety: Run is called by one thread at a time (the trainer's).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace psrec::train {

class ComputePool {
 public:
  // `threads` >= 1 in all, the caller included.
  explicit ComputePool(int threads);
  ~ComputePool();
  ComputePool(const ComputePool&) = delete;
  ComputePool& operator=(const ComputePool&) = delete;

  int threads() const { return static_cast<int>(helpers_.size()) + 1; }

  // Runs task(t, thread) for every t in [0, tasks), each once, on the pool's threads
  // (`thread` in [0, threads()), 0 the caller); returns when all are done. Tasks are taken
  // in order by whichever thread is free, so a task must not depend on which runs it.
  void Run(size_t tasks, const std::function<void(size_t task, int thread)>& task);

 private:
  void Help(int thread);
  void Work(int thread);

  std::vector<std::thread> helpers_;
  std::mutex mu_;
  std::condition_variable wake_, done_;
  uint64_t generation_ = 0;  // guarded by mu_: bumped by each Run
  int busy_ = 0;             // guarded by mu_: helpers still in the current Run
  bool stop_ = false;        // guarded by mu_
  const std::function<void(size_t, int)>* task_ = nullptr;
  size_t tasks_ = 0;
  std::atomic<size_t> next_{0};
};

}  // namespace psrec::train
