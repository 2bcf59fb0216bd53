// embedlab inspect [--format F] [--tensor NAME] [--limit N] [--duplicates first|error] FILE|DIR
// What a file holds (tensors/datasets, shapes, dtypes), whether it passes validation, and per matrix
// the row count, zero rows, non-finite rows and the mean/min/max row norm (accumulated in double).
#include "apps/embedlab/command_line.hpp"
#include "apps/embedlab/commands.hpp"
#include "core/error.hpp"
#include "io/binary_util.hpp"
#include "io/gpt2_checkpoint.hpp"
#include "io/model_presets.hpp"
#include "io/readers.hpp"
#include "io/text_util.hpp"

#include <fmt/format.h>
#include <boost/program_options.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <limits>
#include <set>
#include <string>
#include <vector>

namespace embedlab::cli {

namespace {

namespace fs = std::filesystem;

// Row statistics of a d×n matrix (column j = row j of the file).
// How the word policies spell a word-initial word for this tokenizer style.
const char* word_form(tok::WordStyle s) {
  switch (s) {
    case tok::WordStyle::byte_level:
      return "byte-level (\"word\" → \"Ġword\")";
    case tok::WordStyle::metaspace:
      return "SentencePiece (\"word\" → \"▁word\")";
    case tok::WordStyle::wordpiece:
      return "WordPiece (\"word\", continuations \"##…\")";
    case tok::WordStyle::plain:
      return "the word itself";
  }
  return "?";
}

void print_matrix(const std::string& label, const arma::fmat& m, const io::Embeddings* names) {
  std::uint64_t zero = 0, nonfinite = 0, finite_rows = 0;
  double sum = 0, lo = std::numeric_limits<double>::infinity(), hi = 0;
  std::vector<std::string> bad;  // first few offending rows by name
  auto name = [&](std::uint64_t j) { return names ? names->token_name(j) : fmt::format("#{}", j); };
  for (arma::uword j = 0; j < m.n_cols; ++j) {
    const float* col = m.colptr(j);
    double ss = 0;
    bool finite = true;
    for (arma::uword i = 0; i < m.n_rows; ++i) {
      if (!std::isfinite(col[i])) finite = false;
      ss += double(col[i]) * double(col[i]);
    }
    if (!finite) {
      ++nonfinite;
      if (bad.size() < 5) bad.push_back(fmt::format("{} (row {}, non-finite)", name(j), j));
      continue;
    }
    const double norm = std::sqrt(ss);
    if (norm == 0) {
      ++zero;
      if (bad.size() < 5) bad.push_back(fmt::format("{} (row {}, zero)", name(j), j));
    }
    ++finite_rows;
    sum += norm;
    lo = std::min(lo, norm);
    hi = std::max(hi, norm);
  }
  fmt::print("matrix {}: rows {}, dim {}, zero rows {}, non-finite rows {}", label, m.n_cols, m.n_rows, zero,
             nonfinite);
  if (finite_rows > 0) fmt::print(", row norm mean {:.6g} min {:.6g} max {:.6g}", sum / double(finite_rows), lo, hi);
  fmt::print("\n");
  if (!bad.empty()) fmt::print("  rows to look at: {}\n", fmt::join(bad, ", "));
}

void print_index(const io::SafetensorsIndex& index, const std::string& prefix_to_strip = "") {
  fmt::print("header: {} bytes, file: {} bytes\n", index.header_size, index.file_size);
  for (const auto& [k, v] : index.metadata) fmt::print("metadata: {} = {}\n", k, v);
  fmt::print("tensors ({}):\n", index.tensors.size());
  std::size_t width = 0;
  for (const auto& t : index.tensors) width = std::max(width, t.name.size());
  for (const auto& t : index.tensors)
    fmt::print("  {:<{}}  {:<7} {}{}\n", t.name, width, t.dtype, io::format_shape(t.shape),
               io::safetensors_dtype_readable(t.dtype) ? "" : "  (dtype not readable)");
}

// Each returns normally when the input is valid; a validation failure throws.
void inspect_safetensors(const std::string& path, const std::string& tensor) {
  const io::SafetensorsIndex index = io::read_safetensors_index(path);
  print_index(index);
  std::vector<std::string> problems;
  for (const auto& t : index.tensors) {
    if (t.shape.size() != 2 || (!tensor.empty() && t.name != tensor)) continue;
    try {
      const io::Embeddings e = io::read_safetensors(path, t.name);
      print_matrix(t.name, e.vectors, &e);
    } catch (const Error& e) {
      problems.push_back(e.what());
    }
  }
  if (!tensor.empty() && index.find(tensor) == nullptr) io::read_safetensors(path, tensor);  // throws: not found
  if (!problems.empty()) throw Error(Exit::data, fmt::format("{}", fmt::join(problems, "; ")));
}

void inspect_npy(const std::string& path) {
  const io::NpyHeader h = io::read_npy_header(path);
  fmt::print("version {}.{}, descr '{}', fortran_order {}, shape {}, data at byte {}\n", h.major, h.minor, h.descr,
             h.fortran_order ? "True" : "False", io::format_shape(h.shape), h.data_offset);
  const io::Embeddings e = io::read_npy(path);
  print_matrix("array", e.vectors, &e);
}

void inspect_gpt2(const std::string& dir) {
  const io::Gpt2Config c = io::read_gpt2_config((fs::path(dir) / "config.json").string());
  fmt::print("preset: gpt2 (read by the GPT-2 checkpoint reader: every tensor checked)\n");
  fmt::print(
      "config: n_layer {}, n_head {}, n_embd {}, n_inner {}, n_positions {}, vocab_size {}, activation {}, "
      "layer_norm_epsilon {}, tie_word_embeddings {}\n",
      c.n_layer, c.n_head, c.n_embd, c.n_inner, c.n_positions, c.vocab_size, c.activation, c.layer_norm_epsilon,
      c.tie_word_embeddings);
  print_index(io::read_safetensors_index((fs::path(dir) / "model.safetensors").string()));
  const io::Gpt2Checkpoint ck = io::load_gpt2(dir);
  fmt::print("output matrix: {}\n", ck.output_source());
  for (const char* which : {"wte", "wpe", "lm_head"}) {
    if (std::string(which) == "lm_head" && ck.tied) continue;
    const io::Embeddings e = io::gpt2_embeddings(ck, which);
    print_matrix(which, e.vectors, &e);
  }
}

// A model directory of any preset: the preset, the tying, every embedding matrix (tensor, dtype,
// shape, shard) and its row statistics. Only the shards holding those matrices are opened.
void inspect_model(const std::string& dir) {
  const io::ModelDir m = io::open_model_dir(dir);
  const io::ModelConfig& c = m.config;
  fmt::print("preset: {} (model_type {}), vocab_size {}, embedding dim {}{}\n", c.preset->name,
             c.model_type.empty() ? std::string("not given") : "\"" + c.model_type + "\"", c.vocab_size, c.embed_dim,
             c.positions ? fmt::format(", positions {}", *c.positions) : "");
  std::set<std::string> shards;
  for (const auto& [_, shard] : m.tensor_shards) shards.insert(shard);
  if (m.sharded)
    fmt::print("weights: {} shard(s) named by model.safetensors.index.json, {} tensors\n", shards.size(),
               m.tensor_shards.size());
  else
    fmt::print("weights: model.safetensors, {} tensors\n", m.tensor_shards.size());
  fmt::print("tying: {} ({})\n", c.tied ? "tied, the output matrix is the input matrix" : "untied", c.tie_from);
  std::vector<io::MatrixKind> kinds = {io::MatrixKind::input, io::MatrixKind::output};
  for (const auto k : {io::MatrixKind::position, io::MatrixKind::token_type})
    if (m.has(k)) kinds.push_back(k);
  std::vector<io::ModelMatrixInfo> infos;
  for (const auto k : kinds) infos.push_back(m.matrix(k));
  fmt::print("matrices:\n");
  for (const auto& i : infos)
    fmt::print("  {:<10} {}  {} {}  {}{}\n", io::to_string(i.kind), i.tensor, i.dtype, io::format_shape(i.shape),
               fs::path(i.shard).filename().string(), i.note.empty() ? "" : "  (" + i.note + ")");
  for (const auto& i : infos) {
    if (i.kind == io::MatrixKind::output && i.tied) continue;  // the input matrix, shown above
    const io::Embeddings e = io::load_model_matrix(m, i.kind);
    print_matrix(io::to_string(i.kind), e.vectors, &e);
  }
  // The one decision of io::model_tokenizer_dir: which tokenizer the word commands and experiments use.
  if (const auto tok = io::model_tokenizer_dir(dir)) {
    const io::Gpt2Tokenizer t = io::Gpt2Tokenizer::from_dir(*tok);
    std::string files;
    for (const auto& f : t.files()) files += " + " + fs::path(f).filename().string();
    fmt::print("word tokenizer: {}{}, words as {}\n", t.describe(),
               t.files().size() > 1 ? " from" + files.substr(2) : "", word_form(t.word_style()));
  } else {
    fmt::print("word tokenizer: none (words are looked up among the vocabulary's tokens)\n");
  }
}

void inspect_other(const io::LoadOptions& options, bool word_format) {
  const io::Embeddings e = io::load_embeddings(options);
  fmt::print("dtype {}, shape {}, tokens {}\n", e.source.dtype, io::format_shape(e.source.shape),
             e.tokens.empty() ? std::string("none") : std::to_string(e.tokens.size()));
  if (word_format) {
    // Repeated tokens (--duplicates first, gensim's behaviour): every dropped occurrence, listed.
    fmt::print("duplicate tokens: {}{}\n", e.duplicates.size(),
               e.duplicates.empty() ? "" : " later occurrence(s) dropped, the first kept");
    for (const auto& d : e.duplicates)
      fmt::print("  {} {}: duplicate token {} (first at {} {})\n", e.duplicate_position, d.at,
                 io::detail::show_dq(d.token, 200), e.duplicate_position, d.first_at);
  }
  print_matrix("vectors", e.vectors, &e);
}

}  // namespace

int cmd_inspect(int argc, char** argv) {
  namespace po = boost::program_options;
  po::options_description opts("options");
  opts.add_options()("help,h", "show this help")(
      "format", po::value<std::string>()->default_value("auto"),
      "auto | gpt2 | model | safetensors | npy | hdf5 | glove | word2vec | word2vec-bin")(
      "tensor", po::value<std::string>()->default_value(""),
      "safetensors tensor or HDF5 dataset path (default: every matrix / the obvious dataset)")(
      "limit", po::value<std::uint64_t>(), "read only the first N rows (word formats)")(
      "duplicates", po::value<std::string>()->default_value("first"),
      "word formats, a token seen again: first (keep the first, list the rest, as gensim) | error");
  const auto parsed =
      parse_command(argc, argv, "inspect", opts, "path",
                    "usage: embedlab inspect [--format F] [--tensor NAME] [--limit N] [--duplicates first|error] "
                    "FILE|DIR\n"
                    "Lists what an embedding file or model directory holds (for a model: its preset, tying and\n"
                    "embedding matrices with their tensor, dtype, shape and shard), validates it and prints\n"
                    "per-matrix row statistics (rows, zero rows, non-finite rows, row norms).\n\n");
  if (!parsed) return 0;
  const po::variables_map& vm = *parsed;
  if (!vm.count("path")) throw Error(Exit::usage, "inspect: missing FILE|DIR (see embedlab inspect --help)");
  io::LoadOptions options;
  options.path = vm["path"].as<std::string>();
  options.format = vm["format"].as<std::string>();
  options.tensor = vm["tensor"].as<std::string>();
  if (vm.count("limit")) options.limit = vm["limit"].as<std::uint64_t>();
  const std::string dups = vm["duplicates"].as<std::string>();
  if (dups != "first" && dups != "error")
    fail(Exit::usage, "inspect", "--duplicates", fmt::format("'{}' is not one of {}", dups, io::kDuplicatePolicyNames));
  options.duplicates = dups == "error" ? io::DuplicatePolicy::error : io::DuplicatePolicy::first;
  if (!fs::exists(options.path)) fail(Exit::no_input, options.path, "", "no such file or directory");

  const std::string format = options.format == "auto" ? io::detect_format(options.path) : options.format;
  fmt::print("file: {}\nformat: {}\n", options.path, format);
  try {
    if (format == "safetensors") {
      inspect_safetensors(options.path, options.tensor);
    } else if (format == "npy") {
      inspect_npy(options.path);
    } else if (format == "gpt2") {
      inspect_gpt2(options.path);
    } else if (format == "model") {
      inspect_model(options.path);
    } else {
      options.format = format;
      inspect_other(options, format == "glove" || format == "word2vec" || format == "word2vec-bin");
    }
  } catch (const Error& e) {
    if (e.code() == Exit::data) fmt::print("verdict: INVALID\n");
    std::fflush(stdout);
    throw;
  }
  fmt::print("verdict: OK\n");
  return 0;
}

}  // namespace embedlab::cli
