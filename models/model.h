// Model: what a recommendation model is to the rest of psrec. Everything that knows what a
// row of a table means (factors, a bias, a global mean) lives behind this interface, in
// models/<name>/; the trainer, the servers, the checkpoint tools and the evaluation see
// tables of float rows, examples that index them, and a score.
//
// A model declares
//   - its tables (TableDecl): name, row layout, initializer, and what keys a row: the user
//     or the item id of an interaction. Table ids are positions in tables(). The job config
//     sets each table's optimizer and placement by name (tables { name: ... }); a table
//     keyed by user may be LOCAL (rows stay on the worker that owns the user's data).
//   - the fields of an example (FieldDecl): for every interaction, which row of which table
//     each field reads. Biased MF has two: the user's row and the item's row.
//   - scalars fitted on the training data before training (Fit), kept in checkpoints
//     (scalars(), RestoreScalars): biased MF's global mean.
//   - its maths, for both update modes and for scoring:
//       AccumulateGradients  server-side updates (training.update_mode GRADIENTS): adds each
//                            example's gradient to its rows' gradient buffers;
//       Step                 worker-side updates (DELTAS): steps each example's rows in
//                            place, one example after another, with the tables' optimizers;
//       Score                one example's score from its rows (training loss, evaluation,
//                            `psrec ckpt topk`).
//   - its cold-start rule (ColdStartRow): the row it assumes for a key that has none.
//
// Adding a model: a folder models/<name>/ with a class implementing Model, one line in
// models/registry.cc, one ModelConfig.Type value in common/proto/config.proto (docs/models.md).
//
// Thread safety: a Model is immutable once fitted or restored; its const methods may run
// on several threads for disjoint rows.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "models/dot_scores.h"
#include "table/optimizer.h"

namespace psrec::models {

// How a model is judged by default (evaluation.protocol AUTO): by the error of its predicted
// ratings, or by how it ranks items (docs/evaluation.md).
enum class Evaluation { kRatingError, kRanking };

// Which id of an interaction names a table's rows. kDense: no id; the table is one flat
// vector of dense weights (an MLP's layers) stored in fixed-size blocks, keys 0..blocks-1.
enum class KeyedBy { kUser, kItem, kDense };

// How a dense parameter's floats start (seeded by table and block key, so every server
// count creates the same values).
enum class DenseInit {
  kZeros,          // biases
  kXavierUniform,  // U(-a, a), a = sqrt(6 / (fan_in + fan_out)), fan_in = cols, fan_out = rows
  kHeUniform,      // U(-a, a), a = sqrt(6 / fan_in)
  kNormal,         // N(0, init_scale^2)
};

// One parameter matrix (a layer's weights, or its biases) inside a dense table's flat
// vector, row-major: element (r, c) at offset + r * cols + c.
struct DenseParam {
  std::string name;  // "mlp.0.weight": what `psrec ckpt show/export` call it
  int rows = 0;
  int cols = 1;
  size_t offset = 0;  // first float in the table's flat vector
  DenseInit init = DenseInit::kZeros;
  float init_scale = 0;  // kNormal's std
};

// A named run of floats in a row ("factors", "bias"), for tools that print or export rows.
struct RowSegment {
  std::string name;
  int floats = 0;
  // Column names in exports: `column` alone for one float, column0, column1... for more.
  std::string column;
};

struct TableDecl {
  std::string name;    // the config's tables { name } and checkpoint file names
  KeyedBy keyed_by = KeyedBy::kItem;
  int payload_floats = 0;  // floats per row the model reads (optimizer state comes after)
  // The payload's layout, in order, summing to payload_floats. The first segment is the
  // row's embedding (`psrec ckpt similar` compares it by cosine, `ckpt info` reports norms).
  std::vector<RowSegment> segments;
  // Initializer: the first payload_floats - zero_tail floats ~ N(0, init_std^2) seeded by
  // (table, key); the last zero_tail start at 0.
  float init_std = 0;
  int zero_tail = 0;
  // kDense tables only: the parameters of the flat vector, which is stored as rows of
  // payload_floats floats ("blocks", the last one zero-padded) with keys 0..dense_blocks()-1
  // and pulled whole by every worker. init_std and zero_tail are unused for them.
  std::vector<DenseParam> dense;

  size_t dense_floats() const {
    size_t end = 0;
    for (const DenseParam& p : dense) {
      end = std::max(end, p.offset + static_cast<size_t>(p.rows) * static_cast<size_t>(p.cols));
    }
    return end;
  }
  int dense_blocks() const {
    return payload_floats == 0 ? 0
                               : static_cast<int>((dense_floats() + payload_floats - 1) /
                                                  static_cast<size_t>(payload_floats));
  }
};

struct FieldDecl {
  std::string name;  // for messages: "user", "item"
  int table = 0;     // index into tables()
};

// How example i of a batch finds its row of one field, and that row's gradient buffer.
// The row is rows + index(i) * stride, or addresses[index(i)] for rows that stay where they
// are (LOCAL tables); index(i) = index[i * index_stride], a slot into the batch's unique
// rows (index_stride 1) or a dense id read straight from packed interactions.
struct RowLookup {
  float* rows = nullptr;
  float* const* addresses = nullptr;  // when set, rows is unused
  size_t stride = 0;                  // floats from one row to the next in `rows`
  const uint32_t* index = nullptr;
  size_t index_stride = 1;            // in uint32s
  // GRADIENTS: example i's gradient is added at grads + index(i) * payload_floats.
  float* grads = nullptr;

  uint32_t index_of(size_t i) const { return index[i * index_stride]; }
  float* row(size_t i) const {
    return addresses != nullptr ? addresses[index_of(i)]
                                : rows + static_cast<size_t>(index_of(i)) * stride;
  }
};

// How a field's rows are stepped by Step: with the table's optimizer, whose state floats
// follow each row's payload (RowLookup::stride covers both for pulled copies).
struct RowStepper {
  const table::Optimizer* optimizer = nullptr;
  float learning_rate = 0;
  int state_floats = 0;
};

// A dense table's whole flat vector as the worker holds it for one batch (contiguous, the
// blocks concatenated), one per kDense table in table order. AccumulateGradients adds the
// batch's gradient at grads (zeroed by the caller); Step steps params in place with the
// stepper: one call stepper.optimizer->UpdateRow(params, state, grad, floats,
// stepper.learning_rate) over the whole vector with the model's gradient (floats floats),
// which steps every block with the table's optimizer as its server would
// (train/dense_block_optimizer.h). Call it over the whole vector, never on a part: the
// state is the blocks' states concatenated, not per float. params and grads hold the
// blocks' padding too (zero; a model reads and writes only the first floats).
struct DenseView {
  float* params = nullptr;
  float* grads = nullptr;  // GRADIENTS
  float* state = nullptr;  // DELTAS: stepper.state_floats floats, for stepper.optimizer
  size_t floats = 0;       // dense_floats()
  RowStepper stepper;      // DELTAS
};

// A batch of examples. fields[f] and steppers[f] belong to the model's field f.
struct ExampleBatch {
  size_t size = 0;
  const float* labels = nullptr;  // example i's label at labels[i * label_stride]
  size_t label_stride = 1;        // in floats
  std::span<const RowLookup> fields;
  std::span<const RowStepper> steppers;  // Step only
  std::span<const DenseView> dense;      // models with kDense tables
  float label(size_t i) const { return labels[i * label_stride]; }
};

// What the trainer makes of the training interactions (train/implicit_batches.h):
//   kRatings    one example per rating: fields user, item; label the rating;
//   kPairwise   implicit positives, negatives_per_positive examples per positive: fields
//               user, positive item, sampled negative item; label 1;
//   kPointwise  implicit positives, 1 + negatives_per_positive examples per positive:
//               fields user, item; label 1 for the positive, 0 for each sampled negative.
enum class Examples { kRatings, kPairwise, kPointwise };

// Named model scalars (biased MF: "global_mean"), as a checkpoint keeps them.
using ModelScalars = std::map<std::string, double>;

// Sums values element-wise over every worker of the job (a Collective's AllReduceSum).
using ReduceSum = std::function<Status(std::span<double>)>;

class Model {
 public:
  virtual ~Model() = default;

  // The registry name ("biased_mf") and a phrase for the run's first line ("biased MF").
  virtual std::string_view name() const = 0;
  virtual std::string_view description() const = 0;

  virtual std::span<const TableDecl> tables() const = 0;
  virtual std::span<const FieldDecl> fields() const = 0;

  // Fits the scalars on this worker's training labels, reduced over workers with
  // reduce_sum (every worker gets the same values). REQUIRES: called once, before training.
  virtual Status Fit(std::span<const float> train_labels, const ReduceSum& reduce_sum) = 0;
  virtual ModelScalars scalars() const = 0;
  // Sets the scalars a checkpoint kept; an error names a missing or unknown scalar.
  virtual Status RestoreScalars(const ModelScalars& scalars) = 0;

  // Adds every example's gradient to its rows' buffers (RowLookup::grads, zeroed by the
  // caller); returns the summed loss of the examples at the rows as given.
  virtual double AccumulateGradients(const ExampleBatch& batch) const = 0;

  // Steps each example's rows in place, in order (each example sees the steps of those
  // before it); returns the summed loss before each step. `scratch` grows as needed.
  virtual double Step(const ExampleBatch& batch, std::vector<float>* scratch) const = 0;

  // The score of one example from its rows, one per field (a predicted rating for rating
  // models). REQUIRES: rows[f] holds tables()[fields()[f].table].payload_floats floats.
  virtual float Score(std::span<const float* const> rows) const = 0;

  // Scores of n_users users x n_items items, as Score would give them for (user row, item
  // row): out[u * n_items + i] for user row user_rows + u * user_stride and item row
  // item_rows + i * item_stride. The default calls Score per pair; a model with a
  // dot-product form overrides it with a matrix product (full-ranking evaluation,
  // `psrec ckpt topk`). REQUIRES: ScoresUserItem().
  virtual void ScoreBlock(const float* user_rows, size_t user_stride, size_t n_users,
                          const float* item_rows, size_t item_stride, size_t n_items,
                          float* out) const {
    for (size_t u = 0; u < n_users; ++u) {
      for (size_t i = 0; i < n_items; ++i) {
        const float* rows[2] = {user_rows + u * user_stride, item_rows + i * item_stride};
        out[u * n_items + i] = Score(rows);
      }
    }
  }

  // Whether Score (and ScoreBlock) rate a user against an item from just those two rows:
  // field 0 reads a table keyed by user, field 1 one keyed by item, and Score needs no
  // further field (BPR-MF's third field, the sampled negative, serves training only).
  // Ranking evaluation, `psrec ckpt topk` and `psrec recommend` score through this.
  bool ScoresUserItem() const {
    return fields().size() >= 2 && table_of_field(0).keyed_by == KeyedBy::kUser &&
           table_of_field(1).keyed_by == KeyedBy::kItem &&
           (fields().size() == 2 || examples() == Examples::kPairwise);
  }
  // The model's score as a dot product plus offsets (models/dot_scores.h), for a model
  // whose fields are (user row, item row): full-ranking evaluation then scores with the
  // packed kernel instead of ScoreBlock. nullopt: no such form.
  virtual std::optional<DotForm> dot_form() const { return std::nullopt; }

  // The evaluation evaluation.protocol AUTO picks for this model.
  virtual Evaluation evaluation() const { return Evaluation::kRatingError; }

  // Fills `row` with what the model assumes for a key of table `table` that has no row: a
  // user or item that training never saw (only in the test data, or asked for by a tool).
  // Evaluation reads without creating rows and scores such keys with this row: a row made
  // by a read would hold a random initial value that training never touched, and would
  // stay in the model (checkpoints, `psrec ckpt topk`). Deterministic and independent of
  // the key. REQUIRES: row holds tables()[table].payload_floats floats.
  virtual void ColdStartRow(int table, float* row) const = 0;

  // Models with kDense tables: the dense vectors Score and ScoreBlock read, one per kDense
  // table in table order (the caller pulls them whole before evaluating or scoring). Not
  // safe against concurrent Score calls; the default (no dense tables) ignores them.
  virtual void SetScoringDense(std::vector<std::vector<float>> dense) { (void)dense; }

  virtual Examples examples() const { return Examples::kRatings; }
  // The name of the per-example loss Step and AccumulateGradients return, as reports show
  // it ("squared error", "BPR log loss").
  virtual std::string_view loss_name() const { return "squared error"; }

  // The table that field `field` reads, and the first field keyed by `keyed_by` (-1: none).
  const TableDecl& table_of_field(int field) const {
    return tables()[static_cast<size_t>(fields()[static_cast<size_t>(field)].table)];
  }
  int TableKeyedBy(KeyedBy keyed_by) const {
    for (size_t t = 0; t < tables().size(); ++t) {
      if (tables()[t].keyed_by == keyed_by) return static_cast<int>(t);
    }
    return -1;
  }
};

}  // namespace psrec::models
