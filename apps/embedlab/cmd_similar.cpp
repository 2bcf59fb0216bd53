// embedlab similar FILE WORD... [--k 10] [--csls [--csls-k 10]] [--json] [--format F] [--multi-token P]
//                 [--no-leading-space]
//
// The top-k neighbours of each word/token by cosine over the whole vocabulary, like gensim's
// most_similar(word): the word itself is excluded, ties go to the lower row. With --csls they are
// ranked by CSLS(x, y) = 2cos(x, y) − r(x) − r(y) (Conneau et al. 2018), r = mean cos to the
// --csls-k nearest rows: r of every row needs one exact all-rows top-k pass (linalg::knn_exact).
#include "apps/embedlab/commands.hpp"
#include "apps/embedlab/word_terms.hpp"
#include "core/error.hpp"
#include "linalg/diagnostics.hpp"
#include "linalg/normalize.hpp"
#include "linalg/wordbench.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace embedlab::cli {

namespace {
constexpr const char* kUsage =
    "usage: embedlab similar FILE WORD... [options]\n"
    "Top-k neighbours of each word by cosine (gensim most_similar). FILE: any embedding file or GPT-2\n"
    "checkpoint directory; a WORD may be #N (row N).\n\n"
    "options:\n"
    "  --k K              neighbours per word (default 10)\n"
    "  --csls             rank by CSLS 2cos(x, y) - r(x) - r(y), r = mean cos to the --csls-k nearest rows\n"
    "  --csls-k K         k of CSLS's r (default 10)\n"
    "  --json             {\"WORD\": [[neighbour, cos], ...]} on standard output\n"
    "                     (--csls: [[neighbour, csls, cos], ...])\n"
    "  --format F         auto|gpt2|model|safetensors|npy|hdf5|glove|word2vec|word2vec-bin (default auto)\n"
    "  --matrix M         model directories (any preset): input (default) | output (the unembedding; tied: the\n"
    "                     input matrix) | position\n"
    "GPT-2 checkpoint directories:\n"
    "  --multi-token P    word of several tokens: mean|first|last|error (default error)\n"
    "  --no-leading-space encode 'word' instead of ' word'\n"
    "  --tokenizer DIR    tokenizer files (default: the checkpoint, data/gpt2, ../data/gpt2)\n";
}  // namespace

int cmd_similar(int argc, char** argv) {
  arma::uword k = 10, csls_k = 10;
  bool csls = false;
  WordCommand command;
  command.name = "similar";
  command.usage = kUsage;
  command.extra = [&](const std::string& a, const std::function<std::string()>& value) {
    if (a == "--csls") {
      csls = true;
      return true;
    }
    if (a != "--k" && a != "--csls-k") return false;
    const std::string v = value();
    try {
      std::size_t used = 0;
      const long long kk = std::stoll(v, &used);
      if (kk < 1 || used != v.size()) throw std::invalid_argument(v);
      (a == "--k" ? k : csls_k) = static_cast<arma::uword>(kk);
    } catch (const std::exception&) {
      fail(Exit::usage, "similar", a, fmt::format("not a positive integer (got '{}')", v));
    }
    return true;
  };
  const auto args = parse_word_args(argc, argv, command);
  if (!args) return 0;
  const std::vector<std::string>& positional = args->positional;
  if (positional.size() < 2) fail(Exit::usage, "similar", "", "expected FILE and at least one word (see --help)");
  WordSpaceOptions wo = args->space;
  wo.path = positional[0];
  const WordSpace space = open_word_space(wo);
  linalg::NormalizeOptions no;
  no.names = space.emb.tokens;
  no.source = wo.path;
  const arma::fmat U = linalg::normalize_rows(space.emb.vectors, no).unit;
  arma::vec r;  // CSLS's r of every row
  if (csls) {
    if (U.n_cols < 2) fail(Exit::data, wo.path, "rows", fmt::format("--csls needs at least 2 rows (got {})", U.n_cols));
    linalg::KnnOptions ko;
    ko.k = csls_k;
    const linalg::Knn knn = linalg::knn_exact(U, ko);
    r = linalg::csls_radius(knn, knn.ids.n_cols);
  }

  nlohmann::ordered_json out = nlohmann::ordered_json::object();
  for (std::size_t w = 1; w < positional.size(); ++w) {
    const Term t = resolve_term(space, positional[w], 1.0);
    if (csls) {
      // the query as normalize_rows makes a unit row (a single-row term gives exactly that row's r)
      linalg::NormalizeOptions qo;
      qo.source = fmt::format("{}: word '{}'", wo.path, positional[w]);
      const arma::fvec q = linalg::normalize_rows(arma::fmat(t.vector.memptr(), t.vector.n_elem, 1), qo).unit.col(0);
      const auto nb = linalg::csls_neighbours(U, r, q, t.rows, k, csls_k);
      if (args->json) {
        auto& list = out[positional[w]] = nlohmann::ordered_json::array();
        for (std::size_t i = 0; i < nb.ids.size(); ++i) list.push_back({space.name(nb.ids[i]), nb.csls[i], nb.cos[i]});
      } else {
        fmt::print("{} (CSLS, r = {:.4f}):\n", positional[w], nb.r_query);
        for (std::size_t i = 0; i < nb.ids.size(); ++i)
          fmt::print("  {:>3}  {:<24} {:.4f}  (cos {:.4f})\n", i + 1, space.name(nb.ids[i]), nb.csls[i], nb.cos[i]);
      }
      continue;
    }
    const arma::fmat pos(t.vector.memptr(), t.vector.n_elem, 1);
    const auto nb = linalg::most_similar(U, pos, arma::fmat(U.n_rows, 0), t.rows, k);
    if (args->json) {
      auto& list = out[positional[w]] = nlohmann::ordered_json::array();
      for (std::size_t i = 0; i < nb.ids.size(); ++i) list.push_back({space.name(nb.ids[i]), nb.scores[i]});
    } else {
      fmt::print("{}:\n", positional[w]);
      for (std::size_t i = 0; i < nb.ids.size(); ++i)
        fmt::print("  {:>3}  {:<24} {:.4f}\n", i + 1, space.name(nb.ids[i]), nb.scores[i]);
    }
  }
  if (args->json) fmt::print("{}\n", out.dump());
  return 0;
}

}  // namespace embedlab::cli
