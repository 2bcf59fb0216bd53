#pragma once
// Words → columns of a loaded embedding matrix, for experiments that name items by word. Two modes:
//   tokenizer: the embeddings came from a model directory with a tokenizer (tokenizer.json, GPT-2's
//              vocab.json + merges.txt or encoder.json + vocab.bpe, BERT's vocab.txt; any of them
//              through tok::Tokenizer): each word is encoded with the WordPolicy (its word-initial form:
//              " cat" → "Ġcat" for byte-level BPE, "▁cat" for SentencePiece, "cat" for WordPiece;
//              multi-token and OOV policies) and each token id is found among the loaded tokens by its
//              vocabulary string, so rows excluded at load time are noticed instead of shifting ids;
//   direct:    every other source (GloVe, word2vec, bare tensors): the word itself is looked up in
//              the token list; a missing word is out of vocabulary.
#include "core/provenance.hpp"
#include "tokenizer/tokenizer.hpp"

#include <armadillo>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace embedlab::io {

struct LookupPolicy {
  WordPolicy word;
  // true: a multi-token word is left out (status dropped_multi_token) instead of following
  // word.multi_token (RSA keeps only items both spaces represent by one row).
  bool drop_multi_token = false;
};

enum class LookupStatus { ok, multi_token, dropped_multi_token, skipped, not_in_vocabulary, excluded_row };
const char* to_string(LookupStatus s);
inline bool usable(LookupStatus s) { return s == LookupStatus::ok || s == LookupStatus::multi_token; }

struct WordColumns {
  std::string word;
  std::vector<int> token_ids;        // tokenizer ids of every piece (tokenizer mode), else empty
  std::vector<arma::uword> columns;  // columns to use: one, or all pieces (mean); empty when not usable
  LookupStatus status = LookupStatus::ok;
  std::string reason;  // why a word is not usable, for coverage tables ("" when usable)
};

class WordLookup {
 public:
  // `tokens[j]` names column j (copied). With a tokenizer directory, words go through its
  // tokenizer (tok::Tokenizer::from_dir); when `tokens` is empty (a checkpoint without vocab.json, its tokenizer found
  // elsewhere) token id j is column j.
  WordLookup(const std::vector<std::string>& tokens, const std::optional<std::string>& tokenizer_dir);
  ~WordLookup();
  WordLookup(WordLookup&&) noexcept;

  // The tokenizer of `source`: for a model directory of any other format, the directory itself when
  // it holds tokenizer files (tok::tokenizer_files); for a GPT-2 checkpoint the same search as
  // `embedlab forward --text` (io::find_gpt2_tokenizer_dir: the checkpoint directory, a gpt2-tokenizer/ or gpt2/
  // directory beside it or beside one of its parents, data/gpt2), kept only when its vocabulary
  // has as many tokens as the checkpoint has rows; else nothing.
  static std::optional<std::string> tokenizer_dir_for(const InputFile& source);

  // The one meaning of multi_token = mean, for every caller (experiments and embedlab's word
  // commands): the arithmetic mean, accumulated in double, of the pieces' loaded vectors — the
  // vector the word would have as one row (cosines then use its direction). `vectors` (d, n) holds
  // the loaded rows; a caller that keeps only unit columns passes them with the loaded rows' norms
  // (row j = norms[j] · unit(:, j)), which gives the same mean up to float rounding.
  static arma::vec mean_vector(const arma::fmat& vectors, const std::vector<arma::uword>& columns,
                               const arma::vec* norms = nullptr);
  // The tokenizer files of a directory with their sha256 (provenance of the word → id mapping).
  static std::vector<InputFile> tokenizer_files(const std::string& dir);

  bool uses_tokenizer() const { return tokenizer_ != nullptr; }
  const Gpt2Tokenizer* tokenizer() const { return tokenizer_.get(); }
  // Printable form of column j: the token's bytes (" cat", control bytes escaped) in tokenizer
  // mode, else tokens[j].
  std::string display(arma::uword column) const;

  // One entry per word, in order. Errors follow the policy: multi_token = error and oov = error
  // throw Error(data) naming the word (`source` names the word list); with oov = skip, empty,
  // invalid and unknown words get a status and a reason instead.
  std::vector<WordColumns> resolve(const std::vector<std::string>& words, const LookupPolicy& policy,
                                   const std::string& source = "words") const;

 private:
  std::vector<std::string> tokens_;  // a copy: the lookup outlives moves of the Embeddings
  std::map<std::string, arma::uword> index_;
  std::shared_ptr<const Gpt2Tokenizer> tokenizer_;
};

}  // namespace embedlab::io
