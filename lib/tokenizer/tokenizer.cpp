#include "tokenizer/tokenizer.hpp"

#include "core/error.hpp"
#include "core/json.hpp"
#include "tokenizer/components.hpp"
#include "tokenizer/tokenizer_json.hpp"
#include "tokenizer/unicode.hpp"

#include <algorithm>
#include <deque>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <unordered_map>

namespace embedlab::tok {

namespace fs = std::filesystem;

namespace {

// Files larger than this are not tokenizer files (Qwen-3's tokenizer.json is 11 MB).
constexpr std::uintmax_t kMaxFileBytes = std::uintmax_t{256} << 20;
constexpr const char* kEndOfText = "<|endoftext|>";

// `padding`: capacity reserved past the end (readable, unspecified bytes) for the JSON reader.
std::string read_small_file(const std::string& path, std::size_t padding = 0) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) fail(Exit::no_input, path, "", "is a directory, expected a tokenizer file");
  const auto size = fs::file_size(path, ec);
  if (ec) fail(Exit::no_input, path, "", "cannot read tokenizer file (" + ec.message() + ")");
  if (size > kMaxFileBytes)
    data_error(path, "",
               fmt::format("too large for a tokenizer file (got {} bytes, expected at most {})", size, kMaxFileBytes));
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(Exit::no_input, path, "", "cannot open tokenizer file");
  std::string text;
  text.reserve(size + padding);
  text.resize(size);
  if (!in.read(text.data(), static_cast<std::streamsize>(size)) || in.gcount() != static_cast<std::streamsize>(size))
    fail(Exit::no_input, path, "", fmt::format("cannot read tokenizer file (got fewer than its {} bytes)", size));
  return text;
}

struct AddedToken {
  std::string content;
  bool single_word = false, lstrip = false, rstrip = false, normalized = true, special = false;
  bool operator==(const AddedToken&) const = default;
};

// Leftmost-longest matching of a set of strings (what HF's Aho-Corasick automaton does).
struct Matcher {
  std::vector<std::pair<std::string, int>> patterns;   // content (normalized for the normalized set), id
  std::array<std::vector<std::size_t>, 256> by_first;  // indices by first byte, longest first

  void build() {
    for (auto& v : by_first) v.clear();
    for (std::size_t k = 0; k < patterns.size(); ++k)
      if (!patterns[k].first.empty()) by_first[static_cast<unsigned char>(patterns[k].first[0])].push_back(k);
    for (auto& v : by_first)
      std::stable_sort(v.begin(), v.end(), [&](std::size_t a, std::size_t b) {
        return patterns[a].first.size() > patterns[b].first.size();
      });
  }
  bool empty() const { return patterns.empty(); }
  // The next match at or after `from`: (start, end, id) or start == npos.
  std::tuple<std::size_t, std::size_t, int> find(std::string_view s, std::size_t from) const {
    for (std::size_t i = from; i < s.size(); ++i) {
      for (const std::size_t k : by_first[static_cast<unsigned char>(s[i])]) {
        const auto& p = patterns[k].first;
        if (s.compare(i, p.size(), p) == 0) return {i, i + p.size(), patterns[k].second};
      }
    }
    return {std::string::npos, 0, -1};
  }
};

bool ends_with_word(std::string_view s) {
  if (s.empty()) return false;
  std::size_t start = s.size() - 1;
  while (start > 0 && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80) --start;
  std::size_t i = start;
  return uni::is_alphanumeric_word(uni::next(s, i));
}

bool starts_with_word(std::string_view s) {
  if (s.empty()) return false;
  std::size_t i = 0;
  return uni::is_alphanumeric_word(uni::next(s, i));
}

}  // namespace

struct Tokenizer::Impl {
  std::vector<std::string> files;
  std::vector<std::pair<std::string, std::uint64_t>> listed_added;  // tokenizer.json's added_tokens with an id
  bool repeated_json_keys = false;
  std::string description;
  std::unique_ptr<Normalizer> normalizer;
  std::unique_ptr<PreTokenizer> pre;
  std::unique_ptr<Model> model;
  std::unique_ptr<PostProcessor> post;
  std::unique_ptr<Decoder> decoder;

  std::unordered_map<std::string, int> added_map;   // content → id
  std::unordered_map<int, AddedToken> added_by_id;  // id → flags
  std::vector<AddedToken> special_tokens, classic_tokens;
  std::set<std::string> special_set;
  Matcher raw_matcher, normalized_matcher;

  std::vector<std::string> tokens, bytes;
  TokenIndex by_bytes;  // the first id of each byte string
  int eot = -1;
  WordStyle style = WordStyle::plain;
  bool byte_level = false;

  std::optional<int> token_to_id(const std::string& t) const {
    if (const auto it = added_map.find(t); it != added_map.end()) return it->second;
    return model->token_to_id.find(t);
  }

  // AddedVocabulary::add_tokens.
  void add_tokens(const std::vector<AddedToken>& list) {
    for (const auto& t : list)
      if (t.special && !t.content.empty() && special_set.insert(t.content).second) special_tokens.push_back(t);
    const int model_size = static_cast<int>(model->token_to_id.size());
    for (const auto& t : list) {
      if (t.content.empty()) continue;
      if (std::any_of(added_by_id.begin(), added_by_id.end(), [&](const auto& kv) { return kv.second == t; })) continue;
      int id;
      if (const auto known = token_to_id(t.content)) {
        id = *known;
      } else if (added_map.empty()) {
        id = model_size;
      } else {
        int mx = 0;
        for (const auto& kv : added_map) mx = std::max(mx, kv.second);
        id = (mx >= model_size || model_size == 0) ? mx + 1 : model_size;
      }
      added_map[t.content] = id;
      added_by_id[id] = t;
      if (!special_set.count(t.content)) classic_tokens.push_back(t);
    }
    raw_matcher.patterns.clear();
    normalized_matcher.patterns.clear();
    const auto add = [&](const AddedToken& t) {
      const int id = *token_to_id(t.content);
      if (t.normalized) {
        std::string c = t.content;
        if (normalizer) normalizer->normalize(c);
        normalized_matcher.patterns.emplace_back(std::move(c), id);
      } else {
        raw_matcher.patterns.emplace_back(t.content, id);
      }
    };
    for (const auto& t : special_tokens) add(t);
    for (const auto& t : classic_tokens) add(t);
    raw_matcher.build();
    normalized_matcher.build();
  }

  // AddedVocabulary::find_matches on one piece: appends token pieces and text pieces.
  void extract(const Matcher& m, Piece&& p, std::vector<Piece>& out) const {
    const std::string& s = p.text;
    if (m.empty()) {
      if (!s.empty()) out.push_back(std::move(p));
      return;
    }
    std::size_t start_offset = 0, from = 0;
    const auto text_piece = [&](std::size_t b, std::size_t e) {
      if (e <= b) return;
      Piece q;
      q.text = s.substr(b, e - b);
      q.at_start = p.at_start && b == 0;
      out.push_back(std::move(q));
    };
    while (true) {
      auto [start, stop, id] = m.find(s, from);
      if (start == std::string::npos) break;
      from = stop;
      const AddedToken& t = added_by_id.at(id);
      if (t.single_word) {
        const bool start_space = start == 0 || !ends_with_word(std::string_view(s).substr(0, start));
        const bool stop_space = stop == s.size() || !starts_with_word(std::string_view(s).substr(stop));
        if (!start_space || !stop_space) continue;
      }
      if (t.lstrip) {
        std::size_t ns = start;
        while (ns > 0) {
          std::size_t b = ns - 1;
          while (b > 0 && (static_cast<unsigned char>(s[b]) & 0xC0) == 0x80) --b;
          std::size_t i = b;
          if (!uni::is_whitespace(uni::next(s, i))) break;
          ns = b;
        }
        start = std::max(ns, start_offset);
      }
      if (t.rstrip) {
        while (stop < s.size()) {
          std::size_t i = stop;
          if (!uni::is_whitespace(uni::next(s, i))) break;
          stop = i;
        }
      }
      if (start_offset < start) text_piece(start_offset, start);
      Piece tok;
      tok.id = id;
      tok.text = t.content;
      out.push_back(std::move(tok));
      start_offset = stop;
    }
    text_piece(start_offset, s.size());
  }

  // Pieces of the text up to (and including) pre-tokenization.
  std::vector<Piece> pre_tokenize(std::string_view text, bool parse_special, bool no_prefix) const {
    std::vector<Piece> pieces;
    // Valid runs and runs of invalid bytes.
    std::vector<Piece> runs;
    for (std::size_t i = 0; i < text.size();) {
      std::size_t j = i;
      for (std::size_t len; j < text.size() && (len = uni::char_len(text, j)) > 0;) j += len;
      if (j > i) {
        Piece p;
        p.text = std::string(text.substr(i, j - i));
        p.at_start = i == 0;
        runs.push_back(std::move(p));
      }
      std::size_t k = j;
      while (k < text.size() && uni::char_len(text, k) == 0) ++k;
      if (k > j) {
        Piece p;
        p.text = std::string(text.substr(j, k - j));
        p.raw = true;
        runs.push_back(std::move(p));
      }
      i = k;
    }
    std::vector<Piece> first;
    for (auto& r : runs) {
      if (r.raw || !parse_special)
        first.push_back(std::move(r));
      else
        extract(raw_matcher, std::move(r), first);
    }
    for (auto& p : first) {
      if (p.id >= 0 || p.raw) {
        pieces.push_back(std::move(p));
        continue;
      }
      if (normalizer) {
        if (no_prefix)
          normalizer->normalize_no_prepend(p.text);
        else
          normalizer->normalize(p.text);
      }
      if (parse_special)
        extract(normalized_matcher, std::move(p), pieces);
      else if (!p.text.empty())
        pieces.push_back(std::move(p));
    }
    if (pre) pre->pre_tokenize(pieces, no_prefix);
    for (auto& p : pieces) {
      if (!p.raw) continue;
      std::string r;
      for (std::size_t k = 0; k < p.text.size(); ++k) r += "\xEF\xBF\xBD";  // U+FFFD per invalid byte
      p.text = std::move(r);
      p.raw = false;
    }
    return pieces;
  }

  void run(std::string_view text, bool add_special, bool parse_special, bool no_prefix, bool continuation,
           std::vector<int>& ids, std::vector<std::string>* toks) const {
    const auto pieces = pre_tokenize(text, parse_special, no_prefix);
    bool first = true;
    for (const auto& p : pieces) {
      if (p.id >= 0) {
        ids.push_back(p.id);
      } else if (!p.text.empty()) {
        model->tokenize(p.text, ids, continuation && first);
      }
      first = false;
    }
    if (toks) {
      toks->clear();
      toks->reserve(ids.size());
      for (const int id : ids)
        toks->push_back(id >= 0 && static_cast<std::size_t>(id) < tokens.size() ? tokens[id] : "");
    }
    if (add_special && post) {
      std::vector<std::string> scratch;
      post->process(ids, toks ? *toks : scratch);
    }
  }

  void finish(const std::vector<AddedToken>& added) {
    add_tokens(added);
    std::size_t n = model->id_to_token.size();
    for (const auto& [content, id] : added_map) n = std::max(n, static_cast<std::size_t>(id) + 1);
    tokens = model->id_to_token;
    tokens.resize(n);
    for (const auto& [content, id] : added_map) tokens[id] = content;
    byte_level = (pre && pre->is_byte_level()) || (decoder && decoder->is_byte_level());
    std::optional<std::string> meta = pre ? pre->metaspace() : std::nullopt;
    if (!meta && normalizer && normalizer->prepends()) meta = "\xE2\x96\x81";  // ▁
    if (pre && pre->is_byte_level())
      style = WordStyle::byte_level;
    else if (meta)
      style = WordStyle::metaspace;
    else if (model->kind() == "WordPiece")
      style = WordStyle::wordpiece;
    std::vector<char> is_added(n, 0);  // tokens[id] is an added token's content
    for (const auto& [content, id] : added_map) is_added[id] = 1;
    bytes.resize(n);
    for (std::size_t id = 0; id < n; ++id) {
      const std::string& t = tokens[id];
      std::string b;
      if (byte_level && !is_added[id]) {
        auto raw = unicode_to_bytes(t);
        b = raw ? std::move(*raw) : t;
      } else if (t.size() == 6 && t.compare(0, 3, "<0x") == 0 && t[5] == '>' && !is_added[id]) {
        b = std::string(1, static_cast<char>(std::stoi(t.substr(3, 2), nullptr, 16)));
      } else if (meta) {
        std::string r;
        for (std::size_t p = 0; p < t.size();) {
          if (t.compare(p, meta->size(), *meta) == 0) {
            r += ' ';
            p += meta->size();
          } else {
            r += t[p++];
          }
        }
        b = std::move(r);
      } else {
        b = t;
      }
      bytes[id] = std::move(b);
    }
    // The first id of each byte string; each slot prefetched kAhead ids before its insert.
    by_bytes.reserve(n);
    constexpr std::size_t kAhead = 8, kRing = 16;
    std::array<std::uint64_t, kRing> h{};
    const auto ahead = [&](std::size_t id) {
      h[id % kRing] = TokenIndex::hash(bytes[id]);
      by_bytes.prefetch_hash(h[id % kRing]);
    };
    for (std::size_t id = 0; id < std::min(n, kAhead); ++id) ahead(id);
    for (std::size_t id = 0; id < n; ++id) {
      if (id + kAhead < n) ahead(id + kAhead);
      if (!tokens[id].empty()) by_bytes.insert(bytes[id], static_cast<int>(id), h[id % kRing]);
    }
    if (const auto it = added_map.find(kEndOfText); it != added_map.end())
      eot = it->second;
    else if (const auto m = model->token_to_id.find(kEndOfText))
      eot = *m;
    description =
        fmt::format("{} ({}, {} tokens)", files.empty() ? "tokenizer" : fs::path(files.front()).filename().string(),
                    model->kind(), n);
  }
};

Tokenizer::Tokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Tokenizer::~Tokenizer() = default;
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;

// --- loading -----------------------------------------------------------------------------------

Tokenizer Tokenizer::from_file(const std::string& path) {
  const std::string text = read_small_file(path, tokenizer_json_padding());
  TokenizerJson doc = read_tokenizer_json(text, text.capacity(), path);
  const nlohmann::json& j = doc.root;
  const ModelTables& tables = doc.tables;
  const Where root{path, ""};
  if (!j.is_object()) data_error(path, "", fmt::format("expected a JSON object (got {})", j.type_name()));
  auto impl = std::make_unique<Impl>();
  impl->files = {path};
  const auto part = [&](const char* key) -> const nlohmann::json* {
    const auto it = j.find(key);
    return it == j.end() || it->is_null() ? nullptr : &*it;
  };
  if (const auto* n = part("normalizer")) impl->normalizer = make_normalizer(*n, root.at("normalizer"));
  if (const auto* p = part("pre_tokenizer")) impl->pre = make_pre_tokenizer(*p, root.at("pre_tokenizer"));
  const auto* m = part("model");
  if (!m) data_error(path, "", "missing key 'model'");
  impl->model = make_model(*m, root.at("model"), &tables);
  impl->repeated_json_keys =
      doc.repeated_key || (tables.has_vocab && impl->model->token_to_id.size() != tables.vocab.size());
  if (const auto* p = part("post_processor")) impl->post = make_post_processor(*p, root.at("post_processor"));
  if (const auto* d = part("decoder")) impl->decoder = make_decoder(*d, root.at("decoder"));
  std::vector<AddedToken> added;
  if (const auto* a = part("added_tokens")) {
    const Where aw = root.at("added_tokens");
    if (!a->is_array()) data_error(path, aw.path, fmt::format("expected an array (got {})", a->type_name()));
    for (std::size_t i = 0; i < a->size(); ++i) {
      const Where tw = aw.index(i);
      const auto& e = (*a)[i];
      AddedToken t;
      t.content = get_string(e, "content", tw);
      t.single_word = get_bool(e, "single_word", tw, false);
      t.lstrip = get_bool(e, "lstrip", tw, false);
      t.rstrip = get_bool(e, "rstrip", tw, false);
      t.normalized = get_bool(e, "normalized", tw, true);
      t.special = get_bool(e, "special", tw, false);
      if (const auto it = e.find("id"); it != e.end()) {
        if (!(it->is_number_unsigned() && it->get<std::uint64_t>() < (1u << 31)))
          data_error(path, tw.at("id").path, fmt::format("expected a non-negative id (got {})", it->dump()));
        impl->listed_added.emplace_back(t.content, it->get<std::uint64_t>());
      }
      added.push_back(std::move(t));
    }
  }
  impl->finish(added);
  return Tokenizer(std::move(impl));
}

Tokenizer Tokenizer::from_gpt2_files(const std::string& encoder_path, const std::string& merges_path) {
  const std::string text = read_small_file(encoder_path);
  const nlohmann::json j = parse_json_strict(text, encoder_path, "");
  if (!j.is_object())
    data_error(encoder_path, "", fmt::format("expected a JSON object of token → id (got {})", j.type_name()));
  const std::size_t n = j.size();
  if (n < 256)
    data_error(encoder_path, "", fmt::format("vocabulary too small (got {} entries, expected at least 256)", n));
  std::vector<std::string> by_id(n);
  TokenIndex vocab;
  vocab.reserve(n);
  std::vector<char> seen(n, 0);
  for (const auto& [key, value] : j.items()) {
    const std::string where = fmt::format("key {}", quote_bytes(key));
    if (!value.is_number_integer())
      data_error(encoder_path, where, fmt::format("id is not an integer (got {})", value.dump()));
    const auto id = value.get<std::int64_t>();
    if (id < 0 || static_cast<std::uint64_t>(id) >= n)
      data_error(encoder_path, where, fmt::format("id out of range (got {}, expected 0..{})", id, n - 1));
    if (seen[id]) data_error(encoder_path, where, fmt::format("id {} already used by {}", id, quote_bytes(by_id[id])));
    const auto raw = unicode_to_bytes(key);
    if (!raw || raw->empty())
      data_error(encoder_path, where, "not a byte-level token (characters outside GPT-2's bytes_to_unicode table)");
    seen[id] = 1;
    by_id[id] = key;
    vocab.set(key, static_cast<int>(id));
  }
  for (int b = 0; b < 256; ++b)
    if (!vocab.contains(gpt2_byte_to_unicode()[b]))
      data_error(encoder_path, "",
                 fmt::format("byte 0x{:02x} has no token {}", b, quote_bytes(gpt2_byte_to_unicode()[b])));

  const std::string mtext = read_small_file(merges_path);
  std::vector<std::pair<std::string, std::string>> merges;
  merges.reserve(mtext.size() / 8);
  std::unordered_map<std::string, std::size_t> line_of;
  std::size_t line_no = 0;
  for (std::size_t pos = 0; pos < mtext.size();) {
    std::size_t end = mtext.find('\n', pos);
    if (end == std::string::npos) end = mtext.size();
    std::string_view line(mtext.data() + pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || (line_no == 1 && line.starts_with("#version"))) continue;
    const std::string where = fmt::format("line {}", line_no);
    if (invalid_utf8_offset(line) != std::string::npos) data_error(merges_path, where, "not valid UTF-8");
    const std::size_t sp = line.find(' ');
    if (sp == std::string_view::npos || sp == 0 || sp + 1 == line.size() ||
        line.find(' ', sp + 1) != std::string_view::npos)
      data_error(merges_path, where,
                 fmt::format("expected two tokens separated by one space (got {})", quote_bytes(line)));
    const std::string a(line.substr(0, sp)), b(line.substr(sp + 1));
    if (!vocab.contains(a))
      data_error(merges_path, where, fmt::format("token {} is not in {}", quote_bytes(a), encoder_path));
    if (!vocab.contains(b))
      data_error(merges_path, where, fmt::format("token {} is not in {}", quote_bytes(b), encoder_path));
    if (!vocab.contains(a + b))
      data_error(merges_path, where, fmt::format("merged token {} is not in {}", quote_bytes(a + b), encoder_path));
    if (const auto [it, inserted] = line_of.emplace(std::string(line), line_no); !inserted)
      data_error(merges_path, where, fmt::format("merge {} repeats line {}", quote_bytes(line), it->second));
    merges.emplace_back(a, b);
  }
  auto impl = std::make_unique<Impl>();
  impl->files = {encoder_path, merges_path};
  const Where w{merges_path, ""};
  impl->pre = make_byte_level_pre_tokenizer(false, true, w);
  impl->model = make_bpe(std::move(by_id), std::move(vocab), merges, w);
  impl->decoder = make_byte_level_decoder();
  std::vector<AddedToken> added;
  if (impl->model->token_to_id.contains(kEndOfText)) {
    AddedToken t;
    t.content = kEndOfText;
    t.special = true;
    t.normalized = false;
    added.push_back(t);
  }
  impl->finish(added);
  return Tokenizer(std::move(impl));
}

Tokenizer Tokenizer::from_bert_vocab(const std::string& vocab_txt, bool lowercase) {
  const std::string text = read_small_file(vocab_txt);
  if (const auto bad = invalid_utf8_offset(text); bad != std::string::npos)
    data_error(vocab_txt, fmt::format("byte {}", bad), "not valid UTF-8");
  // WordPiece::read_file: one token a line, its id the line index, trailing whitespace trimmed; a
  // repeated token keeps its last line's id (the earlier id is then a hole), as Hugging Face does.
  std::vector<std::string> by_id;
  TokenIndex vocab;
  for (std::size_t pos = 0; pos < text.size();) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(pos, end - pos);
    pos = end + 1;
    while (!line.empty()) {
      std::size_t b = line.size() - 1;
      while (b > 0 && (static_cast<unsigned char>(line[b]) & 0xC0) == 0x80) --b;
      std::size_t i = b;
      if (!uni::is_whitespace(uni::next(line, i))) break;
      line.resize(b);
    }
    const int id = static_cast<int>(by_id.size());
    if (const auto earlier = vocab.find(line)) by_id[*earlier].clear();
    vocab.set(line, id);
    by_id.push_back(line);
  }
  if (by_id.empty()) data_error(vocab_txt, "", "empty vocabulary");
  const Where w{vocab_txt, ""};
  auto impl = std::make_unique<Impl>();
  impl->files = {vocab_txt};
  impl->normalizer = make_bert_normalizer(true, true, std::nullopt, lowercase);
  impl->pre = make_bert_pre_tokenizer();
  impl->model = make_wordpiece(std::move(by_id), std::move(vocab), "[UNK]", "##", 100, w);
  impl->decoder = make_wordpiece_decoder("##", true);
  const auto cls = impl->model->token_to_id.find("[CLS]"), sep = impl->model->token_to_id.find("[SEP]");
  if (!cls || !sep) data_error(vocab_txt, "", "no [CLS] or [SEP] token (expected a BERT vocabulary)");
  impl->post = make_cls_sep_processor(*cls, "[CLS]", *sep, "[SEP]");
  std::vector<AddedToken> added;
  for (const char* s : {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"}) {
    if (!impl->model->token_to_id.contains(s)) continue;
    AddedToken t;
    t.content = s;
    t.special = true;
    t.normalized = false;
    added.push_back(t);
  }
  impl->finish(added);
  return Tokenizer(std::move(impl));
}

std::optional<std::pair<std::string, std::string>> gpt2_tokenizer_files(const std::string& dir) {
  const fs::path d(dir);
  for (const auto& [vocab, merges] : {std::pair{"vocab.json", "merges.txt"}, std::pair{"encoder.json", "vocab.bpe"}}) {
    std::error_code ec;
    if (fs::is_regular_file(d / vocab, ec) && fs::is_regular_file(d / merges, ec))
      return std::pair{(d / vocab).string(), (d / merges).string()};
  }
  return std::nullopt;
}

std::vector<std::string> tokenizer_files(const std::string& dir) {
  const fs::path d(dir);
  std::error_code ec;
  if (fs::is_regular_file(d / "tokenizer.json", ec)) return {(d / "tokenizer.json").string()};
  if (const auto g = gpt2_tokenizer_files(dir)) return {g->first, g->second};
  if (fs::is_regular_file(d / "vocab.txt", ec)) {
    std::vector<std::string> out{(d / "vocab.txt").string()};
    if (fs::is_regular_file(d / "tokenizer_config.json", ec)) out.push_back((d / "tokenizer_config.json").string());
    return out;
  }
  return {};
}

Tokenizer Tokenizer::from_dir(const std::string& dir) {
  const fs::path d(dir);
  std::error_code ec;
  if (fs::is_regular_file(d / "tokenizer.json", ec)) return from_file((d / "tokenizer.json").string());
  if (const auto files = gpt2_tokenizer_files(dir)) return from_gpt2_files(files->first, files->second);
  if (fs::is_regular_file(d / "vocab.txt", ec)) {
    bool lower = true;
    const fs::path cfg = d / "tokenizer_config.json";
    if (fs::is_regular_file(cfg, ec)) {
      const nlohmann::json j = parse_json_lenient(read_small_file(cfg.string()), cfg.string(), "");
      if (!j.is_object()) data_error(cfg.string(), "", fmt::format("expected a JSON object (got {})", j.type_name()));
      lower = get_bool(j, "do_lower_case", Where{cfg.string(), ""}, true);
    }
    auto t = from_bert_vocab((d / "vocab.txt").string(), lower);
    if (fs::is_regular_file(cfg, ec)) t.impl_->files.push_back(cfg.string());
    return t;
  }
  fail(Exit::no_input, dir, "",
       "no tokenizer files here (expected tokenizer.json, vocab.json + merges.txt, encoder.json + vocab.bpe or "
       "vocab.txt) [hint: embedlab fetch gpt2-tokenizer]");
}

std::shared_ptr<const Tokenizer> Tokenizer::shared_from_dir(const std::string& dir) {
  // The identity of what from_dir would read: each file's path, size and modification time.
  std::string key = dir;
  for (const auto& f : tokenizer_files(dir)) {
    std::error_code ec;
    const auto size = fs::file_size(f, ec);
    const auto mtime = fs::last_write_time(f, ec).time_since_epoch().count();
    key += fmt::format("\n{}\t{}\t{}", f, size, mtime);
  }
  static std::mutex mutex;
  static std::deque<std::pair<std::string, std::shared_ptr<const Tokenizer>>> cache;  // most recent first
  constexpr std::size_t kKept = 4;
  {
    const std::lock_guard lock(mutex);
    for (const auto& [k, t] : cache)
      if (k == key) return t;
  }
  auto t = std::make_shared<const Tokenizer>(from_dir(dir));  // outside the lock: loads may overlap
  const std::lock_guard lock(mutex);
  cache.emplace_front(key, t);
  if (cache.size() > kKept) cache.pop_back();
  return t;
}

Tokenizer Tokenizer::from_path(const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) return from_dir(path);
  if (!fs::exists(path, ec)) fail(Exit::no_input, path, "", "no such tokenizer file or directory");
  return from_file(path);
}

std::optional<std::string> find_gpt2_tokenizer_dir(const std::string& model_dir) {
  if (!tokenizer_files(model_dir).empty()) return model_dir;
  std::error_code ec;
  const fs::path model = fs::absolute(model_dir, ec).lexically_normal();
  if (!ec) {
    fs::path dir = model.has_filename() ? model : model.parent_path();  // "a/b/" → "a/b"
    while (dir.has_parent_path() && dir.parent_path() != dir) {
      dir = dir.parent_path();
      for (const char* name : {"gpt2-tokenizer", "gpt2"})
        if (dir / name != model && gpt2_tokenizer_files((dir / name).string())) return (dir / name).string();
    }
  }
  for (const char* d : {"data/gpt2", "../data/gpt2"})
    if (gpt2_tokenizer_files(d)) return std::string(d);
  return std::nullopt;
}

// --- encoding and lookups ------------------------------------------------------------------------

Encoding Tokenizer::encode(std::string_view text, bool add_special, bool parse_special) const {
  Encoding e;
  e.ids.reserve(text.size() / 3 + 4);
  impl_->run(text, add_special, parse_special, false, false, e.ids, &e.tokens);
  return e;
}

std::vector<int> Tokenizer::encode_ids(std::string_view text, bool add_special, bool parse_special) const {
  std::vector<int> ids;
  ids.reserve(text.size() / 3 + 4);
  impl_->run(text, add_special, parse_special, false, false, ids, nullptr);
  return ids;
}

std::vector<int> Tokenizer::word_ids(std::string_view word, bool word_initial) const {
  std::vector<int> ids;
  switch (impl_->style) {
    case WordStyle::byte_level:
      if (word_initial) {
        const bool prefixed = impl_->pre && impl_->pre->adds_prefix();
        impl_->run(prefixed ? std::string(word) : " " + std::string(word), false, false, false, false, ids, nullptr);
      } else {
        impl_->run(word, false, false, true, false, ids, nullptr);
      }
      break;
    case WordStyle::metaspace:
      impl_->run(word, false, false, !word_initial, false, ids, nullptr);
      break;
    case WordStyle::wordpiece:
      impl_->run(word, false, false, false, !word_initial, ids, nullptr);
      break;
    case WordStyle::plain:
      impl_->run(word, false, false, false, false, ids, nullptr);
      break;
  }
  return ids;
}

std::string Tokenizer::decode(const std::vector<int>& ids, bool skip_special) const {
  std::vector<std::string> toks;
  toks.reserve(ids.size());
  for (const int id : ids) {
    const std::string& t = token(id);
    if (skip_special && impl_->special_set.count(t) && impl_->added_map.count(t)) continue;
    toks.push_back(t);
  }
  if (!impl_->decoder) {
    std::string out;
    for (std::size_t i = 0; i < toks.size(); ++i) out += (i ? " " : "") + toks[i];
    return out;
  }
  impl_->decoder->decode(toks);
  std::string out;
  for (const auto& t : toks) out += t;
  return out;
}

const std::string& Tokenizer::token(int id) const {
  if (id < 0 || id >= vocab_size())
    throw Error(Exit::data, fmt::format("tokenizer: token id {} out of range (expected 0..{})", id, vocab_size() - 1));
  return impl_->tokens[static_cast<std::size_t>(id)];
}

const std::string& Tokenizer::token_bytes(int id) const {
  token(id);
  return impl_->bytes[static_cast<std::size_t>(id)];
}

std::optional<int> Tokenizer::id(std::string_view t) const { return impl_->token_to_id(std::string(t)); }

std::optional<int> Tokenizer::id_of_bytes(std::string_view b) const { return impl_->by_bytes.find(b); }

int Tokenizer::vocab_size() const { return static_cast<int>(impl_->tokens.size()); }
std::size_t Tokenizer::merge_count() const { return impl_->model->merge_count(); }
int Tokenizer::eot_id() const { return impl_->eot; }
bool Tokenizer::is_special(int id) const {
  const auto it = impl_->added_by_id.find(id);
  return it != impl_->added_by_id.end() && it->second.special;
}
WordStyle Tokenizer::word_style() const { return impl_->style; }
const std::string& Tokenizer::describe() const { return impl_->description; }
const std::vector<std::string>& Tokenizer::files() const { return impl_->files; }
const std::vector<std::string>& Tokenizer::model_tokens() const { return impl_->model->id_to_token; }
const std::vector<std::pair<std::string, std::uint64_t>>& Tokenizer::listed_added_tokens() const {
  return impl_->listed_added;
}
bool Tokenizer::repeated_json_keys() const { return impl_->repeated_json_keys; }

}  // namespace embedlab::tok
