// GPT-2 checkpoints (Hugging Face layout). As in ggml's GPT-2 example, every expected tensor is
// declared from config.json first; the file is then checked against that table in one pass.
#include "io/gpt2_checkpoint.hpp"

#include "core/error.hpp"
#include "core/sha256.hpp"
#include "core/threads.hpp"
#include "io/binary_util.hpp"
#include "io/readers.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
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

// The causal-mask buffers older Hugging Face versions saved with every GPT-2 (the Hub's gpt2
// model.safetensors holds h.0.attn.bias ... h.11.attn.bias, F32 [1, 1, 1024, 1024]): their layer,
// or -1 when `name` is not one. *masked set for h.N.attn.masked_bias (a scalar).
long buffer_layer(const std::string& name, bool* masked) {
  static const std::regex re(R"(h\.([0-9]{1,9})\.attn\.(bias|masked_bias))");
  std::smatch m;
  if (!std::regex_match(name, m, re)) return -1;
  *masked = m[2] == "masked_bias";
  return std::stol(m[1]);
}

// Non-finite elements of a loaded tensor: their count and the first one's index on disk ([i, j] of
// the row-major [r, c], or [i]). Tested on the bits (exponent all ones), so it vectorises.
std::string non_finite(const Tensor& t) {
  const float* v = t.data.memptr();
  const std::uint64_t n = t.data.n_elem;
  std::uint64_t bad = 0;
  for (std::uint64_t k = 0; k < n; ++k) {
    std::uint32_t bits;
    std::memcpy(&bits, v + k, 4);
    bad += (bits & 0x7f800000u) == 0x7f800000u;
  }
  if (bad == 0) return "";
  std::uint64_t first = 0;
  while (std::isfinite(v[first])) ++first;
  const std::string at = t.shape.size() == 2 ? fmt::format("[{}, {}]", first / t.shape[1], first % t.shape[1])
                                             : fmt::format("[{}]", first);
  return fmt::format("{} non-finite value{} (first at {}: {})", bad, bad == 1 ? "" : "s", at, v[first]);
}

}  // namespace

Gpt2Config read_gpt2_config(const std::string& path) { return parse_gpt2_config(read_small_file(path, nullptr), path); }

Gpt2Config parse_gpt2_config(std::string_view text, const std::string& path) {
  const nlohmann::json j = parse_json_strict(text, path, "");
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
  c.n_inner = config_int(j, "n_inner", path, false, 0);  // null: Hugging Face's 4 * n_embd
  if (c.n_inner == 0) {
    if (c.n_embd > std::numeric_limits<int>::max() / 4) data_error(path, "n_embd", "too large");
    c.n_inner = 4 * c.n_embd;
  }
  if (c.n_embd % c.n_head != 0)
    data_error(path, "n_head", fmt::format("n_embd {} is not divisible by n_head {}", c.n_embd, c.n_head));
  if (j.contains("layer_norm_epsilon")) {
    const auto& v = j["layer_norm_epsilon"];
    if (!v.is_number() || !(v.get<double>() > 0) || !std::isfinite(v.get<double>()))
      data_error(path, "layer_norm_epsilon", fmt::format("must be a positive finite number (got {})", v.dump()));
    c.layer_norm_epsilon = v.get<double>();
  }
  if (j.contains("activation_function")) {
    // Hugging Face's ACT2FN names for the activations GPT-2 checkpoints use.
    static const std::vector<std::pair<std::string, Activation>> kActivations = {
        {"gelu_new", Activation::gelu_tanh},
        {"gelu", Activation::gelu_erf},
        {"gelu_pytorch_tanh", Activation::gelu_tanh},
        {"relu", Activation::relu},
        {"silu", Activation::silu},
        {"swish", Activation::silu},
        {"gelu_python", Activation::gelu_erf}};
    const auto& v = j["activation_function"];
    const auto it = v.is_string() ? std::find_if(kActivations.begin(), kActivations.end(),
                                                 [&](const auto& a) { return a.first == v.get<std::string>(); })
                                  : kActivations.end();
    if (it == kActivations.end()) {
      std::vector<std::string> names;
      for (const auto& [name, _] : kActivations) names.push_back(name);
      data_error(path, "activation_function",
                 fmt::format("unsupported (got {}, expected one of {})", v.dump(), fmt::join(names, ", ")));
    }
    c.activation = it->first;
    c.act = it->second;
  }
  const auto flag = [&](const char* key, bool& out) {
    if (!j.contains(key)) return;
    if (!j[key].is_boolean()) data_error(path, key, fmt::format("must be true or false (got {})", j[key].dump()));
    out = j[key].get<bool>();
  };
  flag("scale_attn_weights", c.scale_attn_weights);
  flag("scale_attn_by_inverse_layer_idx", c.scale_attn_by_inverse_layer_idx);
  flag("reorder_and_upcast_attn", c.reorder_and_upcast_attn);
  flag("tie_word_embeddings", c.tie_word_embeddings);
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
  const std::uint64_t V = ck.config.vocab_size, C = ck.config.n_embd, P = ck.config.n_positions;
  ck.lm_head_in_file = by_name.count("lm_head.weight") > 0;
  // A tied model's lm_head.weight is still checked (Hugging Face refuses a mismatched shape before
  // tying), but not kept: the output matrix is wte.
  if (ck.lm_head_in_file || !ck.config.tie_word_embeddings) expected.push_back({"lm_head.weight", {V, C}});
  ck.tied = ck.config.tie_word_embeddings;

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
  for (const auto& [name, e] : by_name) {
    if (declared.count(name)) continue;
    bool masked = false;
    const long layer = buffer_layer(name, &masked);
    if (layer < 0 || layer >= ck.config.n_layer) {
      extra.push_back(e->name);
      continue;
    }
    const std::vector<std::uint64_t> want =
        masked ? std::vector<std::uint64_t>{} : std::vector<std::uint64_t>{1, 1, P, P};
    const bool scalar_ok = masked && e->shape == std::vector<std::uint64_t>{1};
    if (e->shape != want && !scalar_ok)
      problems.push_back(fmt::format("'{}' shape {} (expected {}: a causal-mask buffer)", e->name,
                                     format_shape(e->shape), format_shape(want)));
    ++ck.buffers_ignored;
  }
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
  FileDigest file_digest;
  auto loaded = read_safetensors_tensors(
      index,
      [&](const SafetensorsEntry& e) {
        const std::string c = canonical(e.name);
        if (c == "lm_head.weight" && ck.tied) return false;  // checked above, never used
        return declared.count(c) && (keep.empty() || keep.count(c));
      },
      &file_digest);
  // NaN or Inf in a weight would reach every logit; refuse them here, naming the first bad tensor in
  // file order.
  {
    std::vector<const SafetensorsEntry*> order;
    for (const auto& e : index.tensors)
      if (loaded.count(e.name)) order.push_back(&e);
    // One scan per tensor, over the worker threads; the verdict is read in file order.
    std::vector<std::string> msgs(order.size());
    std::atomic<std::size_t> next{0};
    run_workers(std::max(1, std::min(worker_count(0), static_cast<int>(order.size()))), [&](int) {
      for (std::size_t k; (k = next.fetch_add(1)) < order.size();) msgs[k] = non_finite(loaded.at(order[k]->name));
    });
    std::string first_bad, first_msg;
    std::size_t bad_tensors = 0;
    for (std::size_t k = 0; k < order.size(); ++k) {
      const SafetensorsEntry* e = order[k];
      const std::string& msg = msgs[k];
      if (msg.empty()) continue;
      if (bad_tensors++ == 0) first_bad = e->name, first_msg = msg;
    }
    if (bad_tensors > 0)
      data_error(model_path, fmt::format("tensor '{}'", first_bad),
                 bad_tensors == 1
                     ? first_msg
                     : fmt::format("{} ({} more tensors hold non-finite values)", first_msg, bad_tensors - 1));
  }
  std::set<std::string> file_dtypes;
  for (auto& [name, t] : loaded) {
    const std::string c = canonical(name);
    ck.dtypes[c] = t.dtype;
    file_dtypes.insert(t.dtype);
    ck.tensors.emplace(c, std::move(t.data));
  }
  for (const auto& [name, e] : by_name)
    if (declared.count(name)) ck.dtypes[name] = e->dtype;
  ck.sources.push_back(InputFile{config_path, "json", "", {}, config_sha});
  ck.sources.push_back(
      InputFile{model_path,
                "safetensors",
                file_dtypes.size() == 1 ? *file_dtypes.begin() : fmt::format("{}", fmt::join(file_dtypes, "+")),
                {},
                file_digest.sha256,
                file_digest.cached});
  return ck;
}

std::string Gpt2Checkpoint::output_source() const {
  if (!tied) return "lm_head.weight (tie_word_embeddings false)";
  return lm_head_in_file ? "wte.weight (tie_word_embeddings true: the file's lm_head.weight is not used)"
                         : "wte.weight (tied; the file has no lm_head.weight)";
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
