// embedlab doesnt-match FILE breakfast cereal dinner lunch [--json] [--multi-token P] [--no-leading-space]
//                       [--tokenizer DIR] [--format F]
//
// gensim doesnt_match: the word whose unit vector has the lowest cosine to the normalised mean of
// all the words' unit vectors.
#include "apps/embedlab/commands.hpp"
#include "apps/embedlab/word_terms.hpp"
#include "core/error.hpp"
#include "linalg/wordbench.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <numeric>
#include <string>
#include <vector>

namespace embedlab::cli {

namespace {

constexpr const char* kUsage =
    "usage: embedlab doesnt-match FILE WORD WORD... [options]\n"
    "The word that fits least (gensim doesnt_match): lowest cosine to the mean of the unit vectors.\n"
    "FILE is any embedding file or GPT-2 checkpoint directory; a WORD may be #N (row N).\n\n"
    "options:\n"
    "  --json             one JSON object on standard output\n"
    "  --format F         auto|gpt2|model|safetensors|npy|hdf5|glove|word2vec|word2vec-bin (default auto)\n"
    "  --matrix M         model directories (any preset): input (default) | output (the unembedding; tied: the\n"
    "                     input matrix) | position\n"
    "GPT-2 checkpoint directories:\n"
    "  --multi-token P    word of several tokens: mean|first|last|error (default mean)\n"
    "  --no-leading-space encode 'word' instead of ' word'\n"
    "  --tokenizer DIR    tokenizer files (default: the checkpoint, data/gpt2, ../data/gpt2)\n";

}  // namespace

int cmd_doesnt_match(int argc, char** argv) {
  WordCommand command;
  command.name = "doesnt-match";
  command.usage = kUsage;
  command.defaults.policy.multi_token = io::WordPolicy::MultiToken::mean;
  const auto args = parse_word_args(argc, argv, command);
  if (!args) return 0;
  const std::vector<std::string>& positional = args->positional;
  if (positional.size() < 3)
    fail(Exit::usage, "doesnt-match", "", "expected FILE and at least two words (see embedlab doesnt-match --help)");
  WordSpaceOptions wo = args->space;
  wo.path = positional[0];
  const WordSpace space = open_word_space(wo);
  std::vector<Term> terms;
  std::vector<std::string> words;
  for (std::size_t i = 1; i < positional.size(); ++i) {
    terms.push_back(resolve_term(space, positional[i], 1.0));
    words.push_back(positional[i]);
  }
  const linalg::OddOneOut odd = linalg::doesnt_match(term_matrix(terms, space.emb.vectors.n_rows), words);

  // Listing: highest cosine to the mean first (gensim rank_by_centrality order).
  std::vector<std::size_t> order(words.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return odd.cosine[a] > odd.cosine[b] || (odd.cosine[a] == odd.cosine[b] && words[a] > words[b]);
  });
  if (args->json) {
    nlohmann::json j;
    j["file"] = space.path;
    j["odd"] = words[odd.odd];
    j["ranking"] = nlohmann::json::array();
    for (const std::size_t i : order) j["ranking"].push_back({{"word", words[i]}, {"cosine", odd.cosine[i]}});
    fmt::print("{}\n", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    return 0;
  }
  fmt::print("{}\n", words[odd.odd]);
  for (const std::size_t i : order) fmt::print("  {:<24} {:.4f}\n", words[i], odd.cosine[i]);
  return 0;
}

}  // namespace embedlab::cli
