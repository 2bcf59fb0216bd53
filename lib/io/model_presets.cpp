// Model directories of any architecture. The preset table below is the one declaration of where each
// architecture keeps its embedding matrices; everything else (shape checks, tying, shard selection)
// is derived from it.
#include "io/model_presets.hpp"

#include "core/error.hpp"
#include "core/sha256.hpp"
#include "io/binary_util.hpp"
#include "io/readers.hpp"
#include "tokenizer/tokenizer.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <limits>
#include <set>

namespace embedlab::io {
namespace {

namespace fs = std::filesystem;

// Decoder-only models whose matrices sit at model.embed_tokens / lm_head (Llama and its descendants).
ModelPreset llama_like(std::string name, std::vector<std::string> architectures, bool tie_default) {
  ModelPreset p;
  p.model_types = {name};
  p.name = std::move(name);
  p.architectures = std::move(architectures);
  p.input = {"model.embed_tokens.weight", "embed_tokens.weight"};
  p.output = {"lm_head.weight"};
  p.tie_default = tie_default;
  return p;
}

// BERT-style encoders: `<prefix>.embeddings.{word,position,token_type}_embeddings.weight`, saved with
// the prefix by the task models (BertForMaskedLM) and without it by the bare model (BertModel).
ModelPreset bert_like(std::string name, std::vector<std::string> model_types, std::vector<std::string> architectures,
                      const std::string& prefix, std::vector<std::string> output) {
  ModelPreset p;
  p.name = std::move(name);
  p.model_types = std::move(model_types);
  p.architectures = std::move(architectures);
  for (const char* m : {"word", "position", "token_type"}) {
    const std::string t = fmt::format("embeddings.{}_embeddings.weight", m);
    auto& names = std::string(m) == "word" ? p.input : std::string(m) == "position" ? p.position : p.token_type;
    names = {prefix + "." + t, t};
  }
  p.output = std::move(output);  // the MLM decoder, tied to the word embeddings
  p.tie_default = true;
  return p;
}

std::vector<ModelPreset> build_presets() {
  std::vector<ModelPreset> t;
  {
    ModelPreset p;  // GPT-2, every size (Hugging Face and the original `transformer.`-prefixed names)
    p.name = "gpt2";
    p.model_types = {"gpt2"};
    p.architectures = {"GPT2LMHeadModel", "GPT2Model"};
    p.input = {"wte.weight", "transformer.wte.weight"};
    p.output = {"lm_head.weight"};
    p.position = {"wpe.weight", "transformer.wpe.weight"};
    p.tie_default = true;
    p.vocab_keys = {"vocab_size"};
    p.embed_dim_keys = p.hidden_keys = {"n_embd"};
    p.position_keys = {"n_positions", "n_ctx"};
    t.push_back(p);
  }
  {
    ModelPreset p;  // Pythia and GPT-NeoX: rotary positions, untied embed_out
    p.name = "gpt_neox";
    p.model_types = {"gpt_neox"};
    p.architectures = {"GPTNeoXForCausalLM", "GPTNeoXModel"};
    p.input = {"gpt_neox.embed_in.weight", "embed_in.weight"};
    p.output = {"embed_out.weight"};
    p.tie_default = false;
    t.push_back(p);
  }
  t.push_back(llama_like("llama", {"LlamaForCausalLM", "LlamaModel"}, false));
  t.push_back(llama_like("mistral", {"MistralForCausalLM", "MistralModel"}, false));
  t.push_back(llama_like("qwen2", {"Qwen2ForCausalLM", "Qwen2Model"}, false));
  t.push_back(llama_like("qwen3", {"Qwen3ForCausalLM", "Qwen3Model"}, false));
  t.push_back(llama_like("olmo", {"OlmoForCausalLM", "OlmoModel"}, false));
  t.push_back(llama_like("olmo2", {"Olmo2ForCausalLM", "Olmo2Model"}, false));
  t.push_back(llama_like("gemma", {"GemmaForCausalLM", "GemmaModel"}, true));
  t.push_back(llama_like("gemma2", {"Gemma2ForCausalLM", "Gemma2Model"}, true));
  t.push_back(llama_like("phi", {"PhiForCausalLM", "PhiModel"}, false));
  t.push_back(llama_like("phi3", {"Phi3ForCausalLM", "Phi3Model"}, false));
  t.push_back(bert_like("bert", {"bert"}, {"BertForMaskedLM", "BertForPreTraining", "BertModel", "BertLMHeadModel"},
                        "bert", {"cls.predictions.decoder.weight"}));
  t.push_back(bert_like("roberta", {"roberta", "xlm-roberta"},
                        {"RobertaForMaskedLM", "RobertaModel", "XLMRobertaForMaskedLM", "XLMRobertaModel"}, "roberta",
                        {"lm_head.decoder.weight"}));
  {
    ModelPreset p;  // OPT: learned positions offset by 2, embeddings possibly narrower than the model
    p.name = "opt";
    p.model_types = {"opt"};
    p.architectures = {"OPTForCausalLM", "OPTModel"};
    p.input = {"model.decoder.embed_tokens.weight", "decoder.embed_tokens.weight"};
    p.output = {"lm_head.weight"};
    p.position = {"model.decoder.embed_positions.weight", "decoder.embed_positions.weight"};
    p.tie_default = true;
    p.embed_dim_keys = {"word_embed_proj_dim", "hidden_size"};
    p.position_offset = 2;
    t.push_back(p);
  }
  return t;
}

std::string read_small(const std::string& path, std::string* sha256) {
  const BinaryFile f(path);
  if (f.size() > (std::uint64_t{1} << 30))
    data_error(path, "", fmt::format("{} bytes is too large for a JSON or vocabulary file", f.size()));
  std::string text = f.read_string_at(0, f.size(), "");
  if (sha256) *sha256 = sha256_hex(text);
  return text;
}

// The first of `keys` present (not null) in config: a positive integer, else an error naming the key.
std::optional<std::uint64_t> size_key(const nlohmann::json& j, const std::vector<std::string>& keys,
                                      const std::string& file) {
  for (const auto& k : keys) {
    if (!j.contains(k) || j[k].is_null()) continue;
    const auto& v = j[k];
    if (!v.is_number_unsigned() || v.get<std::uint64_t>() == 0 || v.get<std::uint64_t>() > (std::uint64_t{1} << 40))
      data_error(file, k, fmt::format("must be a positive integer (got {})", v.dump()));
    return v.get<std::uint64_t>();
  }
  return std::nullopt;
}

std::uint64_t required_size(const nlohmann::json& j, const std::vector<std::string>& keys, const std::string& file,
                            const ModelPreset& p) {
  const auto v = size_key(j, keys, file);
  if (!v) data_error(file, keys.front(), fmt::format("missing (a {} config needs it)", p.name));
  return *v;
}

bool bad_shard_name(const std::string& s) {
  return s.empty() || s == "." || s == ".." || s.find('/') != std::string::npos || s.find('\\') != std::string::npos ||
         s.find('\0') != std::string::npos;
}

}  // namespace

const char* to_string(MatrixKind k) {
  switch (k) {
    case MatrixKind::input:
      return "input";
    case MatrixKind::output:
      return "output";
    case MatrixKind::position:
      return "position";
    case MatrixKind::token_type:
      return "token_type";
  }
  return "?";
}

std::optional<MatrixKind> parse_matrix_kind(std::string_view n) {
  if (n == "input") return MatrixKind::input;
  if (n == "output") return MatrixKind::output;
  if (n == "position") return MatrixKind::position;
  if (n == "token_type") return MatrixKind::token_type;
  return std::nullopt;
}

const std::vector<std::string>& ModelPreset::names(MatrixKind k) const {
  switch (k) {
    case MatrixKind::input:
      return input;
    case MatrixKind::output:
      return output;
    case MatrixKind::position:
      return position;
    case MatrixKind::token_type:
      return token_type;
  }
  return input;
}

const std::vector<ModelPreset>& model_presets() {
  static const std::vector<ModelPreset> table = build_presets();
  return table;
}

std::string preset_names() {
  std::vector<std::string> names;
  for (const auto& p : model_presets()) names.push_back(p.name);
  return fmt::format("{}", fmt::join(names, ", "));
}

const ModelPreset& preset_for_config(const nlohmann::json& j, const std::string& file) {
  if (!j.is_object()) data_error(file, "", fmt::format("must be a JSON object (got {})", j.type_name()));
  const auto& table = model_presets();
  if (j.contains("model_type")) {
    const auto& v = j["model_type"];
    if (!v.is_string()) data_error(file, "model_type", fmt::format("must be a string (got {})", v.dump()));
    const std::string mt = v.get<std::string>();
    for (const auto& p : table)
      if (std::find(p.model_types.begin(), p.model_types.end(), mt) != p.model_types.end()) return p;
    std::vector<std::string> types;
    for (const auto& p : table) types.insert(types.end(), p.model_types.begin(), p.model_types.end());
    data_error(file, "model_type",
               fmt::format("unknown (got \"{}\", expected one of the presets: {})", mt, fmt::join(types, ", ")));
  }
  if (j.contains("architectures") && !j["architectures"].is_null()) {
    const auto& a = j["architectures"];
    if (!a.is_array()) data_error(file, "architectures", fmt::format("must be an array (got {})", a.dump()));
    for (const auto& name : a) {
      if (!name.is_string())
        data_error(file, "architectures", fmt::format("entries must be strings (got {})", name.dump()));
      for (const auto& p : table)
        if (std::find(p.architectures.begin(), p.architectures.end(), name.get<std::string>()) != p.architectures.end())
          return p;
    }
    data_error(file, "architectures",
               fmt::format("no preset for {} and no model_type (presets: {})", a.dump(), preset_names()));
  }
  return table.front();  // the original GPT-2 configs name neither
}

std::vector<std::string> embedding_tensor_names(const nlohmann::json& config) {
  const ModelPreset& p = preset_for_config(config);
  std::vector<std::string> out;
  for (const auto k : {MatrixKind::input, MatrixKind::output, MatrixKind::position, MatrixKind::token_type})
    for (const auto& n : p.names(k))
      if (std::find(out.begin(), out.end(), n) == out.end()) out.push_back(n);
  return out;
}

ModelConfig parse_model_config(const nlohmann::json& j, const std::string& file) {
  ModelConfig c;
  c.preset = &preset_for_config(j, file);
  const ModelPreset& p = *c.preset;
  if (j.contains("model_type")) c.model_type = j["model_type"].get<std::string>();
  c.vocab_size = required_size(j, p.vocab_keys, file, p);
  c.embed_dim = required_size(j, p.embed_dim_keys, file, p);
  c.hidden = required_size(j, p.hidden_keys, file, p);
  if (!p.position.empty()) c.positions = required_size(j, p.position_keys, file, p);
  if (!p.token_type.empty()) c.token_types = size_key(j, p.token_type_keys, file).value_or(2);  // BertConfig's 2
  c.tied = p.tie_default;
  c.tie_from = fmt::format("the {} default", p.name);
  if (j.contains("tie_word_embeddings")) {
    const auto& v = j["tie_word_embeddings"];
    if (!v.is_boolean())
      data_error(file, "tie_word_embeddings", fmt::format("must be true or false (got {})", v.dump()));
    c.tied = v.get<bool>();
    c.tie_from = "config.json tie_word_embeddings";
  }
  return c;
}

ModelDir open_model_dir(const std::string& dir) {
  if (!fs::is_directory(dir)) fail(Exit::no_input, dir, "", "not a directory (a model is a directory)");
  ModelDir m;
  m.dir = dir;
  const fs::path d(dir);
  m.config_path = (d / "config.json").string();
  if (!fs::exists(m.config_path)) fail(Exit::no_input, dir, "", "missing config.json");
  const std::string text = read_small(m.config_path, &m.config_sha256);
  m.config = parse_model_config(parse_json_strict(text, m.config_path, ""), m.config_path);

  const fs::path single = d / "model.safetensors", index = d / "model.safetensors.index.json";
  if (fs::exists(single)) {
    const SafetensorsIndex st = read_safetensors_index(single.string());
    for (const auto& t : st.tensors) m.tensor_shards.emplace(t.name, "model.safetensors");
    return m;
  }
  if (!fs::exists(index)) {
    for (const char* pickle :
         {"pytorch_model.bin", "pytorch_model.bin.index.json", "tf_model.h5", "flax_model.msgpack"})
      if (fs::exists(d / pickle))
        fail(Exit::data, (d / pickle).string(), "",
             fmt::format("only safetensors weights are read (got {}; PyTorch .bin files are pickles, and unpickling "
                         "runs code) [hint: download the model's model.safetensors, or convert with "
                         "safetensors.torch.save_file]",
                         pickle));
    fail(Exit::no_input, dir, "", "missing model.safetensors or model.safetensors.index.json");
  }
  m.sharded = true;
  m.index_path = index.string();
  const nlohmann::json j = parse_json_strict(read_small(m.index_path, &m.index_sha256), m.index_path, "");
  if (!j.is_object()) data_error(m.index_path, "", fmt::format("must be a JSON object (got {})", j.type_name()));
  if (!j.contains("weight_map")) data_error(m.index_path, "weight_map", "missing");
  const auto& wm = j["weight_map"];
  if (!wm.is_object())
    data_error(m.index_path, "weight_map", fmt::format("must be an object {{tensor: shard}} (got {})", wm.type_name()));
  for (const auto& [tensor, shard] : wm.items()) {
    const std::string where = fmt::format("weight_map: tensor '{}'", tensor);
    if (!shard.is_string())
      data_error(m.index_path, where, fmt::format("shard must be a string (got {})", shard.dump()));
    const std::string s = shard.get<std::string>();
    if (bad_shard_name(s))
      data_error(m.index_path, where,
                 fmt::format("shard {} is not a file name in the model directory (no '/', '..')", shard.dump()));
    m.tensor_shards.emplace(tensor, s);
  }
  return m;
}

bool ModelDir::has(MatrixKind k) const {
  if (k == MatrixKind::output) return true;
  return !config.preset->names(k).empty();
}

ModelMatrixInfo ModelDir::matrix(MatrixKind kind) const {
  const ModelPreset& p = *config.preset;
  const std::string listing = sharded ? index_path : (fs::path(dir) / "model.safetensors").string();
  const auto names_held = [&] {
    std::vector<std::string> names;
    for (const auto& [k, _] : tensor_shards) names.push_back(k);
    return list_names(names, 40);
  };
  const auto find = [&](MatrixKind k) -> std::optional<std::string> {
    for (const auto& n : p.names(k))
      if (tensor_shards.count(n)) return n;
    return std::nullopt;
  };
  if (!has(kind))
    fail(Exit::usage, dir, fmt::format("matrix {}", to_string(kind)),
         fmt::format("a {} model has no {} matrix (matrices: input, output{})", p.name, to_string(kind),
                     p.position.empty() ? "" : ", position"));
  ModelMatrixInfo info;
  info.kind = kind;
  const MatrixKind source = kind == MatrixKind::output && config.tied ? MatrixKind::input : kind;
  const auto name = find(source);
  if (!name) {
    const std::string why = kind == MatrixKind::output && !config.tied
                                ? fmt::format(" (output matrix: {} says tie_word_embeddings false)", config.tie_from)
                                : "";
    data_error(listing, "tensors",
               fmt::format("missing the {} {} matrix{}: expected one of {} (the directory holds: {})", p.name,
                           to_string(source), why, fmt::join(p.names(source), ", "), names_held()));
  }
  info.tensor = *name;
  if (kind == MatrixKind::output) {
    info.tied = config.tied;
    if (config.tied) {
      const auto own = find(MatrixKind::output);
      info.note = fmt::format("tied ({}: {}){}", config.tie_from, config.tied ? "true" : "false",
                              own ? fmt::format("; the file's {} is not used", *own) : "");
    } else {
      info.note = fmt::format("untied ({}: false)", config.tie_from);
    }
  }
  const std::string shard_name = tensor_shards.at(info.tensor);
  info.shard = (fs::path(dir) / shard_name).string();
  if (!fs::exists(info.shard))
    fail(Exit::no_input, info.shard, "",
         fmt::format("missing shard (model.safetensors.index.json puts tensor '{}' here)", info.tensor));
  const SafetensorsIndex st = read_safetensors_index(info.shard);
  const SafetensorsEntry* e = st.find(info.tensor);
  if (!e) {
    std::vector<std::string> names;
    for (const auto& t : st.tensors) names.push_back(t.name);
    data_error(info.shard, fmt::format("tensor '{}'", info.tensor),
               fmt::format("not in this shard, though model.safetensors.index.json says so (the shard holds: {})",
                           list_names(names)));
  }
  info.dtype = e->dtype;
  info.shape = e->shape;
  std::uint64_t rows = config.vocab_size, dim = config.embed_dim;
  std::string sizes = fmt::format("{} {}, {} {}", p.vocab_keys.front(), rows, p.embed_dim_keys.front(), dim);
  if (source == MatrixKind::position) {
    rows = *config.positions + p.position_offset;
    dim = config.hidden;
    sizes = fmt::format("{} {}{}, {} {}", p.position_keys.front(), *config.positions,
                        p.position_offset ? fmt::format(" + {}", p.position_offset) : "", p.hidden_keys.front(), dim);
  } else if (source == MatrixKind::token_type) {
    rows = *config.token_types;
    dim = config.hidden;
    sizes = fmt::format("{} {}, {} {}", p.token_type_keys.front(), rows, p.hidden_keys.front(), dim);
  }
  const std::vector<std::uint64_t> want = {rows, dim};
  if (e->shape != want)
    data_error(info.shard, fmt::format("tensor '{}'", info.tensor),
               fmt::format("shape {} disagrees with config.json (expected {} from {})", format_shape(e->shape),
                           format_shape(want), sizes));
  if (!safetensors_dtype_readable(e->dtype))
    data_error(info.shard, fmt::format("tensor '{}'", info.tensor),
               fmt::format("dtype {} is not supported (supported: F32, F16, BF16, F64)", e->dtype));
  return info;
}

std::string describe(const ModelDir& m, const ModelMatrixInfo& info) {
  return fmt::format("{} {} = {}{}", m.config.preset->name, to_string(info.kind), info.tensor,
                     info.note.empty() ? "" : " (" + info.note + ")");
}

Embeddings load_model_matrix(const ModelDir& m, MatrixKind kind) {
  const ModelMatrixInfo info = m.matrix(kind);
  const SafetensorsIndex st = read_safetensors_index(info.shard);
  Tensor t = read_safetensors_tensor(st, info.tensor);
  Embeddings emb;
  emb.vectors = std::move(t.data);
  // The format names the preset, the matrix and its tensor (tied or not): it goes into every run's
  // provenance with the shard's path and the tensor's sha256.
  emb.source = InputFile{info.shard, "model: " + describe(m, info), t.dtype, t.shape, t.sha256};
  if (kind == MatrixKind::input || kind == MatrixKind::output) emb.tokens = model_vocabulary(m.dir, emb.rows());
  return emb;
}

std::vector<std::string> model_vocabulary(const std::string& dir, std::uint64_t rows) {
  const fs::path d(dir);
  std::vector<std::string> tokens;
  std::vector<bool> seen;
  const auto put = [&](const std::string& file, const std::string& token, std::uint64_t id) {
    if (id >= rows)
      data_error(file, fmt::format("token {}", nlohmann::json(token).dump()),
                 fmt::format("id {} is past the matrix ({} rows)", id, rows));
    if (seen[id]) return;  // the first token given an id keeps it
    seen[id] = true;
    tokens[id] = token;
  };
  const auto from_object = [&](const std::string& file, const nlohmann::json& vocab, const std::string& where) {
    if (!vocab.is_object()) data_error(file, where, "must be a JSON object {token: id}");
    for (const auto& [token, id] : vocab.items()) {
      if (!id.is_number_unsigned())
        data_error(file, fmt::format("token {}", nlohmann::json(token).dump()),
                   fmt::format("id {} is not a non-negative integer", id.dump()));
      put(file, token, id.get<std::uint64_t>());
    }
  };
  const auto start = [&] {
    tokens.assign(rows, std::string());
    seen.assign(rows, false);
  };
  bool found = false;
  for (const char* name : {"vocab.json", "encoder.json"}) {
    const std::string path = (d / name).string();
    if (!fs::exists(path)) continue;
    start();
    from_object(path, parse_json_strict(read_small(path, nullptr), path, ""), "");
    found = true;
    break;
  }
  if (!found && fs::exists(d / "tokenizer.json")) {
    const std::string path = (d / "tokenizer.json").string();
    // The directory's tokenizer, loaded once per process (the word lookup and the row check use it
    // too), holds what the file says; a file it refuses (Unigram, ids it finds inconsistent, ...) or
    // one whose repeated keys it forgives is read here as JSON, as before.
    std::shared_ptr<const tok::Tokenizer> tokenizer;
    try {
      tokenizer = tok::Tokenizer::shared_from_dir(dir);
    } catch (const Error&) {
    }
    if (tokenizer && !tokenizer->repeated_json_keys() && tokenizer->files() == std::vector<std::string>{path}) {
      start();
      const auto& model = tokenizer->model_tokens();  // ids 0..n-1, each once
      // The token named by the error is the first past the matrix in key order (the JSON object's).
      std::uint64_t past = model.size();
      for (std::uint64_t id = rows; id < model.size(); ++id)
        if (past == model.size() || model[id] < model[past]) past = id;
      if (past < model.size()) put(path, model[past], past);  // the error
      for (std::uint64_t id = 0; id < model.size(); ++id) put(path, model[id], id);
      for (const auto& [content, id] : tokenizer->listed_added_tokens()) put(path, content, id);
      found = true;
    }
  }
  if (!found && fs::exists(d / "tokenizer.json")) {
    const std::string path = (d / "tokenizer.json").string();
    const nlohmann::json j = parse_json_strict(read_small(path, nullptr), path, "");
    if (!j.is_object() || !j.contains("model") || !j["model"].is_object() || !j["model"].contains("vocab"))
      data_error(path, "model.vocab", "missing");
    start();
    const auto& vocab = j["model"]["vocab"];
    if (vocab.is_array()) {  // Unigram: [[piece, score], …] in id order
      for (std::uint64_t id = 0; id < vocab.size(); ++id) {
        if (!vocab[id].is_array() || vocab[id].empty() || !vocab[id][0].is_string())
          data_error(path, fmt::format("model.vocab[{}]", id), "must be [piece, score]");
        put(path, vocab[id][0].get<std::string>(), id);
      }
    } else {
      from_object(path, vocab, "model.vocab");
    }
    if (j.contains("added_tokens") && j["added_tokens"].is_array())
      for (const auto& a : j["added_tokens"])
        if (a.is_object() && a.contains("id") && a["id"].is_number_unsigned() && a.contains("content") &&
            a["content"].is_string())
          put(path, a["content"].get<std::string>(), a["id"].get<std::uint64_t>());
    found = true;
  }
  if (!found && fs::exists(d / "vocab.txt")) {  // BERT: one token a line, line k is id k
    const std::string path = (d / "vocab.txt").string();
    const std::string text = read_small(path, nullptr);
    start();
    std::uint64_t id = 0;
    for (std::size_t pos = 0; pos < text.size();) {
      std::size_t nl = text.find('\n', pos);
      if (nl == std::string::npos) nl = text.size();
      std::string token = text.substr(pos, nl - pos);
      if (!token.empty() && token.back() == '\r') token.pop_back();
      if (id >= rows)
        data_error(path, fmt::format("line {}", id + 1), fmt::format("more tokens than the matrix's {} rows", rows));
      put(path, token, id++);
      pos = nl + 1;
    }
    found = true;
  }
  if (!found) return {};
  for (std::uint64_t k = 0; k < rows; ++k)
    if (!seen[k]) tokens[k] = fmt::format("#{}", k);
  return tokens;
}

std::optional<std::string> model_tokenizer_dir(const std::string& dir) {
  if (tok::tokenizer_files(dir).empty()) return std::nullopt;
  return dir;
}

void check_tokenizer_rows(const tok::Tokenizer& tokenizer, std::uint64_t rows, const std::string& dir) {
  if (static_cast<std::uint64_t>(tokenizer.vocab_size()) > rows)
    data_error(dir, "",
               fmt::format("the tokenizer ({}) has {} ids, more than the matrix's {} rows (tokenizer and model do not "
                           "match)",
                           tokenizer.describe(), tokenizer.vocab_size(), rows));
}

}  // namespace embedlab::io
