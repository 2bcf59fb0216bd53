#pragma once
// Word benchmarks and token arithmetic with gensim 4.2 semantics (KeyedVectors.evaluate_word_pairs,
// evaluate_word_analogies, most_similar, most_similar_cosmul, doesnt_match).
//
// Shapes: E is (d, n) float, column j = token j (io::Embeddings::vectors), any scale; U is the same
// with unit columns (linalg::normalize_rows). Scores are float, as gensim's float32 pipeline.
//
// Vocabulary lookup as gensim's evaluators: only the first `restrict_vocab` rows take part; with
// case_insensitive every key and every benchmark word is upper-cased (Python str.upper() for ASCII,
// Latin-1, Latin Extended-A, Greek and Cyrillic; other characters unchanged) and, among rows whose
// keys fold to the same string, the first one wins.
//
// Correlations of pair scores with human judgements are stats::pearson / stats::spearman on
// (WordPairScores::gold, WordPairScores::cosine): scipy's pearsonr/spearmanr in double on the
// float32 cosines, exactly what gensim reports.
#include "comm/comm.hpp"

#include <armadillo>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace embedlab::linalg {

inline constexpr std::uint64_t kGensimRestrictVocab = 300000;

// Python's str.upper() on the scripts listed above (ß → SS, ς → Σ, ÿ → Ÿ, µ → Μ, ı → I, ſ → S).
std::string upper_case(std::string_view word);

struct VocabOptions {
  std::uint64_t restrict_vocab = kGensimRestrictVocab;  // 0 = all rows
  bool case_insensitive = true;
};

// Word → row of the first `restrict_vocab` tokens under the case policy (gensim's ok_vocab).
class WordIndex {
 public:
  explicit WordIndex(const std::vector<std::string>& tokens, const VocabOptions& options = {});
  // The key a word is looked up by (upper-cased when case-insensitive).
  std::string key(std::string_view word) const;
  std::optional<arma::uword> find(std::string_view word) const;
  arma::uword restrict_rows() const { return restrict_; }  // min(restrict_vocab, n)
  bool case_insensitive() const { return case_insensitive_; }
  // Key of row j < restrict_rows() (the token, folded).
  const std::string& row_key(arma::uword j) const { return keys_[j]; }

 private:
  bool case_insensitive_;
  arma::uword restrict_;
  std::vector<std::string> keys_;                     // (restrict) folded tokens
  std::unordered_map<std::string, arma::uword> map_;  // folded key → first row holding it
};

// --- word pairs ------------------------------------------------------------------------------

struct WordPairScores {
  // One entry per pair that was scored (both words known; every pair with dummy4unknown).
  arma::uvec pair;          // (m) index of the pair in the input
  arma::uvec row_a;         // (m) row of the first word (n = unknown, dummy4unknown only)
  arma::uvec row_b;         // (m)
  arma::vec gold;           // (m) human score
  arma::vec cosine;         // (m) float32 cosine of the unit rows (gensim similarity()), clamped; 0 for unknown
  std::uint64_t total = 0;  // pairs in the input
  std::uint64_t oov = 0;    // pairs with an unknown word
  // gensim's "pairs with unknown words ratio", in percent: oov / (scored + oov) · 100, or
  // oov / scored · 100 with dummy4unknown (gensim's formula).
  double oov_ratio = 0.0;
};

// Cosines of the pairs (a[i], b[i]) with human scores gold[i]. Pairs with an unknown word are
// skipped (gensim's default) or scored 0 with dummy4unknown. Error(data) when no pair is scored,
// naming `source`; Error(usage) on length mismatch.
WordPairScores score_word_pairs(const arma::fmat& E, const WordIndex& index, const std::vector<std::string>& a,
                                const std::vector<std::string>& b, const std::vector<double>& gold,
                                bool dummy4unknown = false, const std::string& source = "pairs");

// --- analogies and nearest neighbours of word arithmetic --------------------------------------

enum class AnalogyMethod {
  cos_add,  // most_similar: cos(x, unit(Σ± û)), Mikolov's vector offset (3CosAdd)
  cos_mul   // most_similar_cosmul: Π_pos (1+cos)/2 / (Π_neg (1+cos)/2 + 1e-6) (3CosMul, Levy & Goldberg 2014)
};
const char* to_string(AnalogyMethod m);  // "3cosadd" | "3cosmul"

struct Neighbours {
  std::vector<arma::uword> ids;  // best first; ties by lower id
  std::vector<float> scores;
};

// The query of most_similar: unit(Σ_i w_i û_i / Σ|w_i|) with w = +1 for positive, −1 for negative
// columns (raw vectors of any scale; each is normalised in double). (d) float.
arma::fvec mean_direction(const arma::fmat& positive, const arma::fmat& negative);

// Top k rows of U[:, 0:restrict) (0 = all) by `method` for the terms (positive, negative are (d, p)
// and (d, m) raw vectors), never returning a row in `exclude` (gensim excludes the input words).
Neighbours most_similar(const arma::fmat& U, const arma::fmat& positive, const arma::fmat& negative,
                        const std::vector<arma::uword>& exclude, arma::uword k,
                        AnalogyMethod method = AnalogyMethod::cos_add, arma::uword restrict = 0);

// gensim doesnt_match: cosines of the columns of W (d, m raw vectors) to the normalised mean of
// their unit vectors; `odd` is the column with the lowest cosine (ties: gensim sorts (cos, word)
// pairs, so the caller's tie rule by word is applied through `words` when given).
struct OddOneOut {
  arma::uword odd = 0;
  arma::fvec cosine;  // (m)
};
OddOneOut doesnt_match(const arma::fmat& W, const std::vector<std::string>& words = {});

struct AnalogySpan {
  std::string name;
  std::size_t begin = 0, end = 0;  // questions [begin, end)
};

struct AnalogyOptions {
  VocabOptions vocab;
  AnalogyMethod method = AnalogyMethod::cos_add;
  bool dummy4unknown = false;        // count questions with an unknown word as incorrect (gensim option)
  arma::uword topn = 5;              // candidates gensim inspects after removing the question rows
  arma::uword query_block = 256;     // questions per tile
  arma::uword vocab_block = 8192;    // vocabulary rows per tile
  int workers = 0;                   // <= 0: the OpenBLAS thread setting
  const comm::Comm* comm = nullptr;  // nullptr: comm::for_kernel (the job under mpirun, else serial)
};

struct AnalogySectionResult {
  std::string name;
  std::uint64_t correct = 0, incorrect = 0, oov = 0;
  double accuracy() const;  // correct / (correct + incorrect), 0 when nothing was answered (gensim)
};

struct AnalogyResult {
  std::vector<AnalogySectionResult> sections;  // file order
  AnalogySectionResult total;                  // gensim's "Total accuracy" (answered questions only)
  std::uint64_t questions = 0, oov = 0;
  double oov_ratio = 0.0;  // percent of questions with an unknown word (gensim's log line)
  // Per question (q), in input order:
  arma::ivec outcome;          // 1 correct, 0 incorrect, -1 skipped (unknown word)
  arma::uvec predicted;        // row gensim would print as its answer; n when none (skipped / no candidate)
  arma::fvec predicted_score;  // its score (NaN when none)
  arma::umat rows;             // (q, 4) rows of a b c d; n when unknown
};

// gensim evaluate_word_analogies (method cos_add) or its 3CosMul counterpart: a question `a b c d`
// is answered by the first of the top `topn` candidates for b − a + c (rows of a, b, c excluded)
// whose key is not one of the question's keys; it is correct when that key equals d's key.
// All questions of a block are one matrix product against the restricted vocabulary.
//
// Distributed (options.comm, by default the job under mpirun): the answerable questions are cut
// into fixed tiles of query_block questions, rank r answers a contiguous block of tiles
// (comm::block) and the per-question answers are gathered in question order. A tile is the same
// product as in the serial run, so every rank ends with the serial result, bit for bit, for any
// rank count; the section counts are taken from the gathered outcomes on every rank.
AnalogyResult evaluate_analogies(const arma::fmat& E, const WordIndex& index,
                                 const std::vector<std::array<std::string, 4>>& questions,
                                 const std::vector<AnalogySpan>& sections, const AnalogyOptions& options = {});

}  // namespace embedlab::linalg
