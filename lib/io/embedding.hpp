#pragma once
// The one embedding type: token strings + an n×d float32 matrix + provenance.
//
// Storage: `vectors` is a d×n column-major arma::fmat whose column j is token j. That is exactly
// the row-major n×d buffer found on disk, so readers fill it without a transpose.
#include "core/provenance.hpp"

#include <armadillo>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace embedlab::io {

struct Embeddings {
  std::vector<std::string> tokens;  // tokens[j] names column j; empty when the source has no vocabulary
  arma::fmat vectors;               // d × n (column = token)
  InputFile source;                 // path, format, dtype on disk, shape [n, d], sha256 of bytes read

  std::uint64_t rows() const { return vectors.n_cols; }  // n (tokens)
  std::uint64_t dim() const { return vectors.n_rows; }   // d
  // Name of row j: tokens[j] when known, otherwise "#j".
  std::string token_name(std::uint64_t j) const;
};

// What to load and how. `format` "auto" decides from the path (a directory with config.json is a
// GPT-2 checkpoint; .safetensors, .npy, .h5/.hdf5, .bin (word2vec binary), .txt/.vec/.gz word text).
struct LoadOptions {
  std::string path;
  std::string format = "auto";         // auto | gpt2 | safetensors | npy | hdf5 | glove | word2vec | word2vec-bin
  std::string tensor;                  // safetensors tensor name / HDF5 dataset path; empty = the obvious one
  std::optional<std::uint64_t> limit;  // read only the first N rows (text/binary word formats)
};

Embeddings load_embeddings(const LoadOptions& options);

}  // namespace embedlab::io
