#include "cli/npy_file.h"

#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>

namespace psrec::cli {
namespace {

constexpr size_t kPrefixBytes = 10;  // magic (6), version (2), header length (2)

std::string ShapeText(std::span<const size_t> shape) {
  std::string text = "(";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) text += ", ";
    text += std::to_string(shape[i]);
  }
  return text + (shape.size() == 1 ? ",)" : ")");
}

}  // namespace

std::string NpyHeader(const std::string& descr, std::span<const size_t> shape) {
  std::string dict = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " +
                     ShapeText(shape) + ", }";
  const size_t total = (kPrefixBytes + dict.size() + 1 + 63) / 64 * 64;
  dict.append(total - kPrefixBytes - dict.size() - 1, ' ');
  dict += '\n';
  std::string out = "\x93NUMPY";
  out += '\x01';
  out += '\x00';
  const auto len = static_cast<uint16_t>(dict.size());
  out += static_cast<char>(len & 0xff);
  out += static_cast<char>(len >> 8);
  return out + dict;
}

Status WriteNpy(const std::string& path, const std::string& descr,
                std::span<const size_t> shape, const void* data, size_t bytes) {
  const std::string head = NpyHeader(descr, shape);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return Status::IoError(path + ": cannot create");
  out.write(head.data(), static_cast<std::streamsize>(head.size()));
  out.write(static_cast<const char*>(data), static_cast<std::streamsize>(bytes));
  out.close();
  if (!out) return Status::IoError(path + ": write failed");
  return Status::OK();
}

Result<NpyFloatArray> ReadNpyFloat32(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::IoError(path + ": cannot open");
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto bad = [&](const std::string& why) { return Status::Corruption(path + ": " + why); };
  if (bytes.size() < kPrefixBytes || bytes.compare(0, 6, "\x93NUMPY") != 0) {
    return bad("not an NPY file (magic)");
  }
  if (bytes[6] != 1 || bytes[7] != 0) return bad("not NPY version 1.0");
  const size_t header_len = static_cast<unsigned char>(bytes[8]) +
                            256 * static_cast<size_t>(static_cast<unsigned char>(bytes[9]));
  const size_t data_start = kPrefixBytes + header_len;
  if (data_start > bytes.size() || data_start % 64 != 0) return bad("header length");
  const std::string dict = bytes.substr(kPrefixBytes, header_len);
  if (dict.back() != '\n') return bad("header does not end in a newline");
  if (dict.find("'descr': '<f4'") == std::string::npos) return bad("descr is not '<f4'");
  if (dict.find("'fortran_order': False") == std::string::npos) return bad("not C order");
  const size_t shape_at = dict.find("'shape': (");
  if (shape_at == std::string::npos) return bad("no shape");
  NpyFloatArray array;
  size_t count = 1;
  const char* p = dict.c_str() + shape_at + 10;
  while (*p != ')') {
    char* end = nullptr;
    const unsigned long long n = std::strtoull(p, &end, 10);
    if (end == p) return bad("shape");
    array.shape.push_back(static_cast<size_t>(n));
    count *= static_cast<size_t>(n);
    p = end;
    while (*p == ',' || *p == ' ') ++p;
  }
  if (bytes.size() - data_start != count * sizeof(float)) return bad("data size");
  array.values.resize(count);
  std::memcpy(array.values.data(), bytes.data() + data_start, count * sizeof(float));
  return array;
}

}  // namespace psrec::cli
