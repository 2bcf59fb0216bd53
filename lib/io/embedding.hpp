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

// What a word-vector file (GloVe / word2vec text, word2vec binary) does with a token that occurs
// again: `first` keeps the first occurrence and drops the later ones (gensim's
// load_word2vec_format, which logs "duplicate word ... ignoring all but first"), listing each in
// Embeddings::duplicates; `error` refuses the file naming both places.
enum class DuplicatePolicy { first, error };
inline constexpr const char* kDuplicatePolicyNames = "first|error";

// A dropped later occurrence of a token (DuplicatePolicy::first).
struct DuplicateToken {
  std::string token;
  std::uint64_t at = 0;        // 1-based line (text) or record (word2vec binary) of the dropped row
  std::uint64_t first_at = 0;  // line / record of the first occurrence, the one kept
};

struct Embeddings {
  std::vector<std::string> tokens;  // tokens[j] names column j; empty when the source has no vocabulary
  arma::fmat vectors;               // d × n (column = token)
  InputFile source;                 // path, format, dtype on disk, shape [n, d], sha256 of bytes read
  // Later occurrences of a token that the reader dropped (word formats, duplicates = first), in
  // file order; `duplicate_position` says what DuplicateToken::at counts ("line" or "record").
  std::vector<DuplicateToken> duplicates;
  std::string duplicate_position = "line";

  std::uint64_t rows() const { return vectors.n_cols; }  // n (tokens)
  std::uint64_t dim() const { return vectors.n_rows; }   // d
  // Name of row j: tokens[j] when known, otherwise "#j".
  std::string token_name(std::uint64_t j) const;
};

// What to load and how. `format` "auto" decides from the path (a directory with config.json is a
// model directory: "gpt2" for a GPT-2 model.safetensors, read by the GPT-2 checkpoint reader, else
// "model", any preset of io/model_presets.hpp, one file or shards; .safetensors, .npy, .h5/.hdf5, .bin
// (word2vec binary), .txt/.vec/.gz word text).
struct LoadOptions {
  std::string path;
  std::string format = "auto";  // auto | gpt2 | model | safetensors | npy | hdf5 | glove | word2vec | word2vec-bin
  std::string tensor;           // safetensors tensor name / HDF5 dataset path; empty = the obvious one
  // Model directories (gpt2, model): input | output | position (empty = input; for gpt2 the tensor's
  // wte | lm_head | wpe may be given instead). output is the unembedding; a tied model's is the input.
  std::string matrix;
  std::optional<std::uint64_t> limit;                   // read only the first N rows (text/binary word formats)
  DuplicatePolicy duplicates = DuplicatePolicy::first;  // word formats: a token seen again
};

Embeddings load_embeddings(const LoadOptions& options);

}  // namespace embedlab::io
