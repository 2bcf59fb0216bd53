#pragma once
// The five kinds of component of a Hugging Face tokenizer (normalizer, pre-tokenizer, model,
// post-processor, decoder): one small class per `type` of tokenizer.json, built by one factory per
// kind from the JSON object; an unknown `type` is an error naming it. Internal to lib/tokenizer.
#include "tokenizer/regex.hpp"
#include "tokenizer/token_index.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace embedlab::tok {

// Where a component sits, for error messages: the file and the JSON path ("pre_tokenizer.pretokenizers[1]").
struct Where {
  std::string file;
  std::string path;
  Where at(const std::string& key) const { return {file, path.empty() ? key : path + "." + key}; }
  Where index(std::size_t i) const { return {file, fmt::format("{}[{}]", path, i)}; }
};

// One split of the text on its way through the pipeline.
struct Piece {
  std::string text;
  bool at_start = false;  // starts at offset 0 of the original text (Metaspace prepend_scheme "first")
  bool raw = false;       // a run of invalid UTF-8: skips normalizers and pre-tokenizer splitting
  int id = -1;            // an added token already (its id), or -1
};

class Normalizer {
 public:
  virtual ~Normalizer() = default;
  virtual void normalize(std::string& s) const = 0;
  // Prepends something to every non-empty text (Prepend): the word-initial marker of SentencePiece.
  virtual bool prepends() const { return false; }
  // Applies this normalizer with the prepending parts left out (the word-continuation form).
  virtual void normalize_no_prepend(std::string& s) const { normalize(s); }
};

class PreTokenizer {
 public:
  virtual ~PreTokenizer() = default;
  // Splits every piece that is not an added token; `no_prefix` leaves out added prefixes
  // (ByteLevel add_prefix_space, Metaspace prepend) for word-continuation forms.
  virtual void pre_tokenize(std::vector<Piece>& pieces, bool no_prefix) const = 0;
  virtual bool is_byte_level() const { return false; }
  virtual bool adds_prefix() const { return false; }
  virtual std::optional<std::string> metaspace() const { return std::nullopt; }
};

class Model {
 public:
  virtual ~Model() = default;
  // Appends the ids of one pre-token; `continuation` makes WordPiece treat it as a word's continuation.
  virtual void tokenize(std::string_view word, std::vector<int>& out, bool continuation) const = 0;
  virtual std::string kind() const = 0;
  virtual std::size_t merge_count() const { return 0; }
  std::vector<std::string> id_to_token;  // by id; "" for ids without a token
  TokenIndex token_to_id;
};

class PostProcessor {
 public:
  virtual ~PostProcessor() = default;
  virtual void process(std::vector<int>& ids, std::vector<std::string>& tokens) const = 0;
};

class Decoder {
 public:
  virtual ~Decoder() = default;
  virtual void decode(std::vector<std::string>& tokens) const = 0;
  virtual bool is_byte_level() const { return false; }
};

std::unique_ptr<Normalizer> make_normalizer(const nlohmann::json& j, const Where& w);
std::unique_ptr<PreTokenizer> make_pre_tokenizer(const nlohmann::json& j, const Where& w);
// A model's vocab and merges captured while the file is parsed (a 128k-token vocabulary and 280k
// merges are far cheaper as vectors than as JSON objects); the JSON then holds them empty.
struct ModelTables {
  bool has_vocab = false, has_merges = false;
  std::vector<std::pair<std::string, std::int64_t>> vocab;
  std::vector<std::pair<std::string, std::string>> merges;
};
std::unique_ptr<Model> make_model(const nlohmann::json& j, const Where& w, const ModelTables* tables = nullptr);
std::unique_ptr<PostProcessor> make_post_processor(const nlohmann::json& j, const Where& w);
std::unique_ptr<Decoder> make_decoder(const nlohmann::json& j, const Where& w);

// Building blocks the GPT-2 and BERT pipelines use directly.
std::unique_ptr<Model> make_bpe(std::vector<std::string> vocab_by_id, TokenIndex vocab,
                                const std::vector<std::pair<std::string, std::string>>& merges, const Where& w);
std::unique_ptr<Model> make_wordpiece(std::vector<std::string> vocab_by_id, TokenIndex vocab, const std::string& unk,
                                      const std::string& prefix, std::size_t max_chars, const Where& w);
std::unique_ptr<PreTokenizer> make_byte_level_pre_tokenizer(bool add_prefix_space, bool use_regex, const Where& w);
std::unique_ptr<Decoder> make_byte_level_decoder();
std::unique_ptr<Normalizer> make_bert_normalizer(bool clean_text, bool chinese, std::optional<bool> strip_accents,
                                                 bool lowercase);
std::unique_ptr<PreTokenizer> make_bert_pre_tokenizer();
std::unique_ptr<PostProcessor> make_cls_sep_processor(int cls, const std::string& cls_token, int sep,
                                                      const std::string& sep_token);
std::unique_ptr<Decoder> make_wordpiece_decoder(const std::string& prefix, bool cleanup);

// The inverse of gpt2_byte_to_unicode: the byte of a code point, or -1.
int byte_of_char(std::uint32_t cp);
// Maps every byte of `bytes` to its bytes_to_unicode character.
std::string bytes_to_unicode(std::string_view bytes);
// The bytes a byte-level vocabulary string stands for; nullopt when it holds a character outside
// the table.
std::optional<std::string> unicode_to_bytes(std::string_view s);

// JSON accessors that fail with the path of the value.
const nlohmann::json& member(const nlohmann::json& j, const char* key, const Where& w);
std::string get_string(const nlohmann::json& j, const char* key, const Where& w);
bool get_bool(const nlohmann::json& j, const char* key, const Where& w, bool fallback);
std::string type_of(const nlohmann::json& j, const Where& w);
[[noreturn]] void unsupported(const std::string& kind, const std::string& type, const Where& w);

}  // namespace embedlab::tok
