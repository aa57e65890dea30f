// psrec ckpt diff|export: compare two checkpoints; write a table as .npy or CSV.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <numeric>
#include <string>
#include <vector>

#include <absl/container/flat_hash_set.h>

#include "cli/ckpt_tools.h"
#include "cli/ckpt_util.h"
#include "cli/npy_file.h"

namespace psrec::cli::ckpt {

namespace {

Status WriteWhole(const std::string& path, const std::string& head, const void* data,
                  size_t bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return Status::IoError(path + ": cannot create");
  out.write(head.data(), static_cast<std::streamsize>(head.size()));
  out.write(static_cast<const char*>(data), static_cast<std::streamsize>(bytes));
  out.close();
  if (!out) return Status::IoError(path + ": write failed");
  return Status::OK();
}

std::string StemOf(const std::string& path, const std::string& ext) {
  if (path.size() > ext.size() && path.compare(path.size() - ext.size(), ext.size(), ext) == 0) {
    return path.substr(0, path.size() - ext.size());
  }
  return path;
}

// A CSV field as RFC 4180 writes it: quoted (quotes doubled) when it holds a comma, a quote
// or a line break, so string ids read back as they were.
std::string CsvField(const std::string& text) {
  if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
  std::string out = "\"";
  for (char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

}  // namespace

int RunExport(int argc, char** argv) {
  std::string table_name, format = "npy", out_path;
  bool json = false;
  std::vector<std::string> positional;
  FlagSet flags("psrec ckpt export",
                "Write a table's rows (factors, then bias), sorted by key. npy: PATH plus "
                "STEM.keys.npy (uint64 keys) and STEM.ids.txt (raw ids as in the data, one a "
                "line); csv: id,f0..,bias (ids quoted as RFC 4180 needs). A dense table (an "
                "MLP's weights): PATH is a directory, one PATH/<parameter>.npy per parameter, "
                "shape (rows, cols).");
  flags.AddString("table", &table_name, "table name (user, item, a dense table)",
                  /*required=*/true);
  flags.AddString("format", &format, "npy or csv");
  flags.AddString("out", &out_path, "output file", /*required=*/true);
  flags.AddBool("json", &json, "print a JSON summary");
  flags.SetPositional("CKPT", &positional, 1, 1);
  if (int rc = ParseToolFlags(&flags, argc, argv); rc >= 0) return rc;
  if (format != "npy" && format != "csv") {
    std::cerr << "psrec ckpt export: --format must be npy or csv, not '" << format << "'\n";
    return kExitUsage;
  }
  Result<checkpoint::LoadedCheckpoint> ckpt = OpenCheckpoint(positional[0], /*verify=*/false);
  if (!ckpt.ok()) return Fail("export", ckpt.status());
  Result<const checkpoint::TableInfo*> table = FindTableNamed(*ckpt, table_name);
  if (!table.ok()) return Fail("export", table.status());
  Result<std::unique_ptr<models::Model>> model = ModelOfCheckpoint(*ckpt);
  if (!model.ok()) return Fail("export", model.status());
  if (DeclOf(**model, **table).keyed_by == models::KeyedBy::kDense) {
    if (format != "npy") {
      std::cerr << "psrec ckpt export: a dense table exports as npy only\n";
      return kExitUsage;
    }
    return ExportDense(*ckpt, **model, **table, out_path, json);
  }
  Result<table::EmbeddingTable> rows = checkpoint::LoadWholeTable(*ckpt, (*table)->id());
  if (!rows.ok()) return Fail("export", rows.status());
  Result<IdLabels> labels = IdLabels::Of(*ckpt, (*table)->id());
  if (!labels.ok()) return Fail("export", labels.status());
  std::vector<uint64_t> keys(rows->rows().keys.begin(), rows->rows().keys.end());
  std::sort(keys.begin(), keys.end());
  const int dim = rows->dim();
  std::vector<std::string> written;
  if (format == "npy") {
    std::vector<float> matrix(keys.size() * dim);
    for (size_t i = 0; i < keys.size(); ++i) {
      const float* p = rows->Find(keys[i]);
      std::copy(p, p + dim, matrix.begin() + i * dim);
    }
    const std::string stem = StemOf(out_path, ".npy");
    const size_t matrix_shape[2] = {keys.size(), static_cast<size_t>(dim)};
    const size_t keys_shape[1] = {keys.size()};
    Status s = WriteNpy(out_path, "<f4", matrix_shape, matrix.data(), matrix.size() * sizeof(float));
    if (s.ok()) {
      s = WriteNpy(stem + ".keys.npy", "<u8", keys_shape, keys.data(),
                   keys.size() * sizeof(uint64_t));
    }
    std::string ids;
    for (uint64_t key : keys) ids += (*labels)(key) + "\n";
    if (s.ok()) s = WriteWhole(stem + ".ids.txt", "", ids.data(), ids.size());
    if (!s.ok()) return Fail("export", s);
    written = {out_path, stem + ".keys.npy", stem + ".ids.txt"};
  } else {
    std::ofstream out(out_path, std::ios::trunc);
    if (!out) return Fail("export", Status::IoError(out_path + ": cannot create"));
    out << "id";
    for (const models::RowSegment& segment : DeclOf(**model, **table).segments) {
      if (segment.floats == 1) {
        out << "," << segment.column;
      } else {
        for (int i = 0; i < segment.floats; ++i) out << "," << segment.column << i;
      }
    }
    out << "\n";
    char buf[32];
    for (uint64_t key : keys) {
      const float* p = rows->Find(key);
      out << CsvField((*labels)(key));
      for (int i = 0; i < dim; ++i) {
        std::snprintf(buf, sizeof(buf), ",%.9g", p[i]);  // round-trips a float
        out << buf;
      }
      out << "\n";
    }
    out.close();
    if (!out) return Fail("export", Status::IoError(out_path + ": write failed"));
    written = {out_path};
  }
  if (json) {
    Json j{{"table", table_name}, {"rows", keys.size()}, {"dim", dim}, {"files", written}};
    std::cout << JsonText(j) << "\n";
  } else {
    std::cout << "wrote " << keys.size() << " rows x " << dim << " of table " << table_name << " to";
    for (const auto& w : written) std::cout << " " << w;
    std::cout << "\n";
  }
  return kExitOk;
}

int RunDiff(int argc, char** argv) {
  int top = 10;
  bool json = false;
  std::vector<std::string> positional;
  FlagSet flags("psrec ckpt diff",
                "Compare checkpoints A and B per table: rows added and removed, mean and max "
                "L2 change of common rows, the most changed rows.");
  flags.AddInt("top", &top, "most changed rows to list per table");
  flags.AddBool("json", &json, "print JSON");
  flags.SetPositional("A B", &positional, 2, 2);
  if (int rc = ParseToolFlags(&flags, argc, argv); rc >= 0) return rc;
  if (top < 0) {
    std::cerr << "psrec ckpt diff: --top: expected an integer >= 0, got " << top << "\n";
    return kExitUsage;
  }
  Result<checkpoint::LoadedCheckpoint> a = OpenCheckpoint(positional[0], /*verify=*/false);
  if (!a.ok()) return Fail("diff", a.status());
  Result<checkpoint::LoadedCheckpoint> b = OpenCheckpoint(positional[1], /*verify=*/false);
  if (!b.ok()) return Fail("diff", b.status());
  Json tables = Json::array();  // for --json
  for (const auto& ta : a->manifest.tables()) {
    const checkpoint::TableInfo* tb = b->FindTable(ta.name());
    if (tb == nullptr || tb->dim() != ta.dim()) {
      if (!json) std::cout << "table " << ta.name() << ": not comparable (missing or another dim in B)\n";
      continue;
    }
    Result<table::EmbeddingTable> rows_a = checkpoint::LoadWholeTable(*a, ta.id());
    if (!rows_a.ok()) return Fail("diff", rows_a.status());
    Result<IdLabels> labels = IdLabels::Of(*b, tb->id());
    if (!labels.ok()) return Fail("diff", labels.status());
    const int dim = ta.dim();
    uint64_t added = 0, common = 0;
    double sum = 0, max = 0;
    struct Change {
      double l2;
      uint64_t key;
    };
    std::vector<Change> changes;
    absl::flat_hash_set<uint64_t> seen;
    Status s = checkpoint::ForEachCheckpointRow(*b, tb->id(), [&](uint64_t key, const float* pb, const float*) {
      const float* pa = rows_a->Find(key);
      if (pa == nullptr) {
        ++added;
        return;
      }
      seen.insert(key);
      double sq = 0;
      for (int i = 0; i < dim; ++i) sq += (double{pb[i]} - pa[i]) * (double{pb[i]} - pa[i]);
      const double l2 = std::sqrt(sq);
      ++common;
      sum += l2;
      max = std::max(max, l2);
      changes.push_back({l2, key});
    });
    if (!s.ok()) return Fail("diff", s);
    const uint64_t removed = rows_a->size() - seen.size();
    const size_t n = std::min<size_t>(changes.size(), static_cast<size_t>(std::max(top, 0)));
    std::partial_sort(changes.begin(), changes.begin() + n, changes.end(),
                      [](const Change& x, const Change& y) {
                        return x.l2 != y.l2 ? x.l2 > y.l2 : x.key < y.key;
                      });
    changes.resize(n);
    const double mean = common > 0 ? sum / common : 0.0;
    if (json) {
      Json table;
      table["table"] = ta.name();
      table["rows_a"] = rows_a->size();
      table["rows_b"] = tb->rows();
      table["added"] = added;
      table["removed"] = removed;
      table["common"] = common;
      table["mean_l2_change"] = NumJson(mean);
      table["max_l2_change"] = NumJson(max);
      table["most_changed"] = Json::array();
      for (const Change& c : changes) {
        table["most_changed"].push_back(Json{{"id", Utf8OrLatin1((*labels)(c.key))}, {"l2_change", NumJson(c.l2)}});
      }
      tables.push_back(std::move(table));
    } else {
      std::cout << "table " << ta.name() << ": " << rows_a->size() << " -> " << tb->rows()
                << " rows, +" << added << " added, -" << removed << " removed; L2 change of "
                << common << " common rows: mean " << Num(mean) << ", max " << Num(max) << "\n";
      for (const Change& c : changes) {
        std::cout << "    " << (*labels)(c.key) << "\t" << Num(c.l2) << "\n";
      }
    }
  }
  for (const auto& tb : b->manifest.tables()) {
    if (a->FindTable(tb.name()) == nullptr && !json) {
      std::cout << "table " << tb.name() << ": only in B (" << tb.rows() << " rows)\n";
    }
  }
  if (json) std::cout << JsonText(Json{{"tables", std::move(tables)}}) << "\n";
  return kExitOk;
}

}  // namespace psrec::cli::ckpt
