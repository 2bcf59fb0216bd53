#pragma once
// Shared by the experiments that compare two word spaces (rsa, compare): the keys of a [space_a] /
// [space_b] section, loading a space with its word lookup and provenance, its share of the memory
// guard, and the candidate words taken from a space's first rows.
#include "core/error.hpp"
#include "experiment/experiment.hpp"
#include "experiment/memory.hpp"
#include "io/embedding.hpp"
#include "io/word_lookup.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace embedlab::experiments::word_spaces {

// One section's values (the Config keeps flat members: the schema binds pointers to them).
struct Keys {
  std::string path, format, tensor, kind;
  std::int64_t limit = 0;
  std::string matrix = "input";
};

template <class Config>
void declare(experiment::Schema<Config>& s, const std::string& sec, std::string Config::*path,
             std::string Config::*format, std::string Config::*tensor, std::string Config::*matrix,
             std::string Config::*kind, std::int64_t Config::*limit, const std::string& default_path) {
  s.path(sec + ".path", path, default_path, experiment::kSourceHelp).input();
  s.key(sec + ".format", format, "auto", "file format (auto decides from the path)")
      .one_of(experiment::kEmbeddingFormats);
  s.key(sec + ".tensor", tensor, "", "safetensors tensor / HDF5 dataset (GPT-2 dirs: wte, wpe or lm_head)");
  s.key(sec + ".matrix", matrix, "input", experiment::kMatrixKeyHelp).one_of({"input", "output", "position"});
  s.key(sec + ".kind", kind, "auto",
        "how words find rows: tokens (the model dir's tokenizer: tokenizer.json, vocab.json + merges.txt or "
        "vocab.txt), words "
        "(direct lookup among the vocabulary's token strings), auto (tokens when the model dir holds tokenizer "
        "files, else words)")
      .one_of({"auto", "tokens", "words"});
  s.key(sec + ".limit", limit, "0", "read only the first N rows of word formats (0 = all)").min(0);
}

inline io::LoadOptions load_options(const Keys& k) {
  io::LoadOptions lo;
  lo.path = k.path;
  lo.format = k.format;
  lo.tensor = k.tensor;
  lo.matrix = k.matrix == "input" ? "" : k.matrix;  // input: the default (a GPT-2 tensor key may still pick wpe)
  if (k.limit > 0) lo.limit = static_cast<std::uint64_t>(k.limit);
  return lo;
}

struct Space {
  std::string name;  // "space_a"
  io::Embeddings emb;
  std::unique_ptr<io::WordLookup> lookup;
};

// What a space without token strings (a bare tensor, a checkpoint without tokenizer files) does:
// fail, or name its rows "#0", "#1", … so that two such spaces are matched row by row.
enum class Unnamed { error, numbered };

inline Space load(const std::string& name, const Keys& k, Unnamed unnamed, experiment::Context& ctx) {
  Space s;
  s.name = name;
  s.emb = io::load_embeddings(load_options(k));
  ctx.inputs->push_back(s.emb.source);
  std::optional<std::string> dir;
  if (k.kind != "words") {
    dir = io::WordLookup::tokenizer_dir_for(s.emb.source);
    if (!dir && k.kind == "tokens")
      throw Error(Exit::config,
                  fmt::format("{}.kind: tokens needs a model directory with tokenizer files (got '{}')", name, k.path));
    if (dir)
      for (auto& f : io::WordLookup::tokenizer_files(*dir)) ctx.inputs->push_back(std::move(f));
  }
  std::vector<std::string> names = s.emb.tokens;
  if (!dir && names.empty()) {
    if (unnamed == Unnamed::error)
      throw Error(Exit::data, fmt::format("{}: {} has no token strings to look words up in", name, k.path));
    for (arma::uword j = 0; j < s.emb.rows(); ++j) names.push_back(s.emb.token_name(j));
  }
  s.lookup = std::make_unique<io::WordLookup>(names, dir);
  return s;
}

// The memory guard's view of one space: the matrix as read (and the copy kept when a limit cuts it).
inline experiment::MatrixShape memory(const std::string& name, const Keys& k, const experiment::Shapes& shapes,
                                      std::vector<experiment::Allocation>& out) {
  const auto s = shapes.of(load_options(k));
  const bool cut = s.read_rows > s.rows;
  out.push_back({4.0 * static_cast<double>(s.dim) * static_cast<double>(s.read_rows + (cut ? s.rows : 0)),
                 fmt::format("{} as read, {} float32 ({})", name, experiment::dims(s.read_rows, s.dim), s.how),
                 cut ? name + ".path" : name + ".limit", cut ? "use a smaller file" : "set or lower it"});
  return s;
}

// The candidate words of a space: its first `count` rows (all when count ≤ 0) as words (token
// bytes without the leading space for a GPT-2 vocabulary).
inline std::vector<std::string> first_rows(const Space& s, std::int64_t count) {
  std::vector<std::string> out;
  const arma::uword n = count > 0 ? std::min<arma::uword>(s.emb.rows(), static_cast<arma::uword>(count))
                                  : static_cast<arma::uword>(s.emb.rows());
  for (arma::uword j = 0; j < n; ++j) {
    std::string w = s.lookup->display(j);
    if (s.lookup->uses_tokenizer() && !w.empty() && w[0] == ' ') w.erase(0, 1);
    out.push_back(w);
  }
  return out;
}

inline bool alphabetic(const std::string& w) {
  return !w.empty() && std::all_of(w.begin(), w.end(), [](char ch) { return ch >= 'a' && ch <= 'z'; });
}

}  // namespace embedlab::experiments::word_spaces
