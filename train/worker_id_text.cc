#include "train/worker_id_text.h"

#include <algorithm>
#include <unordered_set>
#include <utility>

#include "checkpoint/id_text_file.h"
#include "common/keys.h"

namespace psrec::train {

namespace {

void AddNames(std::span<const uint64_t> keys, const data::NameColumn& names,
              checkpoint::IdTextEntries* out) {
  for (size_t i = 0; i < names.size() && i < keys.size(); ++i) {
    if (checkpoint::NeedsIdText(keys[i], names[i])) out->emplace_back(keys[i], names[i]);
  }
}

// Sorted by key, each key once (train and test share most ids).
void SortUnique(checkpoint::IdTextEntries* entries) {
  std::sort(entries->begin(), entries->end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  entries->erase(std::unique(entries->begin(), entries->end(),
                             [](const auto& a, const auto& b) { return a.first == b.first; }),
                 entries->end());
}

checkpoint::IdTextToWrite* FindOrAdd(const TableSpec& spec, int worker,
                                     std::vector<checkpoint::IdTextToWrite>* id_text) {
  for (checkpoint::IdTextToWrite& text : *id_text) {
    if (text.table == spec.id) return &text;
  }
  checkpoint::IdTextToWrite& added = id_text->emplace_back();
  added.table = spec.id;
  added.table_name = spec.name;
  added.worker = worker;
  return &added;
}

}  // namespace

std::vector<checkpoint::IdTextToWrite> IdTextOfWorkerData(const data::WorkerData& data,
                                                          const TableSpec& users,
                                                          const TableSpec& items, int worker) {
  std::vector<checkpoint::IdTextToWrite> out;
  auto add = [&](const TableSpec& spec, bool of_users) {
    checkpoint::IdTextEntries entries;
    for (const data::RatingsShard* shard : {&data.train, &data.test}) {
      if (of_users) AddNames(shard->user_ids, shard->user_names, &entries);
      else AddNames(shard->item_ids, shard->item_names, &entries);
    }
    if (entries.empty()) return;
    SortUnique(&entries);
    FindOrAdd(spec, worker, &out)->entries = std::move(entries);
  };
  add(users, /*of_users=*/true);
  add(items, /*of_users=*/false);
  return out;
}

Status CarryCheckpointIdText(const checkpoint::LoadedCheckpoint& checkpoint,
                             const std::vector<TableSpec>& tables, int worker, int num_workers,
                             std::vector<checkpoint::IdTextToWrite>* id_text) {
  for (const TableSpec& spec : tables) {
    const checkpoint::TableInfo* saved = checkpoint.FindTable(spec.name);
    if (saved == nullptr) continue;
    ASSIGN_OR_RETURN(checkpoint::IdTextMap old, checkpoint::ReadIdText(checkpoint, saved->id()));
    if (old.empty()) continue;
    checkpoint::IdTextToWrite* text = FindOrAdd(spec, worker, id_text);
    std::unordered_set<uint64_t> have;
    for (const auto& entry : text->entries) have.insert(entry.first);
    for (auto& [key, name] : old) {
      if (PartitionOfUser(key, num_workers) == worker && !have.count(key)) {
        text->entries.emplace_back(key, std::move(name));
      }
    }
    SortUnique(&text->entries);
    if (text->entries.empty()) {
      id_text->erase(id_text->begin() + (text - id_text->data()));
    }
  }
  return Status::OK();
}

}  // namespace psrec::train
