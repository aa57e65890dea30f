#include "train/dense_tables.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include <glog/logging.h>

#include "table/row_initializer.h"

namespace psrec::train {

DenseTables::DenseTables(std::vector<TableAccess*> tables, uint64_t seed) : seed_(seed) {
  for (TableAccess* access : tables) {
    CHECK(access->spec().is_dense()) << "table " << access->spec().name << " is not dense";
    Dense dense;
    dense.access = access;
    dense.keys.resize(access->spec().blocks());
    std::iota(dense.keys.begin(), dense.keys.end(), uint64_t{0});
    dense.optimizer = std::make_unique<DenseBlockOptimizer>(&access->optimizer(), access->dim());
    tables_.push_back(std::move(dense));
  }
}

size_t DenseTables::RowFloats(const Dense& dense, bool with_state) {
  return static_cast<size_t>(dense.access->dim() +
                             (with_state ? dense.access->state_floats() : 0));
}

void DenseTables::StartEpoch(int epoch) {
  for (Dense& dense : tables_) {
    const config::OptimizerConfig& opt = dense.access->spec().optimizer;
    dense.learning_rate = opt.learning_rate() * std::pow(opt.lr_decay(), static_cast<float>(epoch));
  }
}

Status DenseTables::BeginPull(int clock, bool with_state, DenseBatch* batch) {
  batch->tables.resize(tables_.size());
  batch->with_state = with_state;
  batch->ready = false;
  for (size_t t = 0; t < tables_.size(); ++t) {
    Dense& dense = tables_[t];
    DenseBatch::Table& table = batch->tables[t];
    table.rows.resize(dense.keys.size() * RowFloats(dense, with_state));
    if (with_state) {
      ASSIGN_OR_RETURN(table.ticket,
                       dense.access->BeginPullWithState(dense.keys, table.rows.data(), clock));
    } else {
      ASSIGN_OR_RETURN(table.ticket, dense.access->BeginPull(dense.keys, table.rows.data(), clock));
    }
  }
  return Status::OK();
}

Status DenseTables::Await(DenseBatch* batch) {
  if (batch->ready) return Status::OK();
  for (size_t t = 0; t < tables_.size(); ++t) {
    RETURN_IF_ERROR(tables_[t].access->EndPull(batch->tables[t].ticket));
  }
  batch->ready = true;
  return Status::OK();
}

void DenseTables::MakeViews(DenseBatch* batch) {
  CHECK(batch->ready) << "dense views of a pull not waited for";
  batch->views.resize(tables_.size());
  for (size_t t = 0; t < tables_.size(); ++t) {
    const Dense& dense = tables_[t];
    DenseBatch::Table& table = batch->tables[t];
    const size_t dim = static_cast<size_t>(dense.access->dim());
    const size_t blocks = dense.keys.size();
    models::DenseView& view = batch->views[t];
    view = models::DenseView();
    view.floats = dense.access->spec().dense_floats;
    if (!batch->with_state) {
      // Rows without state are the flat vector already.
      table.grads.assign(table.rows.size(), 0.0f);
      view.params = table.rows.data();
      view.grads = table.grads.data();
      continue;
    }
    const size_t state = static_cast<size_t>(dense.access->state_floats());
    table.params.resize(blocks * dim);
    table.state.resize(blocks * state);
    for (size_t b = 0; b < blocks; ++b) {
      const float* row = table.rows.data() + b * (dim + state);
      std::copy(row, row + dim, table.params.data() + b * dim);
      std::copy(row + dim, row + dim + state, table.state.data() + b * state);
    }
    view.params = table.params.data();
    view.state = table.state.data();
    view.stepper = {dense.optimizer.get(), dense.learning_rate,
                    dense.optimizer->state_floats(static_cast<int>(view.floats))};
  }
}

Status DenseTables::PushGradients(const DenseBatch& batch) {
  for (size_t t = 0; t < tables_.size(); ++t) {
    const Dense& dense = tables_[t];
    RETURN_IF_ERROR(dense.access->Push(dense.keys, batch.tables[t].grads, dense.learning_rate));
  }
  return Status::OK();
}

Status DenseTables::PushChanges(DenseBatch* batch) {
  for (size_t t = 0; t < tables_.size(); ++t) {
    const Dense& dense = tables_[t];
    DenseBatch::Table& table = batch->tables[t];
    const size_t dim = static_cast<size_t>(dense.access->dim());
    const size_t state = static_cast<size_t>(dense.access->state_floats());
    for (size_t b = 0; b < dense.keys.size(); ++b) {
      float* row = table.rows.data() + b * (dim + state);
      for (size_t j = 0; j < dim; ++j) row[j] = table.params[b * dim + j] - row[j];
      for (size_t j = 0; j < state; ++j) row[dim + j] = table.state[b * state + j] - row[dim + j];
    }
    RETURN_IF_ERROR(dense.access->PushDelta(dense.keys, table.rows));
  }
  return Status::OK();
}

void DenseTables::CarryChanges(const DenseBatch& done, DenseBatch* next) {
  for (size_t t = 0; t < done.tables.size(); ++t) {
    const std::vector<float>& changes = done.tables[t].rows;
    std::vector<float>& rows = next->tables[t].rows;
    CHECK_EQ(changes.size(), rows.size());
    for (size_t j = 0; j < rows.size(); ++j) rows[j] += changes[j];
  }
}

Result<std::vector<std::vector<float>>> DenseTables::PullForScoring(int clock) {
  std::vector<std::vector<float>> vectors(tables_.size());
  for (size_t t = 0; t < tables_.size(); ++t) {
    Dense& dense = tables_[t];
    const TableSpec& spec = dense.access->spec();
    const size_t dim = static_cast<size_t>(spec.dim);
    std::vector<float>& vector = vectors[t];
    vector.resize(dense.keys.size() * dim);
    std::vector<uint8_t> missing(dense.keys.size());
    ASSIGN_OR_RETURN(TableAccess::Ticket ticket,
                     dense.access->BeginPullReadOnly(dense.keys, vector.data(), missing.data(),
                                                     clock));
    RETURN_IF_ERROR(dense.access->EndPull(ticket));
    for (size_t b = 0; b < dense.keys.size(); ++b) {
      if (missing[b] != 0) table::InitializeRow(spec, seed_, dense.keys[b], vector.data() + b * dim);
    }
    vector.resize(spec.dense_floats);
  }
  return vectors;
}

}  // namespace psrec::train
