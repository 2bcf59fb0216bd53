#pragma once
// Shared by the experiments that run the GPT-2 forward pass themselves (weight_tying,
// softmax_sensitivity, logit_lens): the [model] and [prompts] keys, loading the checkpoint and its
// tokenizer with provenance, and turning the configured prompts into token ids.
//
// Prompts: `prompts.text` is a comma-separated list of texts, so a text prompt cannot contain a
// comma (nor `#`, which the INI reader refuses in values); `prompts.ids` is a comma-separated list
// of prompts given as space-separated token ids ("1 2 3, 7 8"), for models without a tokenizer.
#include "core/error.hpp"
#include "experiment/experiment.hpp"
#include "io/gpt2_checkpoint.hpp"
#include "io/word_lookup.hpp"
#include "model/gpt2.hpp"
#include "tokenizer/tokenizer.hpp"

#include <fmt/format.h>

#include <charconv>
#include <filesystem>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace embedlab::experiments::gpt2_prompts {

struct Keys {
  std::string model_path, tokenizer_path;
  std::vector<std::string> text, ids;
};

// Config derives from Keys; the keys bind to its (inherited) members. declare_model: the [model]
// keys alone (for experiments that feed the model something other than prompts).
template <class Config>
void declare_model(experiment::Schema<Config>& s) {
  s.path("model.path", &Config::model_path, "data/gpt2",
         "GPT-2 checkpoint directory (config.json + model.safetensors; `make fetch` brings data/gpt2)")
      .input();
  s.path("model.tokenizer", &Config::tokenizer_path, "",
         "tokenizer directory (vocab.json + merges.txt or encoder.json + vocab.bpe); empty: the model directory, "
         "else gpt2-tokenizer/ or gpt2/ beside it or its parents, else data/gpt2")
      .input();
}

template <class Config>
void declare(experiment::Schema<Config>& s, const std::string& default_text) {
  declare_model(s);
  using List = std::vector<std::string>;
  s.template key<List>("prompts.text", &Config::text, default_text,
                       "text prompts, comma-separated (a prompt cannot contain a comma); needs a tokenizer");
  s.template key<List>("prompts.ids", &Config::ids, "",
                       "prompts as space-separated token ids, comma-separated between prompts (\"1 2 3, 7 8\")");
}

// The memory guard's view of a GPT-2 run: every weight as float32 (read from config.json's sizes,
// not from the file) plus the KV cache of a full context, and `per_token` float64 vectors of
// vocab_size held at once by the experiment (logits, probabilities, their permutations).
inline void model_memory(const Keys& c, double per_token_vectors, std::vector<experiment::Allocation>& out) {
  namespace fs = std::filesystem;
  if (c.model_path.empty() || !fs::exists(fs::path(c.model_path) / "config.json")) return;
  const auto cfg = io::read_gpt2_config((fs::path(c.model_path) / "config.json").string());
  double params = 0;
  for (const auto& [name, shape] : io::gpt2_expected_tensors(cfg)) {
    double p = 1;
    for (auto x : shape) p *= static_cast<double>(x);
    params += p;
  }
  if (!cfg.tie_word_embeddings) params += static_cast<double>(cfg.vocab_size) * cfg.n_embd;
  const double kv = 2.0 * cfg.n_layer * cfg.n_positions * cfg.n_embd;
  out.push_back({4 * (params + kv),
                 fmt::format("GPT-2 weights, {:.1f}M parameters float32, and a {}-position KV cache", params / 1e6,
                             cfg.n_positions),
                 "model.path", "use a smaller checkpoint"});
  if (per_token_vectors > 0)
    out.push_back(
        {8 * per_token_vectors * cfg.vocab_size,
         fmt::format("{:.0f} vectors of {} float64 (logits and probabilities)", per_token_vectors, cfg.vocab_size),
         "model.path", "use a smaller checkpoint"});
}

struct Prompt {
  std::string label;  // the text, or "ids: 1 2 3"
  std::vector<int> ids;
};

struct Loaded {
  io::Gpt2Checkpoint ckpt;
  std::unique_ptr<model::Gpt2> model;
  std::optional<io::Gpt2Tokenizer> tokenizer;  // present only when its vocabulary matches the model's
  std::vector<Prompt> prompts;

  // A printable name of a token: the tokenizer's bytes in quotes, or "#id" without a tokenizer.
  std::string token(int id) const {
    if (tokenizer) return io::quote_bytes(tokenizer->token_bytes(id));  // already quoted
    return fmt::format("#{}", id);
  }
};

inline std::vector<int> parse_ids(const std::string& item, const std::string& key) {
  std::vector<int> out;
  std::istringstream in(item);
  std::string word;
  while (in >> word) {
    int v = 0;
    const auto [p, ec] = std::from_chars(word.data(), word.data() + word.size(), v);
    if (ec != std::errc() || p != word.data() + word.size() || v < 0)
      fail(Exit::config, key, "prompt ids", fmt::format("not a token id (got '{}' in '{}')", word, item));
    out.push_back(v);
  }
  return out;
}

// Loads the checkpoint (recording its sources) and the tokenizer (model.tokenizer, else the one
// io::find_gpt2_tokenizer_dir finds for the model; used and recorded when its vocabulary matches
// the model's). `need_tokenizer` names the key that needs one (a missing or mismatched tokenizer is
// then a config error naming it, with `alternative` as the hint); empty: the tokenizer is optional.
inline Loaded load_model(const Keys& c, experiment::Context& ctx, const std::string& need_tokenizer = {},
                         const std::string& alternative = {}) {
  Loaded L;
  L.ckpt = io::load_gpt2(c.model_path);
  for (const auto& s : L.ckpt.sources) ctx.inputs->push_back(s);
  L.model = std::make_unique<model::Gpt2>(L.ckpt);
  const std::optional<std::string> tok_dir =
      c.tokenizer_path.empty() ? io::find_gpt2_tokenizer_dir(c.model_path) : c.tokenizer_path;
  if (tok_dir) {
    auto tok = io::Gpt2Tokenizer::from_dir(*tok_dir);
    if (tok.vocab_size() == L.model->vocab_size()) {
      L.tokenizer.emplace(std::move(tok));
      for (auto& f : io::WordLookup::tokenizer_files(*tok_dir)) ctx.inputs->push_back(std::move(f));
    } else if (!need_tokenizer.empty()) {
      fail(Exit::config, "model.tokenizer", *tok_dir,
           fmt::format("tokenizer vocabulary does not match the model (got {}, expected {})", tok.vocab_size(),
                       L.model->vocab_size()));
    }
  }
  if (!need_tokenizer.empty() && !L.tokenizer)
    fail(Exit::config, need_tokenizer, c.model_path,
         fmt::format("needs a tokenizer, and none was found (the model directory, gpt2-tokenizer/ or gpt2/ beside "
                     "it or its parents, data/gpt2; set model.tokenizer, or {})",
                     alternative));
  return L;
}

// load_model, then the prompts (text encoded, ids checked against the model).
template <class Config>
Loaded load(const Config& c, experiment::Context& ctx) {
  Loaded L = load_model(c, ctx, c.text.empty() ? std::string() : "prompts.text", "give prompts.ids");
  for (const auto& t : c.text) {
    Prompt p{t, L.tokenizer->encode_gpt2(t)};
    if (p.ids.empty()) fail(Exit::config, "prompts.text", t, "prompt encodes to no tokens");
    L.prompts.push_back(std::move(p));
  }
  for (const auto& item : c.ids) {
    Prompt p{"ids: " + item, parse_ids(item, "prompts.ids")};
    if (p.ids.empty()) fail(Exit::config, "prompts.ids", item, "empty prompt");
    if (L.tokenizer) p.label = fmt::format("{} ({})", io::quote_bytes(L.tokenizer->decode(p.ids)), p.label);
    L.prompts.push_back(std::move(p));
  }
  if (L.prompts.empty()) fail(Exit::config, "prompts", ctx.config_path, "no prompts (set prompts.text or prompts.ids)");
  for (const auto& p : L.prompts) L.model->check_ids(p.ids);
  return L;
}

}  // namespace embedlab::experiments::gpt2_prompts
