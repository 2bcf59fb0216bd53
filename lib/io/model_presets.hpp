#pragma once
// Hugging Face model directories of any architecture: config.json picks a declared preset (one table
// entry per architecture: the tensor names of its input, output, position and token-type matrices and
// its tying rule), then the embedding matrices are found in model.safetensors or in the shards named by
// model.safetensors.index.json — only the shards holding the requested tensors are ever opened.
//
// As for GPT-2 checkpoints (io/gpt2_checkpoint.hpp), the expected tensors are declared first and the
// directory is checked against them: a missing tensor is listed with what the directory holds.
#include "io/embedding.hpp"
#include "tokenizer/tokenizer.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace embedlab::io {

// Which matrix of a model: input (token embeddings), output (the unembedding: lm_head; a tied model's
// is the input matrix), position (learned absolute positions), token_type (BERT's segment embeddings).
enum class MatrixKind { input, output, position, token_type };
const char* to_string(MatrixKind kind);
// "input" | "output" | "position" | "token_type"; nullopt for anything else.
std::optional<MatrixKind> parse_matrix_kind(std::string_view name);
// The values `embeddings.matrix` / `--matrix` accept.
inline constexpr const char* kMatrixNames = "input|output|position";

struct ModelPreset {
  std::string name;                        // "gpt2", "gpt_neox", "llama", …
  std::vector<std::string> model_types;    // config.json model_type values it matches
  std::vector<std::string> architectures;  // config.json architectures entries (used when model_type is absent)
  // Tensor names of each matrix; alternatives as saved by different Hugging Face classes (with and
  // without the base model's prefix). Empty: the architecture has no such matrix (rotary positions).
  std::vector<std::string> input, output, position, token_type;
  // tie_word_embeddings when config.json does not say (the default of the Hugging Face config class).
  bool tie_default = true;
  // config.json keys (first present wins): vocabulary size, width of the input/output matrices, width
  // of the position / token-type matrices, number of positions, number of token types.
  std::vector<std::string> vocab_keys = {"vocab_size"};
  std::vector<std::string> embed_dim_keys = {"hidden_size"};
  std::vector<std::string> hidden_keys = {"hidden_size"};
  std::vector<std::string> position_keys = {"max_position_embeddings"};
  std::vector<std::string> token_type_keys = {"type_vocab_size"};
  std::uint64_t position_offset = 0;  // rows of the position matrix beyond the position count (OPT: 2)

  const std::vector<std::string>& names(MatrixKind kind) const;
};

// The declared table, one entry per preset.
const std::vector<ModelPreset>& model_presets();
// "gpt2, gpt_neox, llama, …"
std::string preset_names();
// The preset of a parsed config.json: by model_type, else by architectures, else (neither given, as in
// the original GPT-2 configs) gpt2. An unknown model_type is Error(data) listing the presets.
const ModelPreset& preset_for_config(const nlohmann::json& config, const std::string& file = "config.json");
// Every tensor name the config's preset may need for its embedding matrices (input, output, position,
// token type, all alternatives): what `fetch --only-embeddings` looks up in the index's weight_map.
std::vector<std::string> embedding_tensor_names(const nlohmann::json& config);

// config.json as far as the embedding matrices need it.
struct ModelConfig {
  const ModelPreset* preset = nullptr;
  std::string model_type;  // as written ("" when absent)
  std::uint64_t vocab_size = 0, embed_dim = 0, hidden = 0;
  std::optional<std::uint64_t> positions, token_types;  // when the preset has such a matrix
  bool tied = true;
  std::string tie_from;  // "config.json tie_word_embeddings" or "the gpt_neox default"
};
ModelConfig parse_model_config(const nlohmann::json& config, const std::string& file);

// A matrix found in the directory: its tensor, the shard (file) holding it, and the header's dtype/shape.
struct ModelMatrixInfo {
  MatrixKind kind = MatrixKind::input;
  std::string tensor;  // the tensor read (for a tied output: the input matrix's tensor)
  std::string shard;   // path of the safetensors file holding it
  std::string dtype;
  std::vector<std::uint64_t> shape;  // [rows, dim]
  bool tied = false;                 // output served by the input matrix
  std::string note;  // "tied (config.json tie_word_embeddings true); the file's lm_head.weight is not used"
};

// An opened model directory: config, preset and where every tensor lives. Opening reads config.json
// and the index (or the header of model.safetensors); no shard is opened until a matrix is asked for.
struct ModelDir {
  std::string dir;
  std::string config_path, config_sha256;
  ModelConfig config;
  bool sharded = false;
  std::string index_path, index_sha256;              // model.safetensors.index.json, when sharded
  std::map<std::string, std::string> tensor_shards;  // every tensor the directory declares → file name

  // Resolves the matrix (tied output → input; a missing tensor lists what the directory holds), opens
  // the header of its shard only, and checks rank and shape against config.json.
  ModelMatrixInfo matrix(MatrixKind kind) const;
  bool has(MatrixKind kind) const;  // the preset declares the matrix (position: not for rotary models)
};

// Opens `dir`: config.json + model.safetensors or model.safetensors.index.json. A directory holding only
// pytorch_model.bin is refused (a pickle: loading it runs code). Errors name the file and what is wrong.
ModelDir open_model_dir(const std::string& dir);
// Reads one matrix as float32 (F32/F16/BF16/F64 converted bit-exactly, streamed into the matrix: peak
// memory is the float32 matrix plus one read buffer). source: the shard, format "model: " + describe(), dtype, shape,
// sha256 of the tensor's bytes; tokens from the directory's vocabulary (vocab.json, tokenizer.json,
// vocab.txt) unless kind is position / token_type.
Embeddings load_model_matrix(const ModelDir& model, MatrixKind kind);
// What load_model_matrix records about the matrix for provenance: "qwen2 output = model.embed_tokens.weight (tied
// ...)".
std::string describe(const ModelDir& model, const ModelMatrixInfo& info);

// The token strings of a model directory's vocabulary, id order (vocab.json or encoder.json {token: id},
// tokenizer.json model.vocab + added_tokens' ids, vocab.txt one token a line), `rows` long; ids the
// vocabulary does not name are "#j". Empty when the directory has no vocabulary file. tokenizer.json is
// taken from the directory's shared tokenizer (tok::Tokenizer::shared_from_dir) when it loads the file.
std::vector<std::string> model_vocabulary(const std::string& dir, std::uint64_t rows);

// THE answer to "which tokenizer encodes words for this model directory": the directory itself when it
// holds tokenizer files (tok::tokenizer_files: tokenizer.json; vocab.json + merges.txt or encoder.json +
// vocab.bpe; BERT's vocab.txt [+ tokenizer_config.json]). nullopt: no word tokenizer (words are then
// looked up directly among the vocabulary's token strings).
std::optional<std::string> model_tokenizer_dir(const std::string& dir);
// A tokenizer with more ids than the matrix has rows cannot be the matrix's: Error(data) naming both
// (fewer ids is a padded matrix, as Hugging Face pads vocab_size to a multiple of 64 or 128).
void check_tokenizer_rows(const tok::Tokenizer& tokenizer, std::uint64_t rows, const std::string& dir);

}  // namespace embedlab::io
