#include "io/embedding.hpp"

#include "core/error.hpp"
#include "io/binary_util.hpp"
#include "io/gpt2_checkpoint.hpp"
#include "io/model_presets.hpp"
#include "io/readers.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <filesystem>

namespace embedlab::io {
namespace {

namespace fs = std::filesystem;

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

}  // namespace

std::string detect_format(const std::string& path) {
  if (fs::is_directory(path)) {
    const fs::path config = fs::path(path) / "config.json";
    if (!fs::exists(config))
      fail(Exit::usage, path, "", "a directory is read only as a model directory (config.json + safetensors weights)");
    // A GPT-2 model.safetensors goes through the GPT-2 checkpoint reader (every tensor checked, the
    // forward pass's loader); every other preset, and sharded GPT-2, through the presets. A config
    // that does not parse is left to the GPT-2 reader, whose errors name the key.
    if (!fs::exists(fs::path(path) / "model.safetensors")) return "model";
    try {
      const BinaryFile f(config.string());
      if (f.size() > (std::uint64_t{1} << 30)) return "gpt2";
      const auto j = parse_json_strict(f.read_string_at(0, f.size(), ""), config.string(), "");
      return preset_for_config(j, config.string()).name == "gpt2" ? "gpt2" : "model";
    } catch (const Error&) {
      return "gpt2";
    }
  }
  const std::string p = lower(path);
  if (ends_with(p, ".safetensors")) return "safetensors";
  if (ends_with(p, ".npy")) return "npy";
  if (ends_with(p, ".h5") || ends_with(p, ".hdf5")) return "hdf5";
  if (ends_with(p, ".bin")) return "word2vec-bin";
  // Word text is the only gzip format read (gensim-data's GloVe files are bare NAME.gz).
  for (const char* ext : {".txt", ".vec", ".gz"})
    if (ends_with(p, ext)) return "glove";
  fail(Exit::usage, path, "",
       "cannot tell the format from the name (.safetensors, .npy, .h5/.hdf5, .bin, .txt/.vec/.gz or a GPT-2 "
       "directory); give the format explicitly");
}

std::string Embeddings::token_name(std::uint64_t j) const {
  return j < tokens.size() ? tokens[j] : fmt::format("#{}", j);
}

Embeddings load_embeddings(const LoadOptions& options) {
  const std::string& path = options.path;
  if (path.empty()) fail(Exit::usage, "(no path)", "", "no embedding file given");
  if (options.limit && *options.limit == 0) fail(Exit::usage, path, "limit", "must be at least 1");
  if (!fs::exists(path)) fail(Exit::no_input, path, "", "no such file or directory");
  const std::string format = options.format == "auto" ? detect_format(path) : options.format;
  if (!options.matrix.empty() && !parse_matrix_kind(options.matrix))
    fail(Exit::usage, path, "matrix", fmt::format("'{}' is not one of {}", options.matrix, kMatrixNames));
  Embeddings emb;
  if (format == "gpt2") {
    // matrix input | output | position is the GPT-2 tensor wte | lm_head | wpe.
    std::string which = options.tensor.empty() ? "wte" : options.tensor;
    if (!options.matrix.empty()) {
      const std::string m = options.matrix == "input" ? "wte" : options.matrix == "output" ? "lm_head" : "wpe";
      if (!options.tensor.empty() && options.tensor != m)
        fail(Exit::usage, path, "matrix",
             fmt::format("matrix {} is tensor {}, but tensor {} is given too", options.matrix, m, options.tensor));
      which = m;
    }
    // Keep only the matrix asked for; lm_head may be wte (tied), so that case keeps everything.
    std::vector<std::string> only;
    if (which == "wte" || which == "wpe") only.push_back(which + ".weight");
    const Gpt2Checkpoint ck = load_gpt2(path, only);
    emb = gpt2_embeddings(ck, which);
  } else if (format == "model") {
    if (!options.tensor.empty())
      fail(Exit::usage, path, "tensor",
           fmt::format("a model directory is read by matrix (got tensor '{}'; use matrix = {})", options.tensor,
                       kMatrixNames));
    const ModelDir model = open_model_dir(path);
    emb = load_model_matrix(model, *parse_matrix_kind(options.matrix.empty() ? "input" : options.matrix));
  } else if (format == "safetensors") {
    emb = read_safetensors(path, options.tensor);
  } else if (format == "npy") {
    emb = read_npy(path);
  } else if (format == "hdf5") {
    emb = read_hdf5(path, options.tensor);
  } else if (format == "glove" || format == "word2vec") {
    return read_word_text(path, WordReadOptions{options.limit, options.duplicates});
  } else if (format == "word2vec-bin") {
    return read_word2vec_bin(path, WordReadOptions{options.limit, options.duplicates});
  } else {
    fail(Exit::usage, path, "format",
         fmt::format("'{}' is not one of auto, gpt2, model, safetensors, npy, hdf5, glove, word2vec, word2vec-bin",
                     format));
  }
  // Matrix formats are read whole; a limit keeps the first rows (source still describes the file).
  if (options.limit && *options.limit < emb.rows()) {
    emb.vectors = arma::fmat(emb.vectors.cols(0, *options.limit - 1));
    if (!emb.tokens.empty()) emb.tokens.resize(*options.limit);
  }
  return emb;
}

}  // namespace embedlab::io
