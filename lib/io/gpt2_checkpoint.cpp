// GPT-2 checkpoints (Hugging Face layout). As in ggml's GPT-2 example, every expected tensor is
// declared from config.json first; the file is then checked against that table in one pass.
#include "io/gpt2_checkpoint.hpp"

#include "core/error.hpp"
#include "core/sha256.hpp"
#include "io/binary_util.hpp"
#include "io/readers.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <limits>
#include <regex>
#include <set>

namespace embedlab::io {
namespace {

namespace fs = std::filesystem;

constexpr const char* kPrefix = "transformer.";

std::string read_small_file(const std::string& path, std::string* sha256) {
  const BinaryFile f(path);
  if (f.size() > (std::uint64_t{1} << 30))
    data_error(path, "", fmt::format("{} bytes is too large for a JSON file", f.size()));
  std::string text = f.read_string_at(0, f.size(), "");
  if (sha256) *sha256 = sha256_hex(text);
  return text;
}

int config_int(const nlohmann::json& j, const char* key, const std::string& file, bool required, int fallback) {
  if (!j.contains(key) || j[key].is_null()) {
    if (required)
      data_error(file, key, "missing (a GPT-2 config needs n_layer, n_head, n_embd, n_positions, vocab_size)");
    return fallback;
  }
  const auto& v = j[key];
  if (!v.is_number_integer() || v.get<std::int64_t>() < 1 || v.get<std::int64_t>() > std::numeric_limits<int>::max())
    data_error(file, key, fmt::format("must be a positive integer (got {})", v.dump()));
  return v.get<int>();
}

std::string canonical(const std::string& name) {
  return name.rfind(kPrefix, 0) == 0 ? name.substr(std::char_traits<char>::length(kPrefix)) : name;
}

bool ignored_buffer(const std::string& name) {
  static const std::regex re(R"(h\.[0-9]+\.attn\.(bias|masked_bias))");
  return std::regex_match(name, re);
}

}  // namespace

Gpt2Config read_gpt2_config(const std::string& path) {
  const nlohmann::json j = parse_json_strict(read_small_file(path, nullptr), path, "");
  if (!j.is_object()) data_error(path, "", fmt::format("must be a JSON object (got {})", j.type_name()));
  if (j.contains("model_type") && j["model_type"] != "gpt2")
    data_error(path, "model_type", fmt::format("got {}, expected \"gpt2\"", j["model_type"].dump()));
  Gpt2Config c;
  c.n_layer = config_int(j, "n_layer", path, true, 0);
  c.n_head = config_int(j, "n_head", path, true, 0);
  c.n_embd = config_int(j, "n_embd", path, true, 0);
  c.vocab_size = config_int(j, "vocab_size", path, true, 0);
  const bool has_ctx = j.contains("n_ctx") && !j["n_ctx"].is_null();
  c.n_positions = config_int(j, "n_positions", path, !has_ctx, 0);
  if (c.n_positions == 0) c.n_positions = config_int(j, "n_ctx", path, true, 0);
  c.n_inner = config_int(j, "n_inner", path, false, 0);
  if (c.n_inner == 0) {
    if (c.n_embd > std::numeric_limits<int>::max() / 4) data_error(path, "n_embd", "too large");
    c.n_inner = 4 * c.n_embd;
  }
  if (c.n_embd % c.n_head != 0)
    data_error(path, "n_head", fmt::format("n_embd {} is not divisible by n_head {}", c.n_embd, c.n_head));
  if (j.contains("layer_norm_epsilon")) {
    const auto& v = j["layer_norm_epsilon"];
    if (!v.is_number() || !(v.get<double>() > 0)) data_error(path, "layer_norm_epsilon", "must be a positive number");
    c.layer_norm_epsilon = v.get<double>();
  }
  if (j.contains("activation_function")) {
    if (!j["activation_function"].is_string()) data_error(path, "activation_function", "must be a string");
    c.activation = j["activation_function"].get<std::string>();
  }
  if (j.contains("tie_word_embeddings")) {
    if (!j["tie_word_embeddings"].is_boolean()) data_error(path, "tie_word_embeddings", "must be true or false");
    c.tie_word_embeddings = j["tie_word_embeddings"].get<bool>();
  }
  return c;
}

std::vector<std::pair<std::string, std::vector<std::uint64_t>>> gpt2_expected_tensors(const Gpt2Config& c) {
  const std::uint64_t C = c.n_embd, V = c.vocab_size, P = c.n_positions, I = c.n_inner;
  std::vector<std::pair<std::string, std::vector<std::uint64_t>>> t = {{"wte.weight", {V, C}}, {"wpe.weight", {P, C}}};
  for (int i = 0; i < c.n_layer; ++i) {
    const std::string h = fmt::format("h.{}.", i);
    t.push_back({h + "ln_1.weight", {C}});
    t.push_back({h + "ln_1.bias", {C}});
    t.push_back({h + "attn.c_attn.weight", {C, 3 * C}});  // Conv1D: x @ W + b
    t.push_back({h + "attn.c_attn.bias", {3 * C}});
    t.push_back({h + "attn.c_proj.weight", {C, C}});
    t.push_back({h + "attn.c_proj.bias", {C}});
    t.push_back({h + "ln_2.weight", {C}});
    t.push_back({h + "ln_2.bias", {C}});
    t.push_back({h + "mlp.c_fc.weight", {C, I}});
    t.push_back({h + "mlp.c_fc.bias", {I}});
    t.push_back({h + "mlp.c_proj.weight", {I, C}});
    t.push_back({h + "mlp.c_proj.bias", {C}});
  }
  t.push_back({"ln_f.weight", {C}});
  t.push_back({"ln_f.bias", {C}});
  return t;
}

const arma::fmat& Gpt2Checkpoint::get(const std::string& name) const {
  const auto it = tensors.find(name);
  if (it == tensors.end()) {
    std::vector<std::string> names;
    for (const auto& [k, _] : tensors) names.push_back(k);
    data_error(dir, fmt::format("tensor '{}'", name),
               fmt::format("not loaded (checkpoint holds: {})", list_names(names)));
  }
  return it->second;
}

Gpt2Checkpoint load_gpt2(const std::string& dir, const std::vector<std::string>& only) {
  if (!fs::is_directory(dir)) fail(Exit::no_input, dir, "", "not a directory (a GPT-2 checkpoint is a directory)");
  const std::string config_path = (fs::path(dir) / "config.json").string();
  const std::string model_path = (fs::path(dir) / "model.safetensors").string();
  for (const auto& p : {config_path, model_path})
    if (!fs::exists(p)) fail(Exit::no_input, dir, "", fmt::format("missing {}", fs::path(p).filename().string()));

  Gpt2Checkpoint ck;
  ck.dir = dir;
  std::string config_sha;
  read_small_file(config_path, &config_sha);
  ck.config = read_gpt2_config(config_path);
  const SafetensorsIndex index = read_safetensors_index(model_path);

  // canonical name → entry in the file
  std::map<std::string, const SafetensorsEntry*> by_name;
  for (const auto& e : index.tensors) {
    const auto [it, fresh] = by_name.emplace(canonical(e.name), &e);
    if (!fresh)
      data_error(model_path, fmt::format("tensor '{}'", e.name),
                 fmt::format("same tensor as '{}' once the '{}' prefix is removed", it->second->name, kPrefix));
  }

  auto expected = gpt2_expected_tensors(ck.config);
  const std::uint64_t V = ck.config.vocab_size, C = ck.config.n_embd;
  const bool has_lm_head = by_name.count("lm_head.weight") > 0;
  if (has_lm_head || !ck.config.tie_word_embeddings) expected.push_back({"lm_head.weight", {V, C}});

  std::vector<std::string> missing, extra, problems;
  std::set<std::string> declared;
  for (const auto& [name, shape] : expected) {
    declared.insert(name);
    const auto it = by_name.find(name);
    if (it == by_name.end()) {
      missing.push_back(name);
      continue;
    }
    const SafetensorsEntry& e = *it->second;
    if (e.shape != shape)
      problems.push_back(
          fmt::format("'{}' shape {} (expected {})", e.name, format_shape(e.shape), format_shape(shape)));
    if (!safetensors_dtype_readable(e.dtype))
      problems.push_back(fmt::format("'{}' dtype {} (expected F32, F16, BF16 or F64)", e.name, e.dtype));
  }
  for (const auto& [name, e] : by_name)
    if (!declared.count(name) && !ignored_buffer(name)) extra.push_back(e->name);
  if (!missing.empty() || !extra.empty() || !problems.empty()) {
    std::vector<std::string> parts;
    if (!missing.empty()) parts.push_back(fmt::format("missing {}: {}", missing.size(), list_names(missing, 40)));
    if (!extra.empty()) parts.push_back(fmt::format("unexpected {}: {}", extra.size(), list_names(extra, 40)));
    for (auto& p : problems) parts.push_back(std::move(p));
    data_error(model_path, "tensors",
               fmt::format("do not match config.json (n_layer {}, n_embd {}, vocab_size {}, n_positions {}): {}",
                           ck.config.n_layer, ck.config.n_embd, ck.config.vocab_size, ck.config.n_positions,
                           fmt::join(parts, "; ")));
  }

  const std::set<std::string> keep(only.begin(), only.end());
  for (const auto& name : keep)
    if (!declared.count(name)) fail(Exit::usage, dir, fmt::format("tensor '{}'", name), "not part of this checkpoint");
  std::string file_sha;
  auto loaded = read_safetensors_tensors(
      index,
      [&](const SafetensorsEntry& e) {
        const std::string c = canonical(e.name);
        return declared.count(c) && (keep.empty() || keep.count(c));
      },
      &file_sha);
  std::set<std::string> file_dtypes;
  for (auto& [name, t] : loaded) {
    const std::string c = canonical(name);
    ck.dtypes[c] = t.dtype;
    file_dtypes.insert(t.dtype);
    ck.tensors.emplace(c, std::move(t.data));
  }
  for (const auto& [name, e] : by_name)
    if (declared.count(name)) ck.dtypes[name] = e->dtype;
  ck.tied = !has_lm_head;
  ck.sources.push_back(InputFile{config_path, "json", "", {}, config_sha});
  ck.sources.push_back(
      InputFile{model_path,
                "safetensors",
                file_dtypes.size() == 1 ? *file_dtypes.begin() : fmt::format("{}", fmt::join(file_dtypes, "+")),
                {},
                file_sha});
  return ck;
}

Embeddings gpt2_embeddings(const Gpt2Checkpoint& ckpt, const std::string& which) {
  std::string name;
  if (which == "wte")
    name = "wte.weight";
  else if (which == "wpe")
    name = "wpe.weight";
  else if (which == "lm_head")
    name = ckpt.tied ? "wte.weight" : "lm_head.weight";
  else
    fail(Exit::usage, ckpt.dir, "tensor", fmt::format("'{}' is not one of wte, wpe, lm_head", which));
  Embeddings emb;
  emb.vectors = ckpt.get(name);
  const auto dt = ckpt.dtypes.find(name);
  const InputFile* model = nullptr;
  for (const auto& s : ckpt.sources)
    if (s.format == "safetensors") model = &s;
  emb.source = InputFile{model ? model->path : ckpt.dir,
                         "gpt2",
                         dt == ckpt.dtypes.end() ? "" : dt->second,
                         {emb.vectors.n_cols, emb.vectors.n_rows},
                         model ? model->sha256 : ""};
  if (which == "wpe") return emb;

  for (const char* vocab_name : {"vocab.json", "encoder.json"}) {
    const std::string path = (fs::path(ckpt.dir) / vocab_name).string();
    if (!fs::exists(path)) continue;
    const nlohmann::json j = parse_json_strict(read_small_file(path, nullptr), path, "");
    if (!j.is_object()) data_error(path, "", "must be a JSON object {token: id}");
    const std::uint64_t n = emb.vectors.n_cols;
    emb.tokens.assign(n, std::string());
    std::vector<bool> seen(n, false);
    for (const auto& [token, id] : j.items()) {
      if (!id.is_number_unsigned() || id.get<std::uint64_t>() >= n)
        data_error(path, fmt::format("token {}", nlohmann::json(token).dump()),
                   fmt::format("id {} is not an integer in [0, {})", id.dump(), n));
      const auto k = id.get<std::uint64_t>();
      if (seen[k]) data_error(path, fmt::format("id {}", k), "given to two tokens");
      seen[k] = true;
      emb.tokens[k] = token;
    }
    // Ids the vocabulary does not name (a padded embedding matrix) keep the "#j" row names.
    for (std::uint64_t k = 0; k < n; ++k)
      if (!seen[k]) emb.tokens[k] = fmt::format("#{}", k);
    break;
  }
  return emb;
}

}  // namespace embedlab::io
