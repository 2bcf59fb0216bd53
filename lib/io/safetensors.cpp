// safetensors: 8-byte little-endian header length N, N bytes of JSON header, then the data section.
// The header maps tensor names to {dtype, shape, data_offsets [begin, end)} relative to the data
// section; the offsets must tile the data section exactly (no gap, overlap or trailing bytes).
#include "core/checked.hpp"
#include "core/error.hpp"
#include "core/sha256.hpp"
#include "core/threads.hpp"
#include "io/binary_util.hpp"
#include "io/readers.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <map>

namespace embedlab::io {
namespace {

constexpr std::uint64_t kMaxHeader = 100'000'000;  // the limit the reference implementation enforces
constexpr std::uint64_t kChunk = 4u << 20;         // bytes per read when only hashing

// Every dtype of the safetensors spec with its element size; only the float ones are converted.
std::size_t dtype_size(const std::string& d) {
  static const std::map<std::string, std::size_t> sizes = {
      {"BOOL", 1}, {"U8", 1},  {"I8", 1},  {"F8_E5M2", 1}, {"F8_E4M3", 1}, {"F8_E8M0", 1},
      {"I16", 2},  {"U16", 2}, {"F16", 2}, {"BF16", 2},    {"I32", 4},     {"U32", 4},
      {"F32", 4},  {"C64", 8}, {"F64", 8}, {"I64", 8},     {"U64", 8}};
  const auto it = sizes.find(d);
  return it == sizes.end() ? 0 : it->second;
}

FloatKind float_kind(const std::string& d) {
  if (d == "F16") return FloatKind::f16;
  if (d == "BF16") return FloatKind::bf16;
  if (d == "F32") return FloatKind::f32;
  return FloatKind::f64;
}

std::string where_tensor(const std::string& name) { return fmt::format("tensor '{}'", name); }

std::uint64_t to_u64(const nlohmann::json& v, const std::string& file, const std::string& where, const char* what) {
  if (!v.is_number_unsigned())
    data_error(file, where, fmt::format("{} must be non-negative integers (got {})", what, v.dump()));
  return v.get<std::uint64_t>();
}

SafetensorsEntry parse_entry(const std::string& name, const nlohmann::json& v, const std::string& file) {
  const std::string where = where_tensor(name);
  if (!v.is_object()) data_error(file, where, fmt::format("header entry must be an object (got {})", v.type_name()));
  for (const auto& [k, _] : v.items())
    if (k != "dtype" && k != "shape" && k != "data_offsets")
      data_error(file, where, fmt::format("unknown key '{}' (expected dtype, shape, data_offsets)", k));
  for (const char* k : {"dtype", "shape", "data_offsets"})
    if (!v.contains(k)) data_error(file, where, fmt::format("missing key '{}'", k));
  SafetensorsEntry e;
  e.name = name;
  if (!v["dtype"].is_string()) data_error(file, where, "dtype must be a string");
  e.dtype = v["dtype"].get<std::string>();
  const std::size_t width = dtype_size(e.dtype);
  if (width == 0) data_error(file, where, fmt::format("unknown dtype '{}'", e.dtype));
  if (!v["shape"].is_array()) data_error(file, where, "shape must be an array");
  for (const auto& d : v["shape"]) e.shape.push_back(to_u64(d, file, where, "shape entries"));
  const auto& off = v["data_offsets"];
  if (!off.is_array() || off.size() != 2) data_error(file, where, "data_offsets must be [begin, end]");
  e.begin = to_u64(off[0], file, where, "data_offsets");
  e.end = to_u64(off[1], file, where, "data_offsets");
  if (e.begin > e.end) data_error(file, where, fmt::format("data_offsets reversed ([{}, {}])", e.begin, e.end));
  std::uint64_t count = 1;
  for (const auto d : e.shape) count = checked_mul(count, d, file, where + ": shape " + format_shape(e.shape));
  const std::uint64_t bytes = checked_mul(count, width, file, where + ": byte count");
  if (e.end - e.begin != bytes)
    data_error(file, where,
               fmt::format("data_offsets span {} bytes (expected {} = {} elements x {} bytes of {})", e.end - e.begin,
                           bytes, count, width, e.dtype));
  return e;
}

// Checks entry `e` and sizes t to hold it as a float32 matrix.
void prepare_entry(const SafetensorsIndex& index, const SafetensorsEntry& e, Tensor& t) {
  const std::string where = where_tensor(e.name);
  if (!safetensors_dtype_readable(e.dtype))
    data_error(index.path, where, fmt::format("dtype {} is not supported (supported: F32, F16, BF16, F64)", e.dtype));
  if (e.shape.size() > 2)
    data_error(index.path, where,
               fmt::format("rank {} (expected 1 or 2), shape {}", e.shape.size(), format_shape(e.shape)));
  t.shape = e.shape;
  t.dtype = e.dtype;
  // [r, c] row-major on disk is the c×r column-major matrix: no transpose.
  const std::uint64_t rows = e.shape.size() == 2 ? e.shape[1] : e.shape.size() == 1 ? e.shape[0] : 1;
  const std::uint64_t cols = e.shape.size() == 2 ? e.shape[0] : 1;
  t.data.set_size(rows, cols);  // n already bounded by the file size in the index
}

// Reads entry `e` into a float32 matrix, hashing its bytes into `tensor_hash`.
Tensor read_entry(const BinaryFile& f, const SafetensorsIndex& index, const SafetensorsEntry& e, Sha256& tensor_hash) {
  Tensor t;
  prepare_entry(index, e, t);
  read_floats(f, index.data_start() + e.begin, t.data.n_elem, float_kind(e.dtype), false, t.data.memptr(), tensor_hash,
              nullptr, where_tensor(e.name));
  t.sha256 = tensor_hash.hex();
  return t;
}

void check_unchanged(const BinaryFile& f, const SafetensorsIndex& index) {
  if (f.size() != index.file_size)
    data_error(
        index.path, "",
        fmt::format("file size changed since its header was read (got {}, expected {})", f.size(), index.file_size));
}

}  // namespace

bool safetensors_dtype_readable(const std::string& d) { return d == "F32" || d == "F16" || d == "BF16" || d == "F64"; }

const SafetensorsEntry* SafetensorsIndex::find(const std::string& name) const {
  for (const auto& t : tensors)
    if (t.name == name) return &t;
  return nullptr;
}

SafetensorsIndex read_safetensors_index(const std::string& path) {
  const BinaryFile f(path);
  SafetensorsIndex index;
  index.path = path;
  index.file_size = f.size();
  if (f.size() < 8)
    data_error(path, "header", fmt::format("file is {} bytes, too short for the 8-byte header length", f.size()));
  unsigned char len8[8];
  f.read_at(0, len8, 8, "header length");
  const std::uint64_t n = load_le64(len8);
  const std::uint64_t header_end = checked_add(8, n, path, "header length");
  if (n > kMaxHeader) data_error(path, "header length", fmt::format("{} bytes exceeds the limit of {}", n, kMaxHeader));
  if (header_end > f.size())
    data_error(path, "header length", fmt::format("{} bytes is larger than the file ({} bytes)", n, f.size()));
  index.header_size = n;
  const std::string text = f.read_string_at(8, n, "header");
  const nlohmann::json header = parse_json_strict(text, path, "header");
  if (!header.is_object())
    data_error(path, "header", fmt::format("JSON must be an object (got {})", header.type_name()));

  for (const auto& [key, value] : header.items()) {
    if (key == "__metadata__") {
      if (!value.is_object()) data_error(path, "__metadata__", "must be an object of strings");
      for (const auto& [mk, mv] : value.items()) {
        if (!mv.is_string())
          data_error(path, "__metadata__", fmt::format("value of '{}' must be a string (got {})", mk, mv.type_name()));
        index.metadata.emplace_back(mk, mv.get<std::string>());
      }
      continue;
    }
    index.tensors.push_back(parse_entry(key, value, path));
  }

  // The offsets must tile [0, data size) exactly, in some order.
  std::sort(index.tensors.begin(), index.tensors.end(),
            [](const auto& a, const auto& b) { return a.begin != b.begin ? a.begin < b.begin : a.end < b.end; });
  const std::uint64_t data_size = f.size() - header_end;
  std::uint64_t next = 0;
  const SafetensorsEntry* prev = nullptr;
  for (const auto& t : index.tensors) {
    if (t.begin < next)
      data_error(
          path, where_tensor(t.name),
          fmt::format("data_offsets [{}, {}] overlap tensor '{}' (ends at {})", t.begin, t.end, prev->name, next));
    if (t.begin > next) {
      if (prev == nullptr)
        data_error(path, where_tensor(t.name), fmt::format("first tensor starts at {} (expected 0)", t.begin));
      data_error(path, where_tensor(t.name),
                 fmt::format("gap of {} bytes after tensor '{}' (starts at {}, expected {})", t.begin - next,
                             prev->name, t.begin, next));
    }
    next = t.end;
    prev = &t;
  }
  if (next > data_size)
    data_error(path, "data",
               fmt::format("data section shorter than declared (got {} bytes, expected {})", data_size, next));
  if (next < data_size)
    data_error(path, "data",
               fmt::format("{} trailing bytes after the last tensor (data section {} bytes, tensors end at {})",
                           data_size - next, data_size, next));
  return index;
}

Tensor read_safetensors_tensor(const SafetensorsIndex& index, const std::string& name) {
  const SafetensorsEntry* e = index.find(name);
  if (e == nullptr) {
    std::vector<std::string> names;
    for (const auto& t : index.tensors) names.push_back(t.name);
    data_error(index.path, where_tensor(name), fmt::format("not found (file has: {})", list_names(names)));
  }
  const BinaryFile f(index.path);
  check_unchanged(f, index);
  Sha256 h;
  return read_entry(f, index, *e, h);
}

std::map<std::string, Tensor> read_safetensors_tensors(const SafetensorsIndex& index,
                                                       const std::function<bool(const SafetensorsEntry&)>& want,
                                                       FileDigest* digest) {
  const BinaryFile f(index.path);
  check_unchanged(f, index);
  const FileStamp stamp = f.stamp();
  const auto cache = digest ? HashCache::from_env() : std::nullopt;
  if (digest) *digest = FileDigest{};
  if (cache) {
    if (auto hit = cache->find(stamp)) *digest = FileDigest{*hit, true};
  }
  const bool hashing = digest && !digest->cached;
  std::map<std::string, Tensor> out;
  if (!hashing) {
    // Nothing to hash: the wanted tensors are read in pieces spread over the worker threads (for a
    // checkpoint in the page cache the load is page faults and copies, which two cores halve).
    struct Piece {
      const SafetensorsEntry* e;
      Tensor* t;
      std::uint64_t first, count;  // elements
    };
    constexpr std::uint64_t kPieceElements = std::uint64_t{4} << 20;
    std::vector<Piece> pieces;
    for (const auto& e : index.tensors) {
      if (!want(e)) continue;
      Tensor& t = out[e.name];
      prepare_entry(index, e, t);
      for (std::uint64_t first = 0; first < t.data.n_elem; first += kPieceElements)
        pieces.push_back({&e, &t, first, std::min<std::uint64_t>(kPieceElements, t.data.n_elem - first)});
    }
    std::atomic<std::size_t> next{0};
    run_workers(std::max(1, std::min(worker_count(0), static_cast<int>(pieces.size()))), [&](int) {
      for (std::size_t k; (k = next.fetch_add(1)) < pieces.size();) {
        const Piece& p = pieces[k];
        const FloatKind kind = float_kind(p.e->dtype);
        read_floats(f, index.data_start() + p.e->begin + p.first * float_kind_size(kind), p.count, kind, false,
                    p.t->data.memptr() + p.first, nullptr, where_tensor(p.e->name));
      }
    });
    return out;
  }
  // The file is hashed once, on a second thread, from the very bytes read (the tensors' own memory
  // where they are F32); the tensors get no hash of their own (Tensor::sha256 stays empty).
  // Declared after `out`: on an exception the hasher stops before the memory it borrows is freed.
  Sha256Background file_hash;
  file_hash.update_owned([&] {
    const std::string head = f.read_string_at(0, index.data_start(), "header");
    return std::vector<unsigned char>(head.begin(), head.end());
  }());
  for (const auto& e : index.tensors) {
    if (want(e)) {
      // Read in place: map nodes do not move, so the borrowed bytes stay where the hasher looks.
      Tensor& t = out[e.name];
      prepare_entry(index, e, t);
      read_floats(f, index.data_start() + e.begin, t.data.n_elem, float_kind(e.dtype), false, t.data.memptr(),
                  &file_hash, where_tensor(e.name));
      continue;
    }
    // Not wanted: still hashed, so the digest covers every byte of the file.
    const std::uint64_t size = e.end - e.begin;
    for (std::uint64_t off = 0; off < size; off += kChunk) {
      const std::uint64_t len = std::min(kChunk, size - off);
      std::vector<unsigned char> buf(static_cast<std::size_t>(len));
      f.read_at(index.data_start() + e.begin + off, buf.data(), len, where_tensor(e.name));
      file_hash.update_owned(std::move(buf));
    }
  }
  digest->sha256 = file_hash.hex();
  // Stored only when the file kept its stamp while it was read.
  if (cache && f.stamp() == stamp) cache->store(stamp, index.path, digest->sha256);
  return out;
}

Embeddings read_safetensors(const std::string& path, const std::string& tensor) {
  const SafetensorsIndex index = read_safetensors_index(path);
  std::string name = tensor;
  if (name.empty()) {
    std::vector<std::string> matrices;
    for (const auto& t : index.tensors)
      if (t.shape.size() == 2) matrices.push_back(t.name);
    if (matrices.size() != 1)
      data_error(path, "tensor",
                 fmt::format("{} rank-2 tensors ({}); name the one to load", matrices.size(), list_names(matrices)));
    name = matrices.front();
  }
  const SafetensorsEntry* e = index.find(name);
  if (e != nullptr) {
    if (e->shape.size() != 2)
      data_error(path, where_tensor(name),
                 fmt::format("rank {} (expected 2), shape {}", e->shape.size(), format_shape(e->shape)));
    if (e->shape[0] == 0) data_error(path, where_tensor(name), "zero rows (shape " + format_shape(e->shape) + ")");
    if (e->shape[1] == 0) data_error(path, where_tensor(name), "zero columns (shape " + format_shape(e->shape) + ")");
  }
  Tensor t = read_safetensors_tensor(index, name);
  Embeddings emb;
  emb.vectors = std::move(t.data);
  emb.source = InputFile{path, "safetensors", t.dtype, t.shape, t.sha256};
  return emb;
}

}  // namespace embedlab::io
