#pragma once
// A GPT-2 checkpoint directory: config.json + model.safetensors (Hugging Face layout, keys with or
// without the `transformer.` prefix). The expected tensors are declared from config.json first, then
// the file is checked against them (names, shapes, dtypes), listing what is missing or extra.
#include "core/provenance.hpp"
#include "io/embedding.hpp"

#include <armadillo>

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace embedlab::io {

struct Gpt2Config {
  int n_layer = 0, n_head = 0, n_embd = 0, n_positions = 0, vocab_size = 0;
  int n_inner = 0;  // 4 * n_embd when config.json says null
  double layer_norm_epsilon = 1e-5;
  std::string activation = "gelu_new";
  bool tie_word_embeddings = true;
};

struct Gpt2Checkpoint {
  std::string dir;
  Gpt2Config config;
  // Canonical names without the `transformer.` prefix: "wte.weight", "wpe.weight",
  // "h.0.ln_1.weight", "h.0.attn.c_attn.weight", ..., "ln_f.bias", and "lm_head.weight" when present.
  // A tensor of Hugging Face shape [r, c] (row-major) is stored as an arma::fmat c×r (no copy):
  //   wte.weight [V, C] → C×V (column = token), c_attn.weight [C, 3C] → 3C×C.
  // Rank-1 tensors [n] are n×1.
  std::map<std::string, arma::fmat> tensors;
  std::map<std::string, std::string> dtypes;  // on-disk dtype per canonical name (every tensor checked)
  bool tied = true;                           // true: the output matrix is wte (lm_head absent)
  std::vector<InputFile> sources;             // config.json and model.safetensors; sha256 of the whole files

  const arma::fmat& get(const std::string& name) const;  // throws Error naming the missing tensor
  const arma::fmat& wte() const { return get("wte.weight"); }
  const arma::fmat& output() const { return tied ? wte() : get("lm_head.weight"); }
};

// Parses config.json (strict JSON: duplicate keys refused); model_type, when present, must be gpt2.
Gpt2Config read_gpt2_config(const std::string& config_json_path);
// The expected tensors declared from a config: canonical name -> Hugging Face shape. lm_head.weight
// [V, C] is not in the list (it is optional; required when tie_word_embeddings is false).
std::vector<std::pair<std::string, std::vector<std::uint64_t>>> gpt2_expected_tensors(const Gpt2Config& config);
// Validates every tensor of the file against the declaration (one error listing all missing, extra,
// wrongly shaped and unreadable tensors; h.N.attn.bias / h.N.attn.masked_bias buffers are ignored),
// then loads them. `only` (canonical names) limits which tensors are kept in memory; the whole file
// is still read once and hashed.
Gpt2Checkpoint load_gpt2(const std::string& dir, const std::vector<std::string>& only = {});
// The token embeddings of a checkpoint as Embeddings (tokens filled from the tokenizer when a
// vocab.json/encoder.json sits in the directory, else empty). which: "wte" | "wpe" | "lm_head"
// (lm_head of a tied model is wte). Positions (wpe) get no token strings.
Embeddings gpt2_embeddings(const Gpt2Checkpoint& ckpt, const std::string& which = "wte");

}  // namespace embedlab::io
