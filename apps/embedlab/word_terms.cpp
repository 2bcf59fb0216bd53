#include "apps/embedlab/word_terms.hpp"

#include "apps/embedlab/command_line.hpp"
#include "core/error.hpp"
#include "io/gpt2_checkpoint.hpp"
#include "io/model_presets.hpp"
#include "io/readers.hpp"
#include "io/word_lookup.hpp"

#include <fmt/format.h>

#include <charconv>
#include <filesystem>

namespace embedlab::cli {

namespace {

namespace fs = std::filesystem;

}  // namespace

std::optional<io::Gpt2Tokenizer> find_tokenizer(const std::string& explicit_dir, const std::string& model_dir) {
  if (!explicit_dir.empty()) return io::Gpt2Tokenizer::from_dir(explicit_dir);
  if (const auto dir = io::find_gpt2_tokenizer_dir(model_dir)) return io::Gpt2Tokenizer::from_dir(*dir);
  return std::nullopt;
}

std::optional<WordArgs> parse_word_args(int argc, char** argv, const WordCommand& c) {
  WordArgs r;
  r.space = c.defaults;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const std::function<std::string()> value = [&]() -> std::string {
      if (i + 1 >= argc) fail(Exit::usage, c.name, a, fmt::format("needs a value (see embedlab {} --help)", c.name));
      return argv[++i];
    };
    if (a == "--help" || a == "-h") {
      fmt::print("{}", c.usage);
      return std::nullopt;
    } else if (a == "--json") {
      r.json = true;
    } else if (a == "--format") {
      r.space.format = value();
    } else if (a == "--matrix") {
      r.space.matrix = matrix_option(c.name, value());
    } else if (a == "--tokenizer") {
      r.space.tokenizer_dir = value();
    } else if (a == "--no-leading-space") {
      r.space.policy.leading_space = false;
    } else if (a == "--multi-token") {
      const std::string v = value();
      const auto m = io::parse_multi_token(v);
      if (!m) fail(Exit::usage, c.name, a, fmt::format("'{}' is not one of {}", v, io::kMultiTokenNames));
      r.space.policy.multi_token = *m;
    } else if (c.extra && c.extra(a, value)) {
      continue;  // the command's own option
    } else if (a.starts_with("--") && !(c.bare_dashes_are_terms && a == "--")) {
      fail(Exit::usage, c.name, a, fmt::format("unknown option (see embedlab {} --help)", c.name));
    } else {
      r.positional.push_back(a);
    }
  }
  return r;
}

std::string WordSpace::name(arma::uword j) const {
  if (tokenized && tokenizer && j < static_cast<arma::uword>(tokenizer->vocab_size()))
    return io::quote_bytes(tokenizer->token_bytes(static_cast<int>(j)));
  return emb.token_name(j);
}

WordSpace open_word_space(const WordSpaceOptions& options) {
  WordSpace s;
  s.path = options.path;
  s.policy = options.policy;
  if (!fs::exists(options.path)) fail(Exit::no_input, options.path, "", "no such file or directory");
  const std::string format = options.format == "auto" ? io::detect_format(options.path) : options.format;
  const bool gpt2_dir = format == "gpt2";
  if (options.output_matrix && !gpt2_dir && format != "model")
    fail(Exit::usage, options.path, "--unembed", "needs a model directory (the output matrix W_out)");
  if (!options.matrix.empty() && !gpt2_dir && format != "model")
    fail(Exit::usage, options.path, "--matrix", "applies to model directories only");
  if (gpt2_dir) {
    s.tokenized = true;
    const io::Gpt2Config cfg = io::read_gpt2_config((fs::path(options.path) / "config.json").string());
    const std::string which = options.matrix.empty() ? "wte" : options.matrix == "output" ? "lm_head" : "wpe";
    std::vector<std::string> only{which == "wpe" ? "wpe.weight" : "wte.weight"};
    // lm_head is needed too (untied), or the input matrix beside the positions
    if ((options.output_matrix || which == "lm_head") && !cfg.tie_word_embeddings) only.clear();
    if (options.output_matrix && which == "wpe") only.clear();
    const io::Gpt2Checkpoint ck = io::load_gpt2(options.path, only);
    s.emb = io::gpt2_embeddings(ck, which);
    if (options.output_matrix) s.output = ck.output();
    s.tokenizer = find_tokenizer(options.tokenizer_dir, options.path);
  } else {
    io::LoadOptions lo;
    lo.path = options.path;
    lo.format = format;
    lo.matrix = options.matrix;
    s.emb = io::load_embeddings(lo);
    if (format == "model") {
      if (options.output_matrix) {
        lo.matrix = "output";
        s.output = io::load_embeddings(lo).vectors;
      }
      // Words go through the model directory's word tokenizer when it has one (io::model_tokenizer_dir,
      // the one decision every caller shares), else they are looked up among the vocabulary's tokens.
      const auto dir = options.tokenizer_dir.empty() ? io::model_tokenizer_dir(options.path)
                                                     : std::optional<std::string>(options.tokenizer_dir);
      if (dir && options.matrix != "position") {
        s.tokenizer = io::Gpt2Tokenizer::from_dir(*dir);
        io::check_tokenizer_rows(*s.tokenizer, s.emb.vectors.n_cols, *dir);
        s.tokenized = true;
      }
    }
  }
  s.rows.reserve(s.emb.tokens.size());
  for (arma::uword j = 0; j < s.emb.tokens.size(); ++j) s.rows.emplace(s.emb.tokens[j], j);
  return s;
}

Term resolve_term(const WordSpace& s, const std::string& text, double sign) {
  Term t;
  t.text = text;
  t.sign = sign;
  const arma::uword n = s.emb.vectors.n_cols;
  if (text.size() > 1 && text[0] == '#') {
    arma::uword row = 0;
    const auto [p, ec] = std::from_chars(text.data() + 1, text.data() + text.size(), row);
    if (ec == std::errc() && p == text.data() + text.size()) {
      if (row >= n)
        fail(Exit::data, s.path, fmt::format("token '{}'", text),
             fmt::format("row {} out of range (file has {} rows)", row, n));
      t.rows = {row};
      t.vector = s.emb.vectors.col(row);
      return t;
    }
  }
  if (s.tokenized) {
    if (!s.tokenizer)
      fail(Exit::no_input, s.path, fmt::format("word '{}'", text),
           "no GPT-2 tokenizer to encode words [hint: pass --tokenizer DIR, run `embedlab fetch gpt2-tokenizer`, or "
           "give rows as #N]");
    const auto wt = io::words_to_tokens(*s.tokenizer, {text}, s.policy, s.path);
    if (wt[0].ids.empty()) fail(Exit::data, s.path, fmt::format("word '{}'", text), "encodes to no token");
    for (const int id : wt[0].ids) {
      if (id < 0 || static_cast<arma::uword>(id) >= n)
        fail(Exit::data, s.path, fmt::format("word '{}'", text),
             fmt::format("token {} is outside the checkpoint's {} rows (tokenizer and model do not match)", id, n));
      t.rows.push_back(static_cast<arma::uword>(id));
    }
    t.vector = arma::conv_to<arma::fvec>::from(io::WordLookup::mean_vector(s.emb.vectors, t.rows));
    return t;
  }
  if (s.emb.tokens.empty())
    fail(Exit::data, s.path, fmt::format("word '{}'", text), "the file has no vocabulary (give rows as #N)");
  const auto it = s.rows.find(text);
  if (it == s.rows.end())
    fail(Exit::data, s.path, fmt::format("word '{}'", text), fmt::format("not in the vocabulary ({} tokens)", n));
  t.rows = {it->second};
  t.vector = s.emb.vectors.col(it->second);
  return t;
}

arma::fmat term_matrix(const std::vector<Term>& terms, arma::uword d) {
  arma::fmat W(d, terms.size());
  for (std::size_t i = 0; i < terms.size(); ++i) W.col(i) = terms[i].vector;
  return W;
}

}  // namespace embedlab::cli
