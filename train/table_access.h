// TableAccess: how the trainer reads and updates one table, wherever its rows live.
// RemoteTableAccess goes through the PS client (rows on the servers); LocalTableAccess owns
// an table::EmbeddingTable in the worker (user_table placement LOCAL) and never touches the network.
//
// A pull is split in Begin/End so the trainer can issue the next batch's pull before it
// computes the current batch. LocalTableAccess copies at End, so a local pull always sees
// every push made before it is waited for. Training pulls create the rows they lack (with
// their initial value); a read-only pull (evaluation) creates none and says which keys had
// no row, so that evaluating never changes the model.
//
// Two ways to send updates back (training.update_mode): Push sends gradients for the rows'
// owner to apply with the table's optimizer; with PullWithState the worker gets each row's
// optimizer state too, steps the rows itself with optimizer(), and PushDelta sends the
// change of payload and state for the owner to add.
//
// local_table() is the table itself when the rows live in this worker (LOCAL), so that a
// trainer can train them in place and a checkpoint can copy them; null for remote rows.
//
// Thread safety: one trainer thread per TableAccess.
#pragma once

#include <cstdint>
#include <memory>
#include <deque>
#include <span>
#include <vector>

#include "common/keys.h"
#include "common/status.h"
#include "table/table_spec.h"
#include "table/embedding_table.h"
#include "client/ps_client.h"

namespace psrec::train {

class TableAccess {
 public:
  using Ticket = uint64_t;
  virtual ~TableAccess() = default;
  virtual const TableSpec& spec() const = 0;
  virtual int dim() const = 0;
  // REQUIRES: keys and out (keys.size() * dim() floats) stay valid until EndPull.
  virtual Result<Ticket> BeginPull(std::span<const uint64_t> keys, float* out, int clock) = 0;
  // BeginPull that creates no rows: a key without a row gets dim() zeros in out and
  // missing[i] = 1 (else 0). REQUIRES: missing (keys.size() bytes) valid until EndPull.
  virtual Result<Ticket> BeginPullReadOnly(std::span<const uint64_t> keys, float* out,
                                           uint8_t* missing, int clock) = 0;
  virtual Status EndPull(Ticket ticket) = 0;
  virtual Status Push(std::span<const uint64_t> keys, std::span<const float> grads, float lr) = 0;

  // table::Optimizer state floats per row (0 for SGD) and the optimizer, for worker-side steps.
  virtual int state_floats() const = 0;
  virtual const table::Optimizer& optimizer() const = 0;
  // BeginPull with each row's state: out holds keys.size() * (dim() + state_floats()) floats.
  virtual Result<Ticket> BeginPullWithState(std::span<const uint64_t> keys, float* out,
                                            int clock) = 0;
  // Adds deltas (keys.size() * (dim() + state_floats()) floats) to payloads and states.
  virtual Status PushDelta(std::span<const uint64_t> keys, std::span<const float> deltas) = 0;

  // The rows themselves when they are in this worker; null when they are remote.
  virtual table::EmbeddingTable* local_table() { return nullptr; }
};

class RemoteTableAccess : public TableAccess {
 public:
  RemoteTableAccess(client::PsClient* client, const TableSpec& spec);
  const TableSpec& spec() const override { return spec_; }
  int dim() const override { return dim_; }
  Result<Ticket> BeginPull(std::span<const uint64_t> keys, float* out, int clock) override;
  Result<Ticket> BeginPullReadOnly(std::span<const uint64_t> keys, float* out,
                                   uint8_t* missing, int clock) override;
  Status EndPull(Ticket ticket) override;
  Status Push(std::span<const uint64_t> keys, std::span<const float> grads, float lr) override;
  int state_floats() const override { return optimizer_->state_floats(dim_); }
  const table::Optimizer& optimizer() const override { return *optimizer_; }
  Result<Ticket> BeginPullWithState(std::span<const uint64_t> keys, float* out,
                                    int clock) override;
  Status PushDelta(std::span<const uint64_t> keys, std::span<const float> deltas) override;

 private:
  client::PsClient* client_;
  TableSpec spec_;
  TableId table_;
  int dim_;
  std::unique_ptr<table::Optimizer> optimizer_;
};

class LocalTableAccess : public TableAccess {
 public:
  LocalTableAccess(const TableSpec& spec, uint64_t seed) : table_(spec, seed) {}
  const TableSpec& spec() const override { return table_.spec(); }
  int dim() const override { return table_.dim(); }
  Result<Ticket> BeginPull(std::span<const uint64_t> keys, float* out, int clock) override;
  Result<Ticket> BeginPullReadOnly(std::span<const uint64_t> keys, float* out,
                                   uint8_t* missing, int clock) override;
  Status EndPull(Ticket ticket) override;
  Status Push(std::span<const uint64_t> keys, std::span<const float> grads, float lr) override;
  int state_floats() const override { return table_.state_floats(); }
  const table::Optimizer& optimizer() const override { return table_.optimizer(); }
  Result<Ticket> BeginPullWithState(std::span<const uint64_t> keys, float* out,
                                    int clock) override;
  Status PushDelta(std::span<const uint64_t> keys, std::span<const float> deltas) override;
  table::EmbeddingTable* local_table() override { return &table_; }

 private:
  struct Pending {
    std::span<const uint64_t> keys;
    float* out;
    bool with_state;
    uint8_t* missing;  // read-only pulls
  };
  void CopyExistingRows(const Pending& pull);

  table::EmbeddingTable table_;
  std::vector<const float*> found_rows_;  // read-only pulls
  std::deque<Pending> pending_;  // tickets first_ticket_, first_ticket_ + 1, ...
  Ticket first_ticket_ = 0;
};

}  // namespace psrec::train
