// Optimizers applied by the owner of a table's rows (a server shard, or a worker for a LOCAL
// user table) to pushed gradients, one row at a time.
//
// Each optimizer keeps `state_floats(dim)` floats of state per row, stored right after the
// row's payload in the table arena. InitState fills that state for a new row from its
// initial payload; UpdateRow applies one gradient. Adding an optimizer means a kernel, a
// class, a config enum value and a case in MakeOptimizer; tables and checkpoints only see
// state_floats. SGD and AdaGrad are here; Adam (m, v and a step count: 2*dim+1 floats) in
// table/adam_optimizer.h, FTRL-Proximal (z and n: 2*dim) in table/ftrl_optimizer.h.
//
// The kernels are pure functions over contiguous floats (Eigen maps, vectorized by Eigen).
// The virtual call costs one indirect branch per row. bench/table_bench.cc measures it
// against calling the kernel directly on cache-resident rows (dim 33, 2-core VM): AdaGrad
// 52M vs 57M rows/s, SGD 181M vs 194M rows/s; a push to a 1M-row table runs at 13-19M
// rows/s, bound by memory, so the dispatch is invisible there and the interface stays virtual.
//
// Thread safety: optimizers are immutable after construction; UpdateRow may run on several
// threads at once for different rows. The caller guarantees one writer per row.
#pragma once

#include <memory>

#include "common/proto/config.pb.h"

namespace psrec::table {

// w -= lr * g.  REQUIRES: w and g hold dim floats.
void SgdUpdateRow(float* w, const float* g, int dim, float lr);

// a += g^2; w -= lr * g / (sqrt(a) + epsilon).  REQUIRES: w, a, g hold dim floats.
void AdaGradUpdateRow(float* w, float* a, const float* g, int dim, float lr, float epsilon);

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  // Floats of state per row for rows of `dim` payload floats.
  virtual int state_floats(int dim) const = 0;
  // Initial state of a new row whose payload starts as w (FTRL derives its z from it).
  // REQUIRES: w holds dim floats, state holds state_floats(dim) floats.
  virtual void InitState(const float* w, float* state, int dim) const = 0;
  // Applies gradient g to payload w with learning rate lr, updating state.
  // REQUIRES: w and g hold dim floats, state holds state_floats(dim) floats.
  virtual void UpdateRow(float* w, float* state, const float* g, int dim, float lr) const = 0;
  virtual const char* name() const = 0;
  // Which optimizer this is, so that kernels can inline the common SGD step.
  virtual config::OptimizerConfig::Kind kind() const = 0;
};

class SgdOptimizer final : public Optimizer {
 public:
  int state_floats(int) const override { return 0; }
  void InitState(const float*, float*, int) const override {}
  void UpdateRow(float* w, float*, const float* g, int dim, float lr) const override {
    SgdUpdateRow(w, g, dim, lr);
  }
  const char* name() const override { return "sgd"; }
  config::OptimizerConfig::Kind kind() const override { return config::OptimizerConfig::SGD; }
};

class AdaGradOptimizer final : public Optimizer {
 public:
  AdaGradOptimizer(float initial_accumulator, float epsilon)
      : initial_accumulator_(initial_accumulator), epsilon_(epsilon) {}
  int state_floats(int dim) const override { return dim; }  // one accumulator per float
  void InitState(const float* w, float* state, int dim) const override;
  void UpdateRow(float* w, float* state, const float* g, int dim, float lr) const override {
    AdaGradUpdateRow(w, state, g, dim, lr, epsilon_);
  }
  const char* name() const override { return "adagrad"; }
  config::OptimizerConfig::Kind kind() const override {
    return config::OptimizerConfig::ADAGRAD;
  }

 private:
  float initial_accumulator_;
  float epsilon_;
};

// The optimizer a table's config asks for. The learning rate is not part of it: callers
// pass the (decayed) rate with every push.
std::unique_ptr<Optimizer> MakeOptimizer(const config::OptimizerConfig& config);

// State floats per row of `dim` payload floats for `config`, without building one.
int OptimizerStateFloats(const config::OptimizerConfig& config, int dim);

}  // namespace psrec::table
