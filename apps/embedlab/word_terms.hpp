#pragma once
// Shared by `embedlab similar`, `analogy` and `doesnt-match`: their command line, an embedding file
// opened for word arithmetic, and the words/tokens of a command line resolved to vectors (the
// tokenizer lookup also serves `embedlab forward`).
//
// A term is a word of the file's vocabulary (exact match, first row holding it, as gensim's
// most_similar), `#N` for row N of any file, or, for a GPT-2 checkpoint directory, a word encoded
// by the tokenizer under the word policy (leading space by default; --multi-token mean|first|last|error).
#include "io/embedding.hpp"
#include "tokenizer/tokenizer.hpp"

#include <armadillo>

#include <functional>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace embedlab::cli {

struct WordSpaceOptions {
  std::string path;
  std::string format = "auto";
  std::string matrix;          // model directories: "" (input) | output | position (--matrix)
  std::string tokenizer_dir;   // model directories; empty: the tokenizer found beside the model
  io::WordPolicy policy;       // words that go through a tokenizer
  bool output_matrix = false;  // model directories: also keep the output (unembedding) matrix
};

struct WordSpace {
  std::string path;
  io::Embeddings emb;      // vectors (d, n)
  bool tokenized = false;  // words go through `tokenizer` (a GPT-2 checkpoint, or a model dir with tokenizer files)
  std::optional<io::Gpt2Tokenizer> tokenizer;
  io::WordPolicy policy;
  arma::fmat output;                                  // (d, V) W_out of a GPT-2 checkpoint (column = token), when asked
  std::unordered_map<std::string, arma::uword> rows;  // token → first row holding it

  // How row j is printed: the token, GPT-2 token bytes quoted (" queen"), or #j.
  std::string name(arma::uword j) const;
};

WordSpace open_word_space(const WordSpaceOptions& options);

// --tokenizer DIR (an error when it has no tokenizer files), else io::find_gpt2_tokenizer_dir of the
// model directory; nothing when none is found.
std::optional<io::Gpt2Tokenizer> find_tokenizer(const std::string& explicit_dir, const std::string& model_dir);

// A word-space command line: FILE and the terms, plus the options every such command takes.
struct WordArgs {
  WordSpaceOptions space;
  bool json = false;
  std::vector<std::string> positional;  // FILE, then the terms as typed
};

// One command's own options: handles `option` (reading its argument with value(), which fails with
// exit 64 when there is none) and returns true, or returns false for an argument it does not know.
using ExtraOptions = std::function<bool(const std::string& option, const std::function<std::string()>& value)>;

struct WordCommand {
  std::string name;                    // messages read `NAME: OPTION: ...`
  const char* usage = "";              // printed by --help / -h
  WordSpaceOptions defaults;           // e.g. the command's default --multi-token
  bool bare_dashes_are_terms = false;  // a lone "--" is a term, not an unknown option
  ExtraOptions extra;
};

// Parses argv[1..] in order: --help/-h prints the usage (nullopt: exit 0); --json, --format, --matrix, --tokenizer,
// --no-leading-space, --multi-token, then the command's own options; any other `--x` is an unknown
// option (exit 64); everything else is positional.
std::optional<WordArgs> parse_word_args(int argc, char** argv, const WordCommand& command);

struct Term {
  std::string text;               // as typed
  double sign = 1.0;              // +1 positive, -1 negative
  arma::fvec vector;              // (d) raw vector (mean of the pieces for a multi-token word)
  std::vector<arma::uword> rows;  // rows it stands for (excluded from the answers)
};

// Throws Error(data) `FILE: word 'w': not in the vocabulary` for an unknown word (exit 65).
Term resolve_term(const WordSpace& space, const std::string& text, double sign);

// The (d, m) matrix of the terms' raw vectors.
arma::fmat term_matrix(const std::vector<Term>& terms, arma::uword d);

}  // namespace embedlab::cli
