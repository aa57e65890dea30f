// psrec ckpt show|export on a dense table: its parameters (an MLP's layers), by the names and
// shapes the model declares, read from the table's blocks (cli/ckpt_tools.h).
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "cli/ckpt_tools.h"
#include "cli/ckpt_util.h"
#include "cli/npy_file.h"

namespace psrec::cli::ckpt {
namespace {

std::string Shape(const models::DenseParam& param) {
  return std::to_string(param.rows) + "x" + std::to_string(param.cols);
}

// A short view of a parameter's values: all of them up to 8, else the first 8 and "...".
std::string Preview(const float* values, size_t n) {
  std::string out = "[";
  for (size_t i = 0; i < std::min<size_t>(n, 8); ++i) {
    if (i > 0) out += ',';
    out += Num(values[i]);
  }
  return out + (n > 8 ? ",...]" : "]");
}

}  // namespace

int ShowDense(const checkpoint::LoadedCheckpoint& checkpoint, const models::Model& model,
              const checkpoint::TableInfo& table, bool json) {
  Result<std::vector<float>> vector = DenseVectorOf(checkpoint, model, table.id());
  if (!vector.ok()) return Fail("show", vector.status());
  const models::TableDecl& decl = DeclOf(model, table);
  if (json) {
    Json params = Json::array();
    for (const models::DenseParam& param : decl.dense) {
      const float* values = vector->data() + param.offset;
      Json list = Json::array();
      const size_t n = static_cast<size_t>(param.rows) * static_cast<size_t>(param.cols);
      for (size_t i = 0; i < n; ++i) list.push_back(NumJson(values[i]));
      params.push_back(Json{{"name", param.name},
                            {"shape", Json::array({param.rows, param.cols})},
                            {"offset", param.offset},
                            {"values", std::move(list)}});
    }
    Json j{{"table", decl.name},
           {"dense_floats", decl.dense_floats()},
           {"blocks", decl.dense_blocks()},
           {"block_floats", decl.payload_floats},
           {"params", std::move(params)}};
    std::cout << JsonText(j) << "\n";
    return kExitOk;
  }
  std::cout << decl.name << ": dense, " << decl.dense_floats() << " floats in "
            << decl.dense_blocks() << " blocks of " << decl.payload_floats << "\n";
  for (const models::DenseParam& param : decl.dense) {
    const float* values = vector->data() + param.offset;
    const size_t n = static_cast<size_t>(param.rows) * static_cast<size_t>(param.cols);
    double sq = 0;
    for (size_t i = 0; i < n; ++i) sq += double{values[i]} * values[i];
    std::cout << "  " << param.name << " (" << Shape(param) << ", L2 " << Num(std::sqrt(sq))
              << "): " << Preview(values, n) << "\n";
  }
  return kExitOk;
}

int ExportDense(const checkpoint::LoadedCheckpoint& checkpoint, const models::Model& model,
                const checkpoint::TableInfo& table, const std::string& out_dir, bool json) {
  Result<std::vector<float>> vector = DenseVectorOf(checkpoint, model, table.id());
  if (!vector.ok()) return Fail("export", vector.status());
  std::error_code error;
  std::filesystem::create_directories(out_dir, error);
  if (error) return Fail("export", Status::IoError(out_dir + ": " + error.message()));
  const models::TableDecl& decl = DeclOf(model, table);
  std::vector<std::string> written;
  for (const models::DenseParam& param : decl.dense) {
    const std::string path = (std::filesystem::path(out_dir) / (param.name + ".npy")).string();
    const size_t shape[2] = {static_cast<size_t>(param.rows), static_cast<size_t>(param.cols)};
    Status s = WriteNpy(path, "<f4", shape, vector->data() + param.offset,
                        shape[0] * shape[1] * sizeof(float));
    if (!s.ok()) return Fail("export", s);
    written.push_back(path);
  }
  if (json) {
    Json j{{"table", decl.name}, {"params", decl.dense.size()}, {"files", written}};
    std::cout << JsonText(j) << "\n";
  } else {
    std::cout << "wrote " << decl.dense.size() << " parameters of dense table " << decl.name
              << " to";
    for (const std::string& path : written) std::cout << " " << path;
    std::cout << "\n";
  }
  return kExitOk;
}

}  // namespace psrec::cli::ckpt
