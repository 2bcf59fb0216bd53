// embedlab similar FILE WORD... [--k 10] [--json] [--format F] [--multi-token P] [--no-leading-space]
//
// The top-k neighbours of each word/token by cosine over the whole vocabulary, like gensim's
// most_similar(word): the word itself is excluded, ties go to the lower row.
#include "apps/embedlab/commands.hpp"
#include "apps/embedlab/word_terms.hpp"
#include "core/error.hpp"
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
    "  --json             {\"WORD\": [[neighbour, cos], ...]} on standard output\n"
    "  --format F         auto|gpt2|safetensors|npy|hdf5|glove|word2vec|word2vec-bin (default auto)\n"
    "GPT-2 checkpoint directories:\n"
    "  --multi-token P    word of several tokens: mean|first|last|error (default error)\n"
    "  --no-leading-space encode 'word' instead of ' word'\n"
    "  --tokenizer DIR    tokenizer files (default: the checkpoint, data/gpt2, ../data/gpt2)\n";
}  // namespace

int cmd_similar(int argc, char** argv) {
  arma::uword k = 10;
  WordCommand command;
  command.name = "similar";
  command.usage = kUsage;
  command.extra = [&](const std::string& a, const std::function<std::string()>& value) {
    if (a != "--k") return false;
    const std::string v = value();
    try {
      const long long kk = std::stoll(v);
      if (kk < 1) throw std::invalid_argument(v);
      k = static_cast<arma::uword>(kk);
    } catch (const std::exception&) {
      fail(Exit::usage, "similar", "--k", fmt::format("not a positive integer (got '{}')", v));
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

  nlohmann::ordered_json out = nlohmann::ordered_json::object();
  for (std::size_t w = 1; w < positional.size(); ++w) {
    const Term t = resolve_term(space, positional[w], 1.0);
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
