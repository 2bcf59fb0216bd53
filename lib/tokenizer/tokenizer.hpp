#pragma once
// Hugging Face tokenizers, rebuilt component by component (the `tokenizers` library's pipeline):
//
//   text → added tokens (non-normalized ones matched on the raw text) → normalizer (each remaining
//   piece) → added tokens (normalized ones) → pre-tokenizer → model (BPE / WordPiece) → post-processor
//   (only with add_special) ;  ids → tokens → decoder → text.
//
// One `Tokenizer` for every source: a `tokenizer.json`; GPT-2's vocab.json + merges.txt (or OpenAI's
// encoder.json + vocab.bpe), which become the pipeline HF's ByteLevelBPETokenizer builds (ByteLevel
// pre-tokenizer, BPE, `<|endoftext|>` special when the vocabulary has it, ByteLevel decoder); BERT's
// vocab.txt, which becomes HF's BertWordPiece pipeline (BertNormalizer with tokenizer_config.json's
// do_lower_case, BertPreTokenizer, WordPiece, `[CLS] $A [SEP]`, the WordPiece decoder). An unsupported
// component `type` is a one-line error naming it.
//
// Parity target: `tokenizers` 0.22 (the oracle of tests/oracle: the ids of `encode(text, null,
// {addSpecialTokens})`), checked on GPT-2, BERT, Llama-2, Llama-3 and Qwen-3. Offsets are not kept.
// Regex patterns (Oniguruma syntax in tokenizer.json) run on PCRE2 with UTF + UCP and match limits;
// Unicode properties and normalization come from ICU.
//
// Invalid UTF-8 (HF cannot even receive it: its input is a Rust String): the text is cut into maximal
// valid runs and runs of invalid bytes; valid runs go through the pipeline, each invalid run is one
// pre-token of raw bytes that skips normalizer and pre-tokenizer. With a ByteLevel pre-tokenizer its
// bytes are mapped like any other (every byte has a token, so decode(encode(x)) == x for any bytes);
// otherwise the model sees them as U+FFFD characters (unknown or byte-fallback tokens).
#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace embedlab::tok {

struct Encoding {
  std::vector<int> ids;
  std::vector<std::string> tokens;  // vocabulary strings ("Ġcat", "▁cat", "##s", "<|endoftext|>")
};

// How the word policies find a word's tokens (see Tokenizer::word_ids).
enum class WordStyle {
  byte_level,  // GPT-2 / Llama-3 / Qwen: a space before the word is part of its first token ("Ġcat")
  metaspace,   // SentencePiece: "▁cat", the pipeline adds the ▁ itself (Metaspace or Prepend normalizer)
  wordpiece,   // BERT: the word itself starts a word, continuations carry "##"
  plain,       // anything else: the word itself
};

class Tokenizer {
 public:
  // A tokenizer.json. Malformed files throw a one-line embedlab::Error naming the file and the JSON
  // path (exit 65; missing file: 66).
  static Tokenizer from_file(const std::string& tokenizer_json);
  // A directory: tokenizer.json first; else vocab.json + merges.txt / encoder.json + vocab.bpe
  // (GPT-2); else vocab.txt (BERT, do_lower_case from tokenizer_config.json, default true).
  static Tokenizer from_dir(const std::string& dir);
  // from_dir, loaded once per process while the directory's tokenizer files (tokenizer_files: their
  // paths, sizes and modification times) stay the same: a run asks for one model's tokenizer in
  // several places (the row names of a model directory, the row check, the word lookup, the benchmark
  // words) and Llama-3's takes ~0.13 s.
  // Thread-safe; the last 4 directories are kept.
  static std::shared_ptr<const Tokenizer> shared_from_dir(const std::string& dir);
  // from_dir for a directory, from_file for a file.
  static Tokenizer from_path(const std::string& path);
  // GPT-2 byte-level BPE from its two files.
  static Tokenizer from_gpt2_files(const std::string& vocab_json, const std::string& merges_txt);
  // BERT WordPiece from vocab.txt.
  static Tokenizer from_bert_vocab(const std::string& vocab_txt, bool lowercase);

  ~Tokenizer();
  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;

  // Ids and tokens of `text`; add_special runs the post-processor ([CLS] … [SEP], <s> …).
  // parse_special = false treats added tokens (`<|endoftext|>`) in the text as plain text (HF always
  // parses them; word lists and corpora want plain text). Thread-safe.
  Encoding encode(std::string_view text, bool add_special = false, bool parse_special = true) const;
  std::vector<int> encode_ids(std::string_view text, bool add_special = false, bool parse_special = true) const;
  // GPT-2-compatible spelling: encode_ids(text, false, allow_special).
  std::vector<int> encode_gpt2(std::string_view text, bool allow_special = true) const {
    return encode_ids(text, false, allow_special);
  }

  // The decoder's text of `ids` (HF decode; skip_special drops special added tokens). With a
  // ByteLevel decoder the bytes are returned as they are (possibly invalid UTF-8 when a character
  // is cut). Ids outside the vocabulary throw Error(data).
  std::string decode(const std::vector<int>& ids, bool skip_special = false) const;
  // The vocabulary string of one token ("Ġcat"); ids out of range throw Error(data).
  const std::string& token(int id) const;
  // The text one token stands for, for display: ByteLevel tokens as bytes (" cat"), the Metaspace
  // replacement as a space (" cat"), byte-fallback tokens as their byte; other tokens as they are.
  const std::string& token_bytes(int id) const;
  // Id of a vocabulary string or added token, if present.
  std::optional<int> id(std::string_view token) const;
  // Id of the token whose token_bytes are exactly `bytes` (" cat" → 3797), if present.
  std::optional<int> id_of_bytes(std::string_view bytes) const;
  // Ids 0..vocab_size()-1 (model vocabulary and added tokens; ids without a token have token "").
  int vocab_size() const;
  std::size_t merge_count() const;
  // Id of `<|endoftext|>`, or -1 when the vocabulary lacks it.
  int eot_id() const;
  bool is_special(int id) const;

  // --- what the word policies need ---
  WordStyle word_style() const;
  // The tokens of one word as it appears inside running text: word_initial → the word-initial form
  // (" cat" → "Ġcat" for byte-level, "▁cat" for SentencePiece, "cat" for WordPiece); otherwise the
  // form it takes glued to a previous word ("cat" byte-level, "cat" without ▁, "##cat" WordPiece).
  // Added tokens are never parsed and no special tokens are added.
  std::vector<int> word_ids(std::string_view word, bool word_initial) const;
  // A short description for listings: "tokenizer.json (BPE, 128256 tokens)".
  const std::string& describe() const;
  // The files this tokenizer was read from.
  const std::vector<std::string>& files() const;

  // --- the ids as the files give them (what names an embedding matrix's rows) ---
  // The model's vocabulary by id, without the added tokens ("" for ids without a token).
  const std::vector<std::string>& model_tokens() const;
  // tokenizer.json's added_tokens entries that give an "id": content and that id, in file order
  // (their ids in vocab_size() are Hugging Face's, which a file may contradict); empty for other files.
  const std::vector<std::pair<std::string, std::uint64_t>>& listed_added_tokens() const;
  // tokenizer.json named a key twice in one object (model.vocab included): the last value counts,
  // as in Hugging Face, where a strict JSON reader refuses the file.
  bool repeated_json_keys() const;

  struct Impl;

 private:
  explicit Tokenizer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The tokenizer files of a directory, in the order from_dir tries them (tokenizer.json; vocab.json +
// merges.txt; encoder.json + vocab.bpe; vocab.txt [+ tokenizer_config.json]); empty when none.
std::vector<std::string> tokenizer_files(const std::string& dir);

// The GPT-2 files of a directory: vocab.json + merges.txt (Hugging Face names) or encoder.json +
// vocab.bpe (OpenAI names), tried in that order; nullopt when it has neither pair.
std::optional<std::pair<std::string, std::string>> gpt2_tokenizer_files(const std::string& dir);

// Where the tokenizer of a checkpoint in model_dir is: model_dir itself when it holds tokenizer files
// (tokenizer_files), else a directory named gpt2-tokenizer or gpt2 beside model_dir or beside one of
// its parents (data/gpt2 is where `embedlab fetch` puts it), else data/gpt2 or ../data/gpt2 under the
// working directory. nullopt when none holds tokenizer files.
std::optional<std::string> find_gpt2_tokenizer_dir(const std::string& model_dir);

// The GPT-2 bytes_to_unicode table: the UTF-8 string standing for each byte in vocabulary strings.
const std::array<std::string, 256>& gpt2_byte_to_unicode();

// 'text' for messages and listings: control characters and bytes that are not valid UTF-8 are
// escaped (\n, \x1f, \xff), so the result is one printable line.
std::string quote_bytes(std::string_view bytes);

// --- words → token ids -----------------------------------------------------------------------

struct WordPolicy {
  // Encode the word in its word-initial form (" word" for GPT-2, "▁word" for SentencePiece, the word
  // itself for WordPiece) rather than glued to a previous word.
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
std::vector<WordTokens> words_to_tokens(const Tokenizer& tokenizer, const std::vector<std::string>& words,
                                        const WordPolicy& policy, const std::string& source = "words");

inline constexpr const char* kMultiTokenNames = "error|mean|first|last";
inline constexpr const char* kOovNames = "error|skip";
std::optional<WordPolicy::MultiToken> parse_multi_token(std::string_view name);
std::optional<WordPolicy::Oov> parse_oov(std::string_view name);
const char* to_string(WordPolicy::MultiToken m);
const char* to_string(WordPolicy::Oov o);
const char* to_string(WordStatus s);  // "ok" | "multi_token" | "skipped"

}  // namespace embedlab::tok

// The names the readers and experiments have used since the GPT-2-only tokenizer lived in io/.
namespace embedlab::io {
using Gpt2Tokenizer = tok::Tokenizer;
using tok::find_gpt2_tokenizer_dir;
using tok::gpt2_byte_to_unicode;
using tok::gpt2_tokenizer_files;
using tok::kMultiTokenNames;
using tok::kOovNames;
using tok::parse_multi_token;
using tok::parse_oov;
using tok::quote_bytes;
using tok::to_string;
using tok::WordPolicy;
using tok::words_to_tokens;
using tok::WordStatus;
using tok::WordTokens;
}  // namespace embedlab::io
