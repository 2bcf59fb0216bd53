// embedlab analogy FILE king - man + woman [--k 5] [--cosmul] [--restrict N] [--json]
//                  [--unembed] [--multi-token mean|first|last|error] [--no-leading-space] [--tokenizer DIR]
//
// gensim most_similar(positive, negative) / most_similar_cosmul: the nearest rows to the word
// arithmetic, input rows excluded. On a GPT-2 checkpoint, --unembed also maps the query direction
// through the output matrix (z = W_outᵀ v, top-k tokens by logit): the unembedding view.
#include "apps/embedlab/commands.hpp"
#include "apps/embedlab/word_terms.hpp"
#include "core/error.hpp"
#include "linalg/normalize.hpp"
#include "linalg/wordbench.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <numeric>
#include <string>
#include <string_view>
#include <vector>

namespace embedlab::cli {

namespace {

constexpr const char* kUsage =
    "usage: embedlab analogy FILE TERM [(+|-) TERM]... [options]\n"
    "Nearest tokens to word arithmetic (gensim most_similar / most_similar_cosmul), input words excluded.\n"
    "  e.g. embedlab analogy glove.txt king - man + woman\n"
    "FILE is any embedding file or GPT-2 checkpoint directory. A TERM is a word, #N (row N), or a word\n"
    "prefixed by + or - (also U+2212); '+' and '-' alone apply to the next term.\n\n"
    "options:\n"
    "  --k N              neighbours to print (default 5)\n"
    "  --cosmul           3CosMul (Levy & Goldberg 2014) instead of 3CosAdd\n"
    "  --restrict N       search only the first N rows (gensim restrict_vocab)\n"
    "  --json             one JSON object on standard output\n"
    "  --format F         auto|gpt2|model|safetensors|npy|hdf5|glove|word2vec|word2vec-bin (default auto)\n"
    "  --matrix M         model directories (any preset): input (default) | output (the unembedding; tied: the\n"
    "                     input matrix) | position\n"
    "GPT-2 checkpoint directories:\n"
    "  --unembed          also print the top-k tokens of z = W_out^T v for the query direction v\n"
    "  --multi-token P    word of several tokens: mean|first|last|error (default mean)\n"
    "  --no-leading-space encode 'word' instead of ' word'\n"
    "  --tokenizer DIR    tokenizer files (default: the checkpoint, data/gpt2, ../data/gpt2)\n";

std::uint64_t parse_count(const std::string& opt, const std::string& v, std::uint64_t min) {
  std::uint64_t x = 0;
  const auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), x);
  if (v.empty() || ec != std::errc() || p != v.data() + v.size() || x < min)
    fail(Exit::usage, "analogy", opt, fmt::format("expected an integer >= {} (got '{}')", min, v));
  return x;
}

std::string json_text(const std::string& s) {
  return nlohmann::json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

int cmd_analogy(int argc, char** argv) {
  std::uint64_t k = 5, restrict = 0;
  bool cosmul = false, unembed = false;
  WordCommand command;
  command.name = "analogy";
  command.usage = kUsage;
  command.defaults.policy.multi_token = io::WordPolicy::MultiToken::mean;
  command.bare_dashes_are_terms = true;
  command.extra = [&](const std::string& a, const std::function<std::string()>& value) {
    if (a == "--k") {
      k = parse_count(a, value(), 1);
    } else if (a == "--restrict") {
      restrict = parse_count(a, value(), 1);
    } else if (a == "--cosmul") {
      cosmul = true;
    } else if (a == "--unembed") {
      unembed = true;
    } else {
      return false;
    }
    return true;
  };
  const auto args = parse_word_args(argc, argv, command);
  if (!args) return 0;
  const std::vector<std::string>& positional = args->positional;
  if (positional.size() < 2)
    fail(Exit::usage, "analogy", "", "expected FILE and at least one term (see embedlab analogy --help)");
  WordSpaceOptions wo = args->space;
  wo.output_matrix = unembed;
  wo.path = positional[0];

  // Terms with signs: "+"/"-"/"−" alone set the sign of the next term; a leading sign sticks to it.
  std::vector<std::pair<std::string, double>> items;
  double next_sign = 1.0;
  bool pending = false;
  static constexpr std::string_view kMinus = "\xE2\x88\x92";  // U+2212
  for (std::size_t i = 1; i < positional.size(); ++i) {
    std::string_view t = positional[i];
    if (t == "+" || t == "-" || t == kMinus) {
      if (pending) fail(Exit::usage, "analogy", fmt::format("term {}", i), "two operators in a row");
      next_sign = t == "+" ? 1.0 : -1.0;
      pending = true;
      continue;
    }
    double sign = next_sign;
    if (t.size() > 1 && (t[0] == '+' || t[0] == '-')) {
      sign *= t[0] == '+' ? 1.0 : -1.0;
      t.remove_prefix(1);
    } else if (t.size() > kMinus.size() && t.starts_with(kMinus)) {
      sign = -sign;
      t.remove_prefix(kMinus.size());
    }
    items.emplace_back(std::string(t), sign);
    next_sign = 1.0;
    pending = false;
  }
  if (pending) fail(Exit::usage, "analogy", "", "expression ends with an operator");

  const WordSpace space = open_word_space(wo);
  std::vector<Term> pos, neg;
  std::vector<arma::uword> exclude;
  for (const auto& [text, sign] : items) {
    Term t = resolve_term(space, text, sign);
    exclude.insert(exclude.end(), t.rows.begin(), t.rows.end());
    (sign > 0 ? pos : neg).push_back(std::move(t));
  }
  if (pos.empty()) fail(Exit::usage, "analogy", "", "needs at least one positive term (gensim: no input)");

  const arma::uword d = space.emb.vectors.n_rows;
  const arma::fmat P = term_matrix(pos, d), N = term_matrix(neg, d);
  linalg::NormalizeOptions no;
  no.names = space.emb.tokens;
  no.source = space.path;
  const arma::fmat U = linalg::normalize_rows(space.emb.vectors, no).unit;
  const auto method = cosmul ? linalg::AnalogyMethod::cos_mul : linalg::AnalogyMethod::cos_add;
  const linalg::Neighbours nb = linalg::most_similar(U, P, N, exclude, k, method, restrict);

  // Unembedding view: logits of the (unit) query direction, no exclusion.
  std::vector<std::pair<arma::uword, float>> logits;
  if (wo.output_matrix) {
    const arma::fvec v = linalg::mean_direction(P, N);
    const arma::fvec z = space.output.t() * v;  // (V)
    std::vector<arma::uword> order(z.n_elem);
    std::iota(order.begin(), order.end(), 0);
    const std::size_t kk = std::min<std::size_t>(k, order.size());
    std::partial_sort(order.begin(), order.begin() + kk, order.end(),
                      [&](arma::uword x, arma::uword y) { return z[x] > z[y] || (z[x] == z[y] && x < y); });
    for (std::size_t e = 0; e < kk; ++e) logits.emplace_back(order[e], z[order[e]]);
  }

  std::string expr;
  for (const auto& [text, sign] : items)
    expr += fmt::format("{}{}", expr.empty() ? (sign > 0 ? "" : "- ") : (sign > 0 ? " + " : " - "), text);
  if (args->json) {
    std::string out = fmt::format("{{\"file\": {}, \"method\": \"{}\", \"positive\": [", json_text(space.path),
                                  linalg::to_string(method));
    for (std::size_t i = 0; i < pos.size(); ++i) out += (i ? ", " : "") + json_text(pos[i].text);
    out += "], \"negative\": [";
    for (std::size_t i = 0; i < neg.size(); ++i) out += (i ? ", " : "") + json_text(neg[i].text);
    out += "], \"neighbours\": [";
    for (std::size_t e = 0; e < nb.ids.size(); ++e)
      out += fmt::format(
          "{}{{\"id\": {}, \"token\": {}, \"score\": {}}}", e ? ", " : "", nb.ids[e],
          json_text(space.tokenized && space.tokenizer ? space.tokenizer->token_bytes(static_cast<int>(nb.ids[e]))
                                                       : space.emb.token_name(nb.ids[e])),
          nb.scores[e]);
    out += "]";
    if (wo.output_matrix) {
      out += ", \"unembed\": [";
      for (std::size_t e = 0; e < logits.size(); ++e)
        out += fmt::format("{}{{\"id\": {}, \"token\": {}, \"logit\": {}}}", e ? ", " : "", logits[e].first,
                           json_text(space.tokenizer ? space.tokenizer->token_bytes(static_cast<int>(logits[e].first))
                                                     : fmt::format("#{}", logits[e].first)),
                           logits[e].second);
      out += "]";
    }
    fmt::print("{}}}\n", out);
    return 0;
  }
  fmt::print("{}   ({}, {}: {} x {})\n", expr, cosmul ? "3CosMul" : "3CosAdd", space.path, space.emb.rows(), d);
  for (std::size_t e = 0; e < nb.ids.size(); ++e)
    fmt::print("{:>4}  {:<24} {:.4f}\n", e + 1, space.name(nb.ids[e]), nb.scores[e]);
  if (wo.output_matrix) {
    fmt::print("unembedding z = W_out^T v (top {} logits):\n", logits.size());
    for (std::size_t e = 0; e < logits.size(); ++e)
      fmt::print("{:>4}  {:<24} {:.4f}\n", e + 1, space.name(logits[e].first), logits[e].second);
  }
  return 0;
}

}  // namespace embedlab::cli
