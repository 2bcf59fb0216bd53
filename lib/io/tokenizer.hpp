#pragma once
// GPT-2 byte-level BPE tokenizer (OpenAI's encoder.json + vocab.bpe, or the same bytes as Hugging
// Face's vocab.json + merges.txt), and the mapping of word lists to token ids for experiments.
//
// Parity target: Hugging Face `tokenizers` ByteLevelBPE with `<|endoftext|>` (50256) as a special
// token (tests/data/gpt2-golden/tokenizer_cases.json). Text is split on special tokens, then
// pre-tokenized by GPT-2's regex (PCRE2, UTF + UCP), each piece's bytes are mapped through
// bytes_to_unicode and merged by rank.
//
// Invalid UTF-8 (HF cannot even receive it: its input is a Rust String): the text is cut into
// maximal valid runs and runs of invalid bytes; valid runs go through the regex, each invalid run
// is one pre-token of raw bytes. Every byte has a token, so decode(encode(x)) == x for any bytes.
#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace embedlab::io {

class Gpt2Tokenizer {
 public:
  // Reads encoder.json (token string → id, dense ids 0..n-1) and vocab.bpe (merge rules, one
  // "a b" pair a line after an optional `#version` line). Malformed files throw a one-line
  // embedlab::Error naming the file and the key or line (exit 65; missing file: 66).
  Gpt2Tokenizer(const std::string& encoder_json, const std::string& vocab_bpe);
  ~Gpt2Tokenizer();
  Gpt2Tokenizer(Gpt2Tokenizer&&) noexcept;
  Gpt2Tokenizer& operator=(Gpt2Tokenizer&&) noexcept;

  // A directory holding vocab.json + merges.txt (Hugging Face names) or encoder.json + vocab.bpe
  // (OpenAI names), tried in that order.
  static Gpt2Tokenizer from_dir(const std::string& dir);

  // Token ids of `text`. With allow_special, the literal text of a special token (`<|endoftext|>`)
  // becomes its id; without, it is encoded as ordinary text. Thread-safe.
  std::vector<int> encode(std::string_view text, bool allow_special = true) const;
  // The bytes the ids stand for, concatenated (may be invalid UTF-8 if a multi-byte character is
  // cut). Ids outside [0, vocab_size) throw Error(data).
  std::string decode(const std::vector<int>& ids) const;
  // The bytes of one token (" cat" for 3797).
  const std::string& token_bytes(int id) const;
  // The vocabulary string of one token as in encoder.json ("Ġcat" for 3797).
  const std::string& token(int id) const;
  // Id of a vocabulary string ("Ġcat" → 3797), if present.
  std::optional<int> id(std::string_view token) const;
  // Id of the token whose bytes are exactly `bytes` (" cat" → 3797), if present.
  std::optional<int> id_of_bytes(std::string_view bytes) const;

  int vocab_size() const;
  std::size_t merge_count() const;
  // Id of `<|endoftext|>` (50256 for GPT-2), or -1 when the vocabulary lacks it.
  int eot_id() const;

 private:
  struct Impl;
  explicit Gpt2Tokenizer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The tokenizer files of a directory: vocab.json + merges.txt (Hugging Face names) or encoder.json +
// vocab.bpe (OpenAI names), tried in that order; nullopt when it has neither pair.
std::optional<std::pair<std::string, std::string>> gpt2_tokenizer_files(const std::string& dir);

// Where the tokenizer of a GPT-2 checkpoint in model_dir is: model_dir itself, else a directory
// named gpt2-tokenizer or gpt2 beside model_dir or beside one of its parents (data/gpt2 is where
// `embedlab fetch` puts it), else data/gpt2 or ../data/gpt2 under the working directory (the source
// or the build tree). nullopt when none holds tokenizer files.
std::optional<std::string> find_gpt2_tokenizer_dir(const std::string& model_dir);

// The GPT-2 bytes_to_unicode table: the UTF-8 string standing for each byte in vocabulary strings.
const std::array<std::string, 256>& gpt2_byte_to_unicode();

// 'text' for messages and listings: control characters and bytes that are not valid UTF-8 are
// escaped (\n, \x1f, \xff), so the result is one printable line.
std::string quote_bytes(std::string_view bytes);

// --- words → token ids -----------------------------------------------------------------------

struct WordPolicy {
  // Encode " word" (the form a word takes inside running text) rather than "word".
  bool leading_space = true;
  // What to do when a word is several tokens: fail, average all pieces, or use the first/last one.
  enum class MultiToken { error, mean, first, last } multi_token = MultiToken::error;
  // What to do with a word that has no tokens (empty or whitespace-only, or invalid UTF-8).
  enum class Oov { error, skip } oov = Oov::error;
};

enum class WordStatus { ok, multi_token, skipped };

struct WordTokens {
  std::string word;
  std::vector<int> pieces;  // every token id of the encoded word (empty when skipped)
  std::vector<int> ids;     // the ids to use: one, or all pieces for `mean`, none when skipped
  WordStatus status = WordStatus::ok;
};

// One entry per input word, in order. Throws Error(data) for a multi-token word under
// MultiToken::error (naming the word and its pieces) and for an unusable word under Oov::error.
// `source` names where the words came from in error messages (a file name, "words", ...).
std::vector<WordTokens> words_to_tokens(const Gpt2Tokenizer& tokenizer, const std::vector<std::string>& words,
                                        const WordPolicy& policy, const std::string& source = "words");

inline constexpr const char* kMultiTokenNames = "error|mean|first|last";
inline constexpr const char* kOovNames = "error|skip";
std::optional<WordPolicy::MultiToken> parse_multi_token(std::string_view name);
std::optional<WordPolicy::Oov> parse_oov(std::string_view name);
const char* to_string(WordPolicy::MultiToken m);
const char* to_string(WordPolicy::Oov o);
const char* to_string(WordStatus s);  // "ok" | "multi_token" | "skipped"

}  // namespace embedlab::io
