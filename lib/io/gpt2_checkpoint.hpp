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
#include <string_view>
#include <utility>
#include <vector>

namespace embedlab::io {

// The MLP activation, as Hugging Face's ACT2FN maps config.json's activation_function:
// gelu_new and gelu_pytorch_tanh are the tanh approximation 0.5·x·(1 + tanh(√(2/π)(x + 0.044715·x³))),
// gelu (and gelu_python) the exact 0.5·x·(1 + erf(x/√2)), relu max(x, 0), silu (and swish) x·σ(x).
enum class Activation { gelu_tanh, gelu_erf, relu, silu };

// The config.json keys that change the maths, with Hugging Face GPT2Config's defaults. A key of the
// wrong type or an unknown activation is an error naming the key; keys that change nothing in an
// inference forward pass (dropouts, summary_*, task_specific_params ...) are ignored.
struct Gpt2Config {
  int n_layer = 0, n_head = 0, n_embd = 0, n_positions = 0, vocab_size = 0;
  int n_inner = 0;  // MLP width; 4 * n_embd when config.json says null or nothing
  double layer_norm_epsilon = 1e-5;
  std::string activation = "gelu_new";  // activation_function as written in config.json
  Activation act = Activation::gelu_tanh;
  // Attention scores q·k are divided by sqrt(head_dim) only when scale_attn_weights, and by
  // (layer index + 1) when scale_attn_by_inverse_layer_idx. reorder_and_upcast_attn makes Hugging
  // Face fold both factors into one and compute the scores in float32 under mixed precision; with
  // float32 activations (ours, and Hugging Face's on a float32 model) it changes no value.
  bool scale_attn_weights = true;
  bool scale_attn_by_inverse_layer_idx = false;
  bool reorder_and_upcast_attn = false;
  // true (the default): the output matrix is wte, even when the file also holds lm_head.weight
  // (Hugging Face ties lm_head to wte after loading); false: lm_head.weight is required and used.
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
  bool tied = true;                           // the output matrix is wte (config.tie_word_embeddings)
  bool lm_head_in_file = false;               // the file holds lm_head.weight (checked; not used when tied)
  int buffers_ignored = 0;         // h.N.attn.bias / h.N.attn.masked_bias causal-mask buffers (checked, not used)
  std::vector<InputFile> sources;  // config.json and model.safetensors; sha256 of the whole files

  const arma::fmat& get(const std::string& name) const;  // throws Error naming the missing tensor
  const arma::fmat& wte() const { return get("wte.weight"); }
  const arma::fmat& output() const { return tied ? wte() : get("lm_head.weight"); }
  // Which tensor is the output matrix and why, for reports and provenance: "wte.weight (tied: ...)".
  std::string output_source() const;
};

// Parses config.json (strict JSON: duplicate keys refused); model_type, when present, must be gpt2.
Gpt2Config read_gpt2_config(const std::string& config_json_path);
// The same from the file's text; `file` names it in messages.
Gpt2Config parse_gpt2_config(std::string_view text, const std::string& file);
// The expected tensors declared from a config: canonical name -> Hugging Face shape. lm_head.weight
// [V, C] is not in the list (it is optional; required when tie_word_embeddings is false).
std::vector<std::pair<std::string, std::vector<std::uint64_t>>> gpt2_expected_tensors(const Gpt2Config& config);
// Validates every tensor of the file against the declaration (one error listing all missing, extra,
// wrongly shaped and unreadable tensors; the causal-mask buffers h.N.attn.bias [1, 1, P, P] and
// h.N.attn.masked_bias [] of the Hub's files are checked by layer and shape, then ignored as Hugging
// Face ignores them), then loads them. Every loaded tensor must be finite: a NaN or Inf is an error
// naming the tensor and the first bad index. `only` (canonical names) limits which tensors are kept in
// memory; the whole file is still read once and hashed.
Gpt2Checkpoint load_gpt2(const std::string& dir, const std::vector<std::string>& only = {});
// The token embeddings of a checkpoint as Embeddings (tokens filled from the tokenizer when a
// vocab.json/encoder.json sits in the directory, else empty). which: "wte" | "wpe" | "lm_head"
// (lm_head of a tied model is wte). Positions (wpe) get no token strings.
Embeddings gpt2_embeddings(const Gpt2Checkpoint& ckpt, const std::string& which = "wte");

}  // namespace embedlab::io
