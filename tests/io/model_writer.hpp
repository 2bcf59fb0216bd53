#pragma once
// Synthetic Hugging Face model directories for every preset, written by the tests independently of
// lib/io: tensor names as Hugging Face saves them (declared here, not taken from the preset table),
// random weights, F32 / F16 / BF16, one file or several shards with model.safetensors.index.json.
// The expected float32 values are computed here: BF16 is the upper half of the float's bits
// (truncated), F16 is the compiler's _Float16 rounding.
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace embedlab::test {

struct SynthTensor {
  std::string name;
  std::vector<std::uint64_t> shape;
  std::vector<float> values;  // row-major; after write_model: exactly what the file holds as float32
};

// Raw little-endian bytes of `values` in `dtype`; `values` is replaced by what the bytes mean.
inline std::string encode_values(std::vector<float>& values, const std::string& dtype) {
  std::string out;
  if (dtype == "F32") {
    out.resize(values.size() * 4);
    std::memcpy(out.data(), values.data(), out.size());
    return out;
  }
  out.resize(values.size() * 2);
  for (std::size_t i = 0; i < values.size(); ++i) {
    std::uint16_t h = 0;
    if (dtype == "BF16") {
      std::uint32_t bits;
      std::memcpy(&bits, &values[i], 4);
      h = static_cast<std::uint16_t>(bits >> 16);
      bits = std::uint32_t(h) << 16;
      std::memcpy(&values[i], &bits, 4);
    } else {
      const _Float16 f = static_cast<_Float16>(values[i]);
      std::memcpy(&h, &f, 2);
      values[i] = static_cast<float>(f);
    }
    out[2 * i] = static_cast<char>(h & 0xff);
    out[2 * i + 1] = static_cast<char>(h >> 8);
  }
  return out;
}

inline void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.close();
  BOOST_REQUIRE_MESSAGE(out, "cannot write " << path);
}

// One safetensors file of the tensors in order, all in `dtype`.
inline void write_st_file(const std::string& path, std::vector<SynthTensor*> tensors, const std::string& dtype) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  header["__metadata__"] = {{"format", "pt"}};
  std::string data;
  for (auto* t : tensors) {
    const std::string bytes = encode_values(t->values, dtype);
    header[t->name] = {
        {"dtype", dtype}, {"shape", t->shape}, {"data_offsets", {data.size(), data.size() + bytes.size()}}};
    data += bytes;
  }
  std::string text = header.dump();
  while (text.size() % 8 != 0) text += ' ';
  std::string file(8, '\0');
  for (int i = 0; i < 8; ++i) file[i] = static_cast<char>((text.size() >> (8 * i)) & 0xff);
  write_bytes(path, file + text + data);
}

struct SynthSpec {
  std::string preset = "llama";  // gpt2 gpt_neox llama mistral qwen2 qwen3 olmo gemma bert roberta opt phi
  std::uint64_t vocab = 40, dim = 8, positions = 16;
  std::string dtype = "BF16";
  int shards = 2;                       // 1: model.safetensors; more: model-0000k-of-0000n + index
  std::optional<bool> tie;              // tie_word_embeddings in config.json (absent: the preset's default)
  bool write_output_when_tied = false;  // also write lm_head.weight of a tied model (HF may)
  std::uint64_t seed = 1;
  std::vector<std::string> vocabulary;  // token strings (written as the preset's vocabulary file) or empty
};

struct SynthModel {
  std::string dir;
  std::map<std::string, SynthTensor> tensors;   // by name, values as stored
  std::map<std::string, std::string> shard_of;  // tensor → file name
  std::string input, output, position;          // Hugging Face names of the matrices ("" if none / not written)
};

// Hugging Face's tensor names per architecture (as saved by the *ForCausalLM / *ForMaskedLM classes).
inline void hf_names(const std::string& p, std::string& in, std::string& out, std::string& pos, std::string& tt,
                     std::string& other, bool& tie_default) {
  tt.clear();
  pos.clear();
  tie_default = false;
  if (p == "gpt2") {
    in = "transformer.wte.weight", out = "lm_head.weight", pos = "transformer.wpe.weight";
    other = "transformer.ln_f.weight", tie_default = true;
  } else if (p == "gpt_neox") {
    in = "gpt_neox.embed_in.weight", out = "embed_out.weight", other = "gpt_neox.final_layer_norm.weight";
  } else if (p == "bert") {
    in = "bert.embeddings.word_embeddings.weight", out = "cls.predictions.decoder.weight";
    pos = "bert.embeddings.position_embeddings.weight", tt = "bert.embeddings.token_type_embeddings.weight";
    other = "bert.embeddings.LayerNorm.weight", tie_default = true;
  } else if (p == "roberta") {
    in = "roberta.embeddings.word_embeddings.weight", out = "lm_head.decoder.weight";
    pos = "roberta.embeddings.position_embeddings.weight", tt = "roberta.embeddings.token_type_embeddings.weight";
    other = "roberta.embeddings.LayerNorm.weight", tie_default = true;
  } else if (p == "opt") {
    in = "model.decoder.embed_tokens.weight", out = "lm_head.weight", pos = "model.decoder.embed_positions.weight";
    other = "model.decoder.final_layer_norm.weight", tie_default = true;
  } else {  // llama mistral qwen2 qwen3 olmo gemma phi
    in = "model.embed_tokens.weight", out = "lm_head.weight", other = "model.norm.weight";
    tie_default = p == "gemma";
  }
}

inline SynthModel write_model(const std::string& dir, const SynthSpec& s) {
  namespace fs = std::filesystem;
  fs::create_directories(dir);
  SynthModel m;
  m.dir = dir;
  std::string in, out, pos, tt, other;
  bool tie_default = false;
  hf_names(s.preset, in, out, pos, tt, other, tie_default);
  const bool tied = s.tie.value_or(tie_default);
  nlohmann::ordered_json config;
  config["model_type"] = s.preset;
  config["vocab_size"] = s.vocab;
  if (s.preset == "gpt2") {
    config["n_embd"] = s.dim, config["n_positions"] = s.positions, config["n_layer"] = 1, config["n_head"] = 2;
  } else {
    config["hidden_size"] = s.dim;
    config["num_hidden_layers"] = 1;
  }
  if (!pos.empty() && s.preset != "gpt2") config["max_position_embeddings"] = s.positions;
  if (!tt.empty()) config["type_vocab_size"] = 2;
  if (s.tie) config["tie_word_embeddings"] = *s.tie;
  std::ofstream(fs::path(dir) / "config.json") << config.dump(2);

  std::uint64_t state = s.seed * 0x9e3779b97f4a7c15ull + 12345;
  const auto uniform = [&] {  // splitmix64 → [-1, 1)
    state += 0x9e3779b97f4a7c15ull;
    std::uint64_t z = state;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return static_cast<float>(z >> 40) * (2.0f / 16777216.0f) - 1.0f;
  };
  const auto add = [&](const std::string& name, std::vector<std::uint64_t> shape) {
    SynthTensor t{name, shape, {}};
    std::uint64_t n = 1;
    for (auto d : shape) n *= d;
    t.values.resize(n);
    for (auto& v : t.values) v = uniform();
    m.tensors[name] = std::move(t);
  };
  // Tensors in file order: the input matrix first, a layer tensor, then the rest.
  std::vector<std::string> order;
  add(in, {s.vocab, s.dim}), order.push_back(in), m.input = in;
  add(other, {s.dim}), order.push_back(other);
  if (!pos.empty()) {
    const std::uint64_t rows = s.positions + (s.preset == "opt" ? 2 : 0);
    add(pos, {rows, s.dim}), order.push_back(pos), m.position = pos;
  }
  if (!tt.empty()) add(tt, {2, s.dim}), order.push_back(tt);
  if (!tied || s.write_output_when_tied) add(out, {s.vocab, s.dim}), order.push_back(out);
  m.output = tied ? in : out;

  if (s.shards <= 1) {
    std::vector<SynthTensor*> all;
    for (const auto& n : order) all.push_back(&m.tensors[n]), m.shard_of[n] = "model.safetensors";
    write_st_file((fs::path(dir) / "model.safetensors").string(), all, s.dtype);
  } else {
    std::vector<std::vector<SynthTensor*>> files(static_cast<std::size_t>(s.shards));
    nlohmann::ordered_json index;
    index["metadata"] = {{"total_size", 0}};
    for (std::size_t i = 0; i < order.size(); ++i) {
      const std::size_t k = i % files.size();
      const std::string file = fmt::format("model-{:05d}-of-{:05d}.safetensors", k + 1, files.size());
      files[k].push_back(&m.tensors[order[i]]);
      m.shard_of[order[i]] = file;
      index["weight_map"][order[i]] = file;
    }
    for (std::size_t k = 0; k < files.size(); ++k)
      write_st_file((fs::path(dir) / fmt::format("model-{:05d}-of-{:05d}.safetensors", k + 1, files.size())).string(),
                    files[k], s.dtype);
    std::ofstream(fs::path(dir) / "model.safetensors.index.json") << index.dump(2);
  }
  // A complete tokenizer, never more ids than rows: BERT's vocab.txt must hold the tokens its pipeline
  // needs ([UNK], [CLS], [SEP]); tokenizer.json is a whole-word BPE (WhitespaceSplit, ignore_merges:
  // a word in the vocabulary is its own token, Llama-3's behaviour) that Hugging Face loads as it is.
  BOOST_REQUIRE_MESSAGE(s.vocabulary.size() <= s.vocab, "more vocabulary tokens than matrix rows");
  if (!s.vocabulary.empty()) {
    if (s.preset == "bert") {
      for (const char* need : {"[UNK]", "[CLS]", "[SEP]"})
        BOOST_REQUIRE_MESSAGE(std::find(s.vocabulary.begin(), s.vocabulary.end(), need) != s.vocabulary.end(),
                              "a BERT vocabulary needs " << need);
      std::ofstream v(fs::path(dir) / "vocab.txt");
      for (const auto& w : s.vocabulary) v << w << "\n";
    } else {
      nlohmann::ordered_json vocab = nlohmann::ordered_json::object();
      for (std::size_t i = 0; i < s.vocabulary.size(); ++i) vocab[s.vocabulary[i]] = i;
      if (s.preset == "gpt2" || s.preset == "roberta") {
        std::ofstream(fs::path(dir) / "vocab.json") << vocab.dump();
      } else {
        nlohmann::ordered_json tok;
        tok["version"] = "1.0";
        tok["added_tokens"] = nlohmann::json::array();
        tok["normalizer"] = nullptr;
        tok["pre_tokenizer"] = {{"type", "WhitespaceSplit"}};
        tok["post_processor"] = nullptr;
        tok["decoder"] = nullptr;
        tok["model"] = {{"type", "BPE"},
                        {"dropout", nullptr},
                        {"unk_token", nullptr},
                        {"continuing_subword_prefix", nullptr},
                        {"end_of_word_suffix", nullptr},
                        {"fuse_unk", false},
                        {"byte_fallback", false},
                        {"ignore_merges", true},
                        {"vocab", vocab},
                        {"merges", nlohmann::json::array()}};
        std::ofstream(fs::path(dir) / "tokenizer.json") << tok.dump();
      }
    }
  }
  return m;
}

// The presets every synthetic-checkpoint test covers.
inline const std::vector<std::string>& synth_presets() {
  static const std::vector<std::string> p = {"gpt2", "gpt_neox", "llama", "mistral", "qwen2", "qwen3",
                                             "olmo", "gemma",    "bert",  "roberta", "opt",   "phi"};
  return p;
}

}  // namespace embedlab::test
