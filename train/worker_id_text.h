// The id text a worker writes into every checkpoint (checkpoint/id_text_file.h): the text of
// the string ids in its data, per table, and on resume the text it carries over from the
// checkpoint it resumed from, so that a resumed or resharded job's checkpoints still name
// every row that any earlier checkpoint named.
//
// Carrying: an entry of the old checkpoint is carried by worker PartitionOfUser(key, W) (one
// worker per key, whatever the table), unless that worker's data already has the key.
//
// Thread safety: pure functions.
#pragma once

#include <string>
#include <vector>

#include "checkpoint/checkpoint_reader.h"
#include "checkpoint/checkpoint_writer.h"
#include "common/status.h"
#include "data/dataset.h"
#include "table/table_spec.h"

namespace psrec::train {

// One IdTextToWrite (worker `worker`) for the table of `users` and the one of `items` when
// the worker's train or test shard has string ids for them; entries sorted by key, each key
// once, only ids whose text is not their key (checkpoint::NeedsIdText).
std::vector<checkpoint::IdTextToWrite> IdTextOfWorkerData(const data::WorkerData& data,
                                                          const TableSpec& users,
                                                          const TableSpec& items, int worker);

// Adds to `id_text` the entries of `checkpoint`'s id files that this worker carries (above),
// adding an IdTextToWrite for a table of `tables` that had none.
Status CarryCheckpointIdText(const checkpoint::LoadedCheckpoint& checkpoint,
                             const std::vector<TableSpec>& tables, int worker, int num_workers,
                             std::vector<checkpoint::IdTextToWrite>* id_text);

}  // namespace psrec::train
