// psrec ckpt show|topk|similar: single rows, recommendations and neighbours from a checkpoint.
// Rows are streamed from the files (no table is built), so these work on checkpoints larger
// than memory allows for a second copy.
#include <algorithm>
#include <cmath>
#include <iostream>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/keys.h"
#include "data/text_reader.h"
#include "cli/ckpt_tools.h"
#include "cli/ckpt_util.h"

namespace psrec::cli::ckpt {

namespace {

struct Row {
  std::vector<float> payload;
  std::vector<float> state;
};

// The row of `key` in `table`, or nullopt.
Result<std::optional<Row>> FindRow(const checkpoint::LoadedCheckpoint& ckpt,
                                   const checkpoint::TableInfo& table, uint64_t key) {
  std::optional<Row> found;
  Status s = checkpoint::ForEachCheckpointRow(ckpt, table.id(), [&](uint64_t k, const float* p,
                                                            const float* st) {
    if (k != key || found) return;
    found = Row{std::vector<float>(p, p + table.dim()),
                st ? std::vector<float>(st, st + table.state_floats()) : std::vector<float>()};
  });
  if (!s.ok()) return s;
  return found;
}

std::string FloatList(const float* v, int n) {
  std::string out = "[";
  for (int i = 0; i < n; ++i) {
    if (i > 0) out += ',';
    out += Num(v[i]);
  }
  return out + "]";
}

struct Scored {
  double score;
  uint64_t key;
};

std::vector<Scored> TopOf(std::vector<Scored> all, int k) {
  const size_t n = std::min<size_t>(all.size(), static_cast<size_t>(std::max(k, 0)));
  std::partial_sort(all.begin(), all.begin() + n, all.end(), [](const Scored& a, const Scored& b) {
    return a.score != b.score ? a.score > b.score : a.key < b.key;
  });
  all.resize(n);
  return all;
}

void PrintRanked(const std::vector<Scored>& ranked, const IdLabels& labels,
                 const std::map<uint64_t, std::string>& names, bool json,
                 const char* score_name) {
  if (json) {
    std::cout << "[";
    for (size_t i = 0; i < ranked.size(); ++i) {
      auto it = names.find(ranked[i].key);
      Json j{{"rank", i + 1},
             {"id", Utf8OrLatin1(labels(ranked[i].key))},
             {score_name, NumJson(ranked[i].score)}};
      if (it != names.end()) j["name"] = Utf8OrLatin1(it->second);  // ML-100K titles: latin-1
      std::cout << (i ? ",\n " : "") << JsonText(j);  // one item per line
    }
    std::cout << "]\n";
    return;
  }
  for (size_t i = 0; i < ranked.size(); ++i) {
    auto it = names.find(ranked[i].key);
    std::cout << (i + 1) << "\t" << labels(ranked[i].key) << "\t" << Num(ranked[i].score);
    if (it != names.end()) std::cout << "\t" << it->second;  // bytes as they are (latin-1)
    std::cout << "\n";
  }
}

}  // namespace

int RunShow(int argc, char** argv) {
  std::string table_name, id;
  bool json = false;
  std::vector<std::string> positional;
  FlagSet flags("psrec ckpt show",
                "Print one row: factors, bias and optimizer state; for a dense table (an MLP's "
                "weights), each parameter's name, shape and values.");
  flags.AddString("table", &table_name, "table name (user, item, a dense table)",
                  /*required=*/true);
  flags.AddString("id", &id,
                  "id as in the data (0155061224, 034545104X), or #<hex key>; not for a dense "
                  "table");
  flags.AddBool("json", &json, "print JSON");
  flags.SetPositional("CKPT", &positional, 1, 1);
  if (int rc = ParseToolFlags(&flags, argc, argv); rc >= 0) return rc;
  Result<checkpoint::LoadedCheckpoint> ckpt = OpenCheckpoint(positional[0], /*verify=*/false);
  if (!ckpt.ok()) return Fail("show", ckpt.status());
  Result<const checkpoint::TableInfo*> table = FindTableNamed(*ckpt, table_name);
  if (!table.ok()) return Fail("show", table.status());
  Result<std::unique_ptr<models::Model>> model = ModelOfCheckpoint(*ckpt);
  if (!model.ok()) return Fail("show", model.status());
  if (DeclOf(**model, **table).keyed_by == models::KeyedBy::kDense) {
    return ShowDense(*ckpt, **model, **table, json);
  }
  if (id.empty()) {
    std::cerr << "psrec ckpt show: --id is required for table " << table_name << "\n"
              << flags.Usage();
    return kExitUsage;
  }
  Result<uint64_t> key = KeyOfArgument(id);
  if (!key.ok()) return Fail("show", key.status());
  Result<std::optional<Row>> row = FindRow(*ckpt, **table, *key);
  if (!row.ok()) return Fail("show", row.status());
  if (!*row) return Fail("show", Status::NotFound("no row " + id + " in table " + table_name));
  const Row& r = **row;
  // The row as the model lays it out: named segments (biased MF: factors, then the bias).
  const std::vector<models::RowSegment>& segments = DeclOf(**model, **table).segments;
  Result<IdLabels> labels = IdLabels::Of(*ckpt, (*table)->id());
  if (!labels.ok()) return Fail("show", labels.status());
  if (json) {
    auto floats = [](const float* v, size_t n) {
      Json list = Json::array();
      for (size_t i = 0; i < n; ++i) list.push_back(NumJson(v[i]));
      return list;
    };
    Json j;
    j["table"] = table_name;
    j["id"] = Utf8OrLatin1((*labels)(*key));
    int offset = 0;
    for (const models::RowSegment& segment : segments) {
      const float* values = r.payload.data() + offset;
      offset += segment.floats;
      j[segment.name] = segment.floats == 1 ? NumJson(values[0])
                                            : floats(values, static_cast<size_t>(segment.floats));
    }
    j["state"] = floats(r.state.data(), r.state.size());
    std::cout << JsonText(j) << "\n";
    return kExitOk;
  }
  std::cout << table_name << " " << (*labels)(*key) << "\n";
  int offset = 0;
  for (const models::RowSegment& segment : segments) {
    const float* values = r.payload.data() + offset;
    offset += segment.floats;
    if (segment.floats == 1) {
      std::cout << "  " << segment.name << ": " << Num(values[0]) << "\n";
      continue;
    }
    double sq = 0;
    for (int i = 0; i < segment.floats; ++i) sq += double{values[i]} * values[i];
    std::cout << "  " << segment.name << " (" << segment.floats << ", L2 " << Num(std::sqrt(sq))
              << "): " << FloatList(values, segment.floats) << "\n";
  }
  if (!r.state.empty()) {
    std::cout << "  optimizer state ("
              << config::OptimizerConfig::Kind_Name((*table)->optimizer().kind()) << "): "
              << FloatList(r.state.data(), static_cast<int>(r.state.size())) << "\n";
  }
  return kExitOk;
}

int RunTopK(int argc, char** argv) {
  std::string user, exclude_seen, item_names_path;
  int k = 10;
  bool json = false;
  std::vector<std::string> positional;
  FlagSet flags("psrec ckpt topk", "Top items for a user by the model's score.");
  flags.AddString("user", &user, "user id as in the data (string ids too), or #<hex key>",
                  /*required=*/true);
  flags.AddInt("k", &k, "items to list");
  flags.AddString("exclude-seen", &exclude_seen,
                  "ratings file (e.g. u1.base): leave out the items the user rated");
  flags.AddString("item-names", &item_names_path, "id|title|... file (e.g. ML-100K u.item)");
  flags.AddBool("json", &json, "print JSON");
  flags.SetPositional("CKPT", &positional, 1, 1);
  if (int rc = ParseToolFlags(&flags, argc, argv); rc >= 0) return rc;
  if (k < 1) return Fail("topk", Status::InvalidArgument("-k must be >= 1"));
  Result<uint64_t> user_key = KeyOfArgument(user);
  if (!user_key.ok()) return Fail("topk", user_key.status());
  Result<checkpoint::LoadedCheckpoint> ckpt = OpenCheckpoint(positional[0], /*verify=*/false);
  if (!ckpt.ok()) return Fail("topk", ckpt.status());
  Result<std::unique_ptr<models::Model>> model = ModelOfCheckpoint(*ckpt);
  if (!model.ok()) return Fail("topk", model.status());
  if (!(*model)->ScoresUserItem()) {
    return Fail("topk", Status::InvalidArgument("model " + std::string((*model)->name()) +
                                                " does not score a user and an item"));
  }
  const checkpoint::TableInfo* users =
      ckpt->FindTable(static_cast<TableId>((*model)->fields()[0].table));
  const checkpoint::TableInfo* items =
      ckpt->FindTable(static_cast<TableId>((*model)->fields()[1].table));
  if (users == nullptr || items == nullptr) {
    return Fail("topk", Status::InvalidArgument(positional[0] + ": needs the model's " +
                                                (*model)->table_of_field(0).name + " and " +
                                                (*model)->table_of_field(1).name + " tables"));
  }
  Result<std::optional<Row>> user_row = FindRow(*ckpt, *users, *user_key);
  if (!user_row.ok()) return Fail("topk", user_row.status());
  if (!*user_row) return Fail("topk", Status::NotFound("no user " + user + " in the checkpoint"));

  std::set<uint64_t> seen;
  if (!exclude_seen.empty()) {
    Result<data::RatingColumns> ratings =
        data::ReadRatingsFile(exclude_seen, config::DataConfig(), nullptr);
    if (!ratings.ok()) return Fail("topk", ratings.status());
    for (size_t i = 0; i < ratings->size(); ++i) {
      if (ratings->user_ids[ratings->user_index[i]] == *user_key) {
        seen.insert(ratings->item_ids[ratings->item_index[i]]);
      }
    }
  }
  std::map<uint64_t, std::string> names;
  if (!item_names_path.empty()) {
    Result<std::map<uint64_t, std::string>> read = ReadItemNames(item_names_path);
    if (!read.ok()) return Fail("topk", read.status());
    names = std::move(*read);
  }
  // Every unseen item's payload, then one ScoreBlock: the model's own scoring (a matrix
  // product for the dot-product models), as the full-ranking evaluation scores.
  const size_t item_floats = static_cast<size_t>(items->dim());
  std::vector<uint64_t> keys;
  std::vector<float> item_rows;
  keys.reserve(items->rows());
  item_rows.reserve(items->rows() * item_floats);
  Status s = checkpoint::ForEachCheckpointRow(*ckpt, items->id(), [&](uint64_t key, const float* q,
                                                             const float*) {
    if (seen.count(key)) return;
    keys.push_back(key);
    item_rows.insert(item_rows.end(), q, q + item_floats);
  });
  if (!s.ok()) return Fail("topk", s);
  std::vector<float> scores(keys.size());
  (*model)->ScoreBlock((*user_row)->payload.data(), (*user_row)->payload.size(), 1,
                       item_rows.data(), item_floats, keys.size(), scores.data());
  std::vector<Scored> all;
  all.reserve(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) all.push_back({scores[i], keys[i]});
  Result<IdLabels> labels = IdLabels::Of(*ckpt, items->id());
  if (!labels.ok()) return Fail("topk", labels.status());
  PrintRanked(TopOf(std::move(all), k), *labels, names, json, "score");
  return kExitOk;
}

int RunSimilar(int argc, char** argv) {
  std::string item, item_names_path;
  int k = 10;
  bool json = false;
  std::vector<std::string> positional;
  FlagSet flags("psrec ckpt similar", "Nearest items by cosine similarity of their factors.");
  flags.AddString("item", &item, "item id as in the data (string ids too), or #<hex key>",
                  /*required=*/true);
  flags.AddInt("k", &k, "items to list");
  flags.AddString("item-names", &item_names_path, "id|title|... file (e.g. ML-100K u.item)");
  flags.AddBool("json", &json, "print JSON");
  flags.SetPositional("CKPT", &positional, 1, 1);
  if (int rc = ParseToolFlags(&flags, argc, argv); rc >= 0) return rc;
  if (k < 1) return Fail("similar", Status::InvalidArgument("-k must be >= 1"));
  Result<uint64_t> item_key = KeyOfArgument(item);
  if (!item_key.ok()) return Fail("similar", item_key.status());
  Result<checkpoint::LoadedCheckpoint> ckpt = OpenCheckpoint(positional[0], /*verify=*/false);
  if (!ckpt.ok()) return Fail("similar", ckpt.status());
  Result<std::unique_ptr<models::Model>> model = ModelOfCheckpoint(*ckpt);
  if (!model.ok()) return Fail("similar", model.status());
  const int item_table = (*model)->TableKeyedBy(models::KeyedBy::kItem);
  const checkpoint::TableInfo* items =
      item_table < 0 ? nullptr : ckpt->FindTable(static_cast<TableId>(item_table));
  if (items == nullptr) return Fail("similar", Status::NotFound("no item table"));
  Result<std::optional<Row>> row = FindRow(*ckpt, *items, *item_key);
  if (!row.ok()) return Fail("similar", row.status());
  if (!*row) return Fail("similar", Status::NotFound("no item " + item + " in the checkpoint"));
  std::map<uint64_t, std::string> names;
  if (!item_names_path.empty()) {
    Result<std::map<uint64_t, std::string>> read = ReadItemNames(item_names_path);
    if (!read.ok()) return Fail("similar", read.status());
    names = std::move(*read);
  }
  // Items are compared by their embeddings (the first segment of their rows).
  const int factors = DeclOf(**model, *items).segments.front().floats;
  const float* a = (*row)->payload.data();
  double norm_a = 0;
  for (int i = 0; i < factors; ++i) norm_a += double{a[i]} * a[i];
  norm_a = std::sqrt(norm_a);
  std::vector<Scored> all;
  Status s = checkpoint::ForEachCheckpointRow(*ckpt, items->id(), [&](uint64_t key, const float* b,
                                                             const float*) {
    if (key == *item_key) return;
    double dot = 0, norm_b = 0;
    for (int i = 0; i < factors; ++i) {
      dot += double{a[i]} * b[i];
      norm_b += double{b[i]} * b[i];
    }
    const double denom = norm_a * std::sqrt(norm_b);
    all.push_back({denom > 0 ? dot / denom : 0.0, key});
  });
  if (!s.ok()) return Fail("similar", s);
  Result<IdLabels> labels = IdLabels::Of(*ckpt, items->id());
  if (!labels.ok()) return Fail("similar", labels.status());
  if (!json && names.count(*item_key)) std::cout << "items like " << names[*item_key] << ":\n";
  PrintRanked(TopOf(std::move(all), k), *labels, names, json, "cosine");
  return kExitOk;
}

}  // namespace psrec::cli::ckpt
