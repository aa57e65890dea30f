// TableAccess: how the trainer reads and updates one table, wherever its rows live.
// RemoteTableAccess goes through the PS client (rows on the servers); LocalTableAccess owns
// an EmbeddingTable in the worker (user_table placement LOCAL) and never touches the network.
//
// A pull is split in Begin/End so the trainer can issue the next batch's pull before it
// computes the current batch. LocalTableAccess copies at End, so a local pull always sees
// every push made before it is waited for.
//
// Thread safety: one trainer thread per TableAccess.
#pragma once

#include <cstdint>
#include <memory>
#include <deque>
#include <span>

#include "common/keys.h"
#include "common/status.h"
#include "common/table_spec.h"
#include "ps/embedding_table.h"
#include "worker/ps_client.h"

namespace psrec::worker {

class TableAccess {
 public:
  using Ticket = uint64_t;
  virtual ~TableAccess() = default;
  virtual int dim() const = 0;
  // REQUIRES: keys and out (keys.size() * dim() floats) stay valid until EndPull.
  virtual Result<Ticket> BeginPull(std::span<const uint64_t> keys, float* out, int clock) = 0;
  virtual Status EndPull(Ticket ticket) = 0;
  virtual Status Push(std::span<const uint64_t> keys, std::span<const float> grads, float lr) = 0;
};

class RemoteTableAccess : public TableAccess {
 public:
  RemoteTableAccess(PsClient* client, TableId table, int dim)
      : client_(client), table_(table), dim_(dim) {}
  int dim() const override { return dim_; }
  Result<Ticket> BeginPull(std::span<const uint64_t> keys, float* out, int clock) override;
  Status EndPull(Ticket ticket) override;
  Status Push(std::span<const uint64_t> keys, std::span<const float> grads, float lr) override;

 private:
  PsClient* client_;
  TableId table_;
  int dim_;
};

class LocalTableAccess : public TableAccess {
 public:
  LocalTableAccess(const TableSpec& spec, uint64_t seed) : table_(spec, seed) {}
  int dim() const override { return table_.dim(); }
  Result<Ticket> BeginPull(std::span<const uint64_t> keys, float* out, int clock) override;
  Status EndPull(Ticket ticket) override;
  Status Push(std::span<const uint64_t> keys, std::span<const float> grads, float lr) override;
  ps::EmbeddingTable& table() { return table_; }

 private:
  struct Pending {
    std::span<const uint64_t> keys;
    float* out;
  };
  ps::EmbeddingTable table_;
  std::deque<Pending> pending_;  // tickets first_ticket_, first_ticket_ + 1, ...
  Ticket first_ticket_ = 0;
};

}  // namespace psrec::worker
