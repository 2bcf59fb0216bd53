#pragma once
// One reader per embedding format. Each validates everything (../shared/CONVENTIONS.md) and throws
// embedlab::Error (exit 65 bad data, 66 missing/unreadable) with `file: where: what`.
#include "io/binary_util.hpp"
#include "io/embedding.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace embedlab::io {

// The format load_embeddings uses for "auto" (io/embedding.cpp): "gpt2" for a directory holding
// config.json, else from the file name; throws Error(usage) when the name says nothing.
std::string detect_format(const std::string& path);

// --- safetensors (io/safetensors.cpp) ---
struct SafetensorsEntry {
  std::string name;
  std::string dtype;  // F32 F16 BF16 F64 (others are listed but refused on read)
  std::vector<std::uint64_t> shape;
  std::uint64_t begin = 0, end = 0;  // data_offsets relative to the data section
};
struct SafetensorsIndex {
  std::string path;
  std::uint64_t header_size = 0;  // bytes of JSON header
  std::uint64_t file_size = 0;
  std::vector<SafetensorsEntry> tensors;  // in file order (by begin offset)
  std::vector<std::pair<std::string, std::string>> metadata;
  const SafetensorsEntry* find(const std::string& name) const;
  std::uint64_t data_start() const { return 8 + header_size; }
};
// Parses and validates the header (and that offsets tile the data section exactly). Every dtype of
// the safetensors spec is accepted here (sizes checked); only F32/F16/BF16/F64 can be read.
SafetensorsIndex read_safetensors_index(const std::string& path);
bool safetensors_dtype_readable(const std::string& dtype);  // F32 F16 BF16 F64
// One tensor converted to float32; shape as on disk, data row-major.
struct Tensor {
  std::vector<std::uint64_t> shape;
  std::string dtype;
  std::string sha256;  // of the tensor's bytes on disk
  arma::fmat data;     // rank-2 [r, c] → c×r (column = row on disk); rank-1 [n] → n×1; rank-0 → 1×1
};
// Throws (listing what the file holds) when the tensor is missing; refuses rank > 2.
Tensor read_safetensors_tensor(const SafetensorsIndex& index, const std::string& name);
// Reads the tensors for which `want` is true, in file order. With `digest`, the whole file (header
// and every tensor's bytes, wanted or not) is hashed in the same pass, or, when the opt-in hash cache
// (core/hash_cache.hpp) knows the file unchanged, its digest is taken from there and only the wanted
// tensors are read (digest->cached). Without it nothing is hashed. The tensors' own sha256 is left
// empty (the file's digest covers their bytes).
std::map<std::string, Tensor> read_safetensors_tensors(const SafetensorsIndex& index,
                                                       const std::function<bool(const SafetensorsEntry&)>& want,
                                                       FileDigest* digest);
// A rank-2 tensor as embeddings (rows = tokens). Empty name: the only rank-2 tensor, else an error.
// source.sha256 is of the tensor's bytes (the bytes actually read), not of the whole file.
Embeddings read_safetensors(const std::string& path, const std::string& tensor);

// --- npy (io/npy.cpp): versions 1-3, <f4 <f8 <f2 >f4 >f8, C or Fortran order ---
struct NpyHeader {
  int major = 0, minor = 0;
  std::string descr;                // e.g. "<f4"
  FloatKind kind = FloatKind::f32;  // descr decoded
  bool big_endian = false;
  bool fortran_order = false;
  std::vector<std::uint64_t> shape;
  std::uint64_t data_offset = 0;  // first byte of the array data
  std::uint64_t file_size = 0;
};
// Parses and validates the header (magic, version, dict, dtype, rank 2, data size == file size).
NpyHeader read_npy_header(const std::string& path);
// source.sha256 is of the whole file (header and data: every byte is read).
Embeddings read_npy(const std::string& path);

// --- HDF5 (io/hdf5_reader.cpp): read-only; refuses external links, external storage, VDS ---
Embeddings read_hdf5(const std::string& path, const std::string& dataset);
// Rows [r0, r1) of the dataset as (d, r1 − r0), read as a hyperslab in the isolated reader child
// (io/row_range.hpp); hdf5_shape validates and reports the shape without reading data.
struct Hdf5Shape {
  std::uint64_t rows = 0, dim = 0;
  std::string dtype;
};
Hdf5Shape hdf5_shape(const std::string& path, const std::string& dataset);
arma::fmat read_hdf5_rows(const std::string& path, const std::string& dataset, std::uint64_t r0, std::uint64_t r1);
inline constexpr const char* kHfTfGpt2WtePath = "/transformer/tfgp_t2lm_head_model/transformer/wte/weight:0";

// --- word formats (io/word_text.cpp, io/word2vec_bin.cpp) ---
struct WordReadOptions {
  // Read only the first N records (lines after the header / binary records), duplicates included,
  // as gensim's `limit`.
  std::optional<std::uint64_t> limit;
  DuplicatePolicy duplicates = DuplicatePolicy::first;
};
// GloVe text (no header) or word2vec text (`count dim` first line), plain or .gz. Values are
// separated by any mix of spaces and tabs; a token may itself contain separators (glove.840B's
// ". . ."): the last `dim` fields of a line are the vector, everything before them the token.
// `dim` is the header's, or for a header-less file the number of trailing numeric fields of the
// first line (its first field is always the token). A token of several fields must not end with a
// numeric field (such a line reads as too many values). The matrix is allocated once: from the
// header's count, or from a first pass counting the lines of a header-less file.
Embeddings read_word_text(const std::string& path, const WordReadOptions& options);
Embeddings read_word_text(const std::string& path, std::optional<std::uint64_t> limit = {});
// word2vec C binary format (plain or .gz); the matrix is allocated once from the header's count,
// bounded by the file size first.
Embeddings read_word2vec_bin(const std::string& path, const WordReadOptions& options);
Embeddings read_word2vec_bin(const std::string& path, std::optional<std::uint64_t> limit = {});

}  // namespace embedlab::io
