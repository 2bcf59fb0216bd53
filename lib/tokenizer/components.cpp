#include "tokenizer/components.hpp"

#include "core/error.hpp"
#include "tokenizer/tokenizer.hpp"
#include "tokenizer/unicode.hpp"

#include <algorithm>
#include <queue>
#include <stdexcept>

namespace embedlab::tok {

namespace {

using Matches = std::vector<std::pair<std::pair<std::size_t, std::size_t>, bool>>;  // ((start, end), is_match)

std::string json_kind(const nlohmann::json& v) { return v.is_null() ? "null" : v.type_name(); }

}  // namespace

// --- JSON helpers ------------------------------------------------------------------------------

const nlohmann::json& member(const nlohmann::json& j, const char* key, const Where& w) {
  if (!j.is_object()) data_error(w.file, w.path, fmt::format("expected a JSON object (got {})", json_kind(j)));
  const auto it = j.find(key);
  if (it == j.end()) data_error(w.file, w.path, fmt::format("missing key '{}'", key));
  return *it;
}

std::string get_string(const nlohmann::json& j, const char* key, const Where& w) {
  const auto& v = member(j, key, w);
  if (!v.is_string()) data_error(w.file, w.at(key).path, fmt::format("expected a string (got {})", json_kind(v)));
  return v.get<std::string>();
}

bool get_bool(const nlohmann::json& j, const char* key, const Where& w, bool fallback) {
  const auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  if (!it->is_boolean()) data_error(w.file, w.at(key).path, fmt::format("expected true or false (got {})", it->dump()));
  return it->get<bool>();
}

std::size_t get_size(const nlohmann::json& j, const char* key, const Where& w, std::size_t fallback) {
  const auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  if (!it->is_number_unsigned())
    data_error(w.file, w.at(key).path, fmt::format("expected a non-negative integer (got {})", it->dump()));
  return it->get<std::size_t>();
}

std::string type_of(const nlohmann::json& j, const Where& w) {
  if (!j.is_object()) data_error(w.file, w.path, fmt::format("expected a JSON object (got {})", json_kind(j)));
  return get_string(j, "type", w);
}

void unsupported(const std::string& kind, const std::string& type, const Where& w) {
  data_error(w.file, w.path, fmt::format("unsupported {} type '{}'", kind, type));
}

// A single character option ("replacement": "▁").
std::string get_char(const nlohmann::json& j, const char* key, const Where& w) {
  const std::string s = get_string(j, key, w);
  if (invalid_utf8_offset(s) != std::string::npos || uni::count_chars(s) != 1)
    data_error(w.file, w.at(key).path, fmt::format("expected one character (got {})", quote_bytes(s)));
  return s;
}

// {"String": "x"} or {"Regex": "x"}.
Regex get_pattern(const nlohmann::json& j, const char* key, const Where& w) {
  const auto& p = member(j, key, w);
  const Where pw = w.at(key);
  if (!p.is_object() || p.size() != 1)
    data_error(pw.file, pw.path, fmt::format("expected {{\"String\": ...}} or {{\"Regex\": ...}} (got {})", p.dump()));
  if (p.contains("String")) return Regex(get_string(p, "String", pw), true, pw.file, pw.at("String").path);
  if (p.contains("Regex")) return Regex(get_string(p, "Regex", pw), false, pw.file, pw.at("Regex").path);
  data_error(pw.file, pw.path, fmt::format("expected a String or Regex pattern (got {})", p.dump()));
}

// --- byte-level table --------------------------------------------------------------------------

const std::array<std::string, 256>& gpt2_byte_to_unicode() {
  // Printable Latin-1 bytes stand for themselves; the other 68 map to U+0100.. in byte order.
  static const std::array<std::string, 256> table = [] {
    std::array<std::string, 256> t;
    std::uint32_t next = 256;
    for (std::uint32_t b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      uni::append_utf8(t[b], printable ? b : next++);
    }
    return t;
  }();
  return table;
}

int byte_of_char(std::uint32_t cp) {
  static const std::array<int, 324> inverse = [] {
    std::array<int, 324> inv;
    inv.fill(-1);
    const auto& t = gpt2_byte_to_unicode();
    for (int b = 0; b < 256; ++b) {
      std::size_t i = 0;
      inv[uni::next(t[b], i)] = b;
    }
    return inv;
  }();
  return cp < inverse.size() ? inverse[cp] : -1;
}

std::string bytes_to_unicode(std::string_view bytes) {
  const auto& t = gpt2_byte_to_unicode();
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const char c : bytes) out += t[static_cast<unsigned char>(c)];
  return out;
}

std::optional<std::string> unicode_to_bytes(std::string_view s) {
  if (invalid_utf8_offset(s) != std::string::npos) return std::nullopt;
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    const int b = byte_of_char(uni::next(s, i));
    if (b < 0) return std::nullopt;
    out += static_cast<char>(b);
  }
  return out;
}

// --- splitting (NormalizedString::split) ------------------------------------------------------

namespace {

enum class Behavior { removed, isolated, merged_with_previous, merged_with_next, contiguous };

Behavior get_behavior(const nlohmann::json& j, const Where& w, Behavior fallback) {
  const auto it = j.find("behavior");
  if (it == j.end() || it->is_null()) return fallback;
  const std::string b = it->is_string() ? it->get<std::string>() : it->dump();
  if (b == "Removed") return Behavior::removed;
  if (b == "Isolated") return Behavior::isolated;
  if (b == "MergedWithPrevious") return Behavior::merged_with_previous;
  if (b == "MergedWithNext") return Behavior::merged_with_next;
  if (b == "Contiguous") return Behavior::contiguous;
  data_error(w.file, w.at("behavior").path,
             fmt::format("unsupported split behavior '{}' (expected Removed, Isolated, MergedWithPrevious, "
                         "MergedWithNext or Contiguous)",
                         b));
}

// Matches of a regex as HF's Pattern::find_matches: the whole string covered, matches flagged.
void regex_matches(const Regex& re, std::string_view s, Matches& out) {
  out.clear();
  if (s.empty()) {
    out.push_back({{0, 0}, false});
    return;
  }
  thread_local std::vector<std::pair<std::size_t, std::size_t>> found;
  re.find_all(s, found);
  std::size_t prev = 0;
  for (const auto& [b, e] : found) {
    if (prev != b) out.push_back({{prev, b}, false});
    out.push_back({{b, e}, true});
    prev = e;
  }
  if (prev != s.size()) out.push_back({{prev, s.size()}, false});
}

// Matches of a character predicate: every matching character is one match.
template <class Pred>
void char_matches(std::string_view s, Pred pred, Matches& out) {
  out.clear();
  if (s.empty()) {
    out.push_back({{0, 0}, false});
    return;
  }
  std::size_t last = 0;
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t start = i;
    const std::uint32_t c = uni::next(s, i);
    if (pred(c)) {
      if (last < start) out.push_back({{last, start}, false});
      out.push_back({{start, i}, true});
      last = i;
    }
  }
  if (last < s.size()) out.push_back({{last, s.size()}, false});
}

// Applies a split behavior to the matches of one piece and appends the non-empty parts.
void split_piece(const Piece& p, Matches& m, Behavior behavior, bool invert, std::vector<Piece>& out) {
  if (invert)
    for (auto& x : m) x.second = !x.second;
  // (offsets, remove)
  std::vector<std::pair<std::pair<std::size_t, std::size_t>, bool>> splits;
  splits.reserve(m.size());
  switch (behavior) {
    case Behavior::isolated:
      for (const auto& x : m) splits.push_back({x.first, false});
      break;
    case Behavior::removed:
      splits = m;
      break;
    case Behavior::contiguous: {
      bool previous = false;
      for (const auto& [off, is_match] : m) {
        if (is_match == previous && !splits.empty())
          splits.back().first.second = off.second;
        else
          splits.push_back({off, false});
        previous = is_match;
      }
      break;
    }
    case Behavior::merged_with_previous: {
      bool previous = false;
      for (const auto& [off, is_match] : m) {
        if (is_match && !previous && !splits.empty())
          splits.back().first.second = off.second;
        else
          splits.push_back({off, false});
        previous = is_match;
      }
      break;
    }
    case Behavior::merged_with_next: {
      bool previous = false;
      for (auto it = m.rbegin(); it != m.rend(); ++it) {
        const auto& [off, is_match] = *it;
        if (is_match && !previous && !splits.empty())
          splits.back().first.first = off.first;
        else
          splits.push_back({off, false});
        previous = is_match;
      }
      std::reverse(splits.begin(), splits.end());
      break;
    }
  }
  for (const auto& [off, remove] : splits) {
    if (remove || off.second <= off.first) continue;
    Piece q;
    q.text = p.text.substr(off.first, off.second - off.first);
    q.at_start = p.at_start && off.first == 0;
    out.push_back(std::move(q));
  }
}

// Runs `fn(piece, out)` on every splittable piece, keeping added tokens and raw pieces in place.
template <class Fn>
void for_each_split(std::vector<Piece>& pieces, Fn fn) {
  std::vector<Piece> out;
  out.reserve(pieces.size() + 4);
  for (auto& p : pieces) {
    if (p.id >= 0 || p.raw) {
      out.push_back(std::move(p));
      continue;
    }
    fn(p, out);
  }
  pieces.swap(out);
}

}  // namespace

// --- normalizers -------------------------------------------------------------------------------

namespace {

class UnicodeNormalizer final : public Normalizer {
 public:
  explicit UnicodeNormalizer(uni::Form f) : form_(f) {}
  void normalize(std::string& s) const override { s = uni::normalize(s, form_); }

 private:
  uni::Form form_;
};

class LowercaseNormalizer final : public Normalizer {
 public:
  void normalize(std::string& s) const override { s = uni::lowercase(s); }
};

class StripNormalizer final : public Normalizer {
 public:
  StripNormalizer(bool left, bool right) : left_(left), right_(right) {}
  void normalize(std::string& s) const override {
    std::size_t b = 0, e = s.size();
    if (left_) {
      while (b < e) {
        std::size_t i = b;
        if (!uni::is_whitespace(uni::next(s, i))) break;
        b = i;
      }
    }
    if (right_) {
      while (e > b) {
        std::size_t start = e - 1;
        while (start > b && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80) --start;
        std::size_t i = start;
        if (!uni::is_whitespace(uni::next(s, i))) break;
        e = start;
      }
    }
    s = s.substr(b, e - b);
  }

 private:
  bool left_, right_;
};

class StripAccentsNormalizer final : public Normalizer {
 public:
  void normalize(std::string& s) const override {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size();) {
      const std::size_t start = i;
      if (!uni::is_mark(uni::next(s, i))) out.append(s, start, i - start);
    }
    s.swap(out);
  }
};

// Replaces every match of a pattern (NormalizedString::replace).
std::string replace_all(const Regex& re, std::string_view s, std::string_view content) {
  thread_local std::vector<std::pair<std::size_t, std::size_t>> found;
  re.find_all(s, found);
  if (found.empty()) return std::string(s);
  std::string out;
  out.reserve(s.size());
  std::size_t prev = 0;
  for (const auto& [b, e] : found) {
    out.append(s.substr(prev, b - prev));
    out.append(content);
    prev = e;
  }
  out.append(s.substr(prev));
  return out;
}

class ReplaceNormalizer final : public Normalizer {
 public:
  ReplaceNormalizer(Regex re, std::string content) : re_(std::move(re)), content_(std::move(content)) {}
  void normalize(std::string& s) const override { s = replace_all(re_, s, content_); }

 private:
  Regex re_;
  std::string content_;
};

class PrependNormalizer final : public Normalizer {
 public:
  explicit PrependNormalizer(std::string p) : prepend_(std::move(p)) {}
  void normalize(std::string& s) const override {
    if (!s.empty()) s = prepend_ + s;
  }
  bool prepends() const override { return true; }
  void normalize_no_prepend(std::string&) const override {}

 private:
  std::string prepend_;
};

class BertNormalizer final : public Normalizer {
 public:
  BertNormalizer(bool clean, bool chinese, bool strip, bool lower)
      : clean_(clean), chinese_(chinese), strip_(strip), lower_(lower) {}
  void normalize(std::string& s) const override {
    std::string out;
    out.reserve(s.size() + 8);
    for (std::size_t i = 0; i < s.size();) {
      const std::size_t start = i;
      const std::uint32_t c = uni::next(s, i);
      if (clean_) {
        if (c == 0 || c == 0xFFFD || uni::is_control_bert(c)) continue;
        if (c == '\t' || c == '\n' || c == '\r' || uni::is_whitespace(c)) {
          out += ' ';
          continue;
        }
      }
      if (chinese_ && uni::is_chinese_char(c)) {
        out += ' ';
        out.append(s, start, i - start);
        out += ' ';
        continue;
      }
      out.append(s, start, i - start);
    }
    if (strip_) {
      const std::string d = uni::normalize(out, uni::Form::nfd);
      out.clear();
      for (std::size_t i = 0; i < d.size();) {
        const std::size_t start = i;
        if (!uni::is_nonspacing_mark(uni::next(d, i))) out.append(d, start, i - start);
      }
    }
    if (lower_) out = uni::lowercase(out);
    s.swap(out);
  }

 private:
  bool clean_, chinese_, strip_, lower_;
};

class ByteLevelNormalizer final : public Normalizer {
 public:
  void normalize(std::string& s) const override { s = bytes_to_unicode(s); }
};

class SequenceNormalizer final : public Normalizer {
 public:
  explicit SequenceNormalizer(std::vector<std::unique_ptr<Normalizer>> parts) : parts_(std::move(parts)) {}
  void normalize(std::string& s) const override {
    for (const auto& p : parts_) p->normalize(s);
  }
  bool prepends() const override {
    return std::any_of(parts_.begin(), parts_.end(), [](const auto& p) { return p->prepends(); });
  }
  void normalize_no_prepend(std::string& s) const override {
    for (const auto& p : parts_) p->normalize_no_prepend(s);
  }

 private:
  std::vector<std::unique_ptr<Normalizer>> parts_;
};

}  // namespace

std::unique_ptr<Normalizer> make_bert_normalizer(bool clean_text, bool chinese, std::optional<bool> strip_accents,
                                                 bool lowercase) {
  return std::make_unique<BertNormalizer>(clean_text, chinese, strip_accents.value_or(lowercase), lowercase);
}

std::unique_ptr<Normalizer> make_normalizer(const nlohmann::json& j, const Where& w) {
  const std::string t = type_of(j, w);
  if (t == "NFC") return std::make_unique<UnicodeNormalizer>(uni::Form::nfc);
  if (t == "NFD") return std::make_unique<UnicodeNormalizer>(uni::Form::nfd);
  if (t == "NFKC") return std::make_unique<UnicodeNormalizer>(uni::Form::nfkc);
  if (t == "NFKD") return std::make_unique<UnicodeNormalizer>(uni::Form::nfkd);
  if (t == "Lowercase") return std::make_unique<LowercaseNormalizer>();
  if (t == "Strip")
    return std::make_unique<StripNormalizer>(get_bool(j, "strip_left", w, true), get_bool(j, "strip_right", w, true));
  if (t == "StripAccents") return std::make_unique<StripAccentsNormalizer>();
  if (t == "Replace")
    return std::make_unique<ReplaceNormalizer>(get_pattern(j, "pattern", w), get_string(j, "content", w));
  if (t == "Prepend") return std::make_unique<PrependNormalizer>(get_string(j, "prepend", w));
  if (t == "ByteLevel") return std::make_unique<ByteLevelNormalizer>();
  if (t == "BertNormalizer") {
    std::optional<bool> strip;
    if (const auto it = j.find("strip_accents"); it != j.end() && !it->is_null())
      strip = get_bool(j, "strip_accents", w, false);
    return make_bert_normalizer(get_bool(j, "clean_text", w, true), get_bool(j, "handle_chinese_chars", w, true), strip,
                                get_bool(j, "lowercase", w, true));
  }
  if (t == "Sequence") {
    const auto& list = member(j, "normalizers", w);
    const Where lw = w.at("normalizers");
    if (!list.is_array()) data_error(lw.file, lw.path, fmt::format("expected an array (got {})", json_kind(list)));
    std::vector<std::unique_ptr<Normalizer>> parts;
    for (std::size_t i = 0; i < list.size(); ++i) parts.push_back(make_normalizer(list[i], lw.index(i)));
    return std::make_unique<SequenceNormalizer>(std::move(parts));
  }
  unsupported("normalizer", t, w);
}

// --- pre-tokenizers ----------------------------------------------------------------------------

namespace {

constexpr const char* kGpt2Pattern = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

class ByteLevelPreTokenizer final : public PreTokenizer {
 public:
  ByteLevelPreTokenizer(bool prefix, bool use_regex, const Where& w) : prefix_(prefix) {
    if (use_regex) re_.emplace(kGpt2Pattern, false, w.file, w.path);
  }
  void pre_tokenize(std::vector<Piece>& pieces, bool no_prefix) const override {
    thread_local Matches m;
    std::vector<Piece> out;
    out.reserve(pieces.size() * 2);
    for (auto& p : pieces) {
      if (p.id >= 0) {
        out.push_back(std::move(p));
        continue;
      }
      if (p.raw) {  // invalid UTF-8: its bytes, mapped like any others
        p.text = bytes_to_unicode(p.text);
        p.raw = false;
        out.push_back(std::move(p));
        continue;
      }
      if (prefix_ && !no_prefix && (p.text.empty() || p.text[0] != ' ')) p.text = " " + p.text;
      const std::size_t first = out.size();
      if (re_) {
        regex_matches(*re_, p.text, m);
        split_piece(p, m, Behavior::isolated, false, out);
      } else if (!p.text.empty()) {
        out.push_back(std::move(p));
      }
      for (std::size_t k = first; k < out.size(); ++k) out[k].text = bytes_to_unicode(out[k].text);
    }
    pieces.swap(out);
  }
  bool is_byte_level() const override { return true; }
  bool adds_prefix() const override { return prefix_; }

 private:
  bool prefix_;
  std::optional<Regex> re_;
};

class SplitPreTokenizer final : public PreTokenizer {
 public:
  SplitPreTokenizer(Regex re, Behavior b, bool invert) : re_(std::move(re)), behavior_(b), invert_(invert) {}
  void pre_tokenize(std::vector<Piece>& pieces, bool) const override {
    thread_local Matches m;
    for_each_split(pieces, [&](Piece& p, std::vector<Piece>& out) {
      regex_matches(re_, p.text, m);
      split_piece(p, m, behavior_, invert_, out);
    });
  }

 private:
  Regex re_;
  Behavior behavior_;
  bool invert_;
};

// Whitespace: \w+|[^\w\s]+ (regex crate classes), the rest removed.
class WhitespacePreTokenizer final : public PreTokenizer {
 public:
  void pre_tokenize(std::vector<Piece>& pieces, bool) const override {
    for_each_split(pieces, [&](Piece& p, std::vector<Piece>& out) {
      const std::string& s = p.text;
      std::size_t i = 0;
      int run = -1;  // 0 word, 1 other
      std::size_t run_start = 0;
      const auto flush = [&](std::size_t end) {
        if (run >= 0 && end > run_start) {
          Piece q;
          q.text = s.substr(run_start, end - run_start);
          q.at_start = p.at_start && run_start == 0;
          out.push_back(std::move(q));
        }
        run = -1;
      };
      while (i < s.size()) {
        const std::size_t start = i;
        const std::uint32_t c = uni::next(s, i);
        const int kind = uni::is_alphanumeric_word(c) ? 0 : uni::is_whitespace(c) ? 2 : 1;
        if (kind == 2) {
          flush(start);
          continue;
        }
        if (kind != run) {
          flush(start);
          run = kind;
          run_start = start;
        }
      }
      flush(s.size());
    });
  }
};

template <class Pred>
class CharSplitPreTokenizer final : public PreTokenizer {
 public:
  CharSplitPreTokenizer(Pred pred, Behavior b) : pred_(pred), behavior_(b) {}
  void pre_tokenize(std::vector<Piece>& pieces, bool) const override {
    thread_local Matches m;
    for_each_split(pieces, [&](Piece& p, std::vector<Piece>& out) {
      char_matches(p.text, pred_, m);
      split_piece(p, m, behavior_, false, out);
    });
  }

 private:
  Pred pred_;
  Behavior behavior_;
};

template <class Pred>
std::unique_ptr<PreTokenizer> char_split(Pred pred, Behavior b) {
  return std::make_unique<CharSplitPreTokenizer<Pred>>(pred, b);
}

class BertPreTokenizer final : public PreTokenizer {
 public:
  void pre_tokenize(std::vector<Piece>& pieces, bool) const override {
    thread_local Matches m;
    for_each_split(pieces, [&](Piece& p, std::vector<Piece>& out) {
      char_matches(p.text, uni::is_whitespace, m);
      std::vector<Piece> words;
      split_piece(p, m, Behavior::removed, false, words);
      for (const auto& wp : words) {
        char_matches(wp.text, uni::is_punctuation, m);
        split_piece(wp, m, Behavior::isolated, false, out);
      }
    });
  }
};

enum class Prepend { always, first, never };

class MetaspacePreTokenizer final : public PreTokenizer {
 public:
  MetaspacePreTokenizer(std::string rep, Prepend scheme, bool split)
      : rep_(std::move(rep)), scheme_(scheme), split_(split) {}
  void pre_tokenize(std::vector<Piece>& pieces, bool no_prefix) const override {
    thread_local Matches m;
    for_each_split(pieces, [&](Piece& p, std::vector<Piece>& out) {
      std::string s;
      s.reserve(p.text.size() + rep_.size());
      for (const char c : p.text) {
        if (c == ' ')
          s += rep_;
        else
          s += c;
      }
      const bool starts = s.compare(0, rep_.size(), rep_) == 0;
      if (!no_prefix && !starts && (scheme_ == Prepend::always || (scheme_ == Prepend::first && p.at_start)))
        s = rep_ + s;
      p.text = std::move(s);
      if (!split_) {
        if (!p.text.empty()) out.push_back(std::move(p));
        return;
      }
      // Split on the replacement, MergedWithNext.
      m.clear();
      std::size_t last = 0;
      for (std::size_t pos = 0; (pos = p.text.find(rep_, pos)) != std::string::npos; pos += rep_.size()) {
        if (last < pos) m.push_back({{last, pos}, false});
        m.push_back({{pos, pos + rep_.size()}, true});
        last = pos + rep_.size();
      }
      if (last < p.text.size() || m.empty()) m.push_back({{last, p.text.size()}, false});
      split_piece(p, m, Behavior::merged_with_next, false, out);
    });
  }
  bool adds_prefix() const override { return scheme_ != Prepend::never; }
  std::optional<std::string> metaspace() const override { return rep_; }

 private:
  std::string rep_;
  Prepend scheme_;
  bool split_;
};

class SequencePreTokenizer final : public PreTokenizer {
 public:
  explicit SequencePreTokenizer(std::vector<std::unique_ptr<PreTokenizer>> parts) : parts_(std::move(parts)) {}
  void pre_tokenize(std::vector<Piece>& pieces, bool no_prefix) const override {
    for (const auto& p : parts_) p->pre_tokenize(pieces, no_prefix);
  }
  bool is_byte_level() const override {
    return std::any_of(parts_.begin(), parts_.end(), [](const auto& p) { return p->is_byte_level(); });
  }
  bool adds_prefix() const override {
    return std::any_of(parts_.begin(), parts_.end(), [](const auto& p) { return p->adds_prefix(); });
  }
  std::optional<std::string> metaspace() const override {
    for (const auto& p : parts_)
      if (auto m = p->metaspace()) return m;
    return std::nullopt;
  }

 private:
  std::vector<std::unique_ptr<PreTokenizer>> parts_;
};

Prepend metaspace_scheme(const nlohmann::json& j, const Where& w) {
  if (const auto it = j.find("prepend_scheme"); it != j.end() && !it->is_null()) {
    const std::string s = get_string(j, "prepend_scheme", w);
    if (s == "always") return Prepend::always;
    if (s == "first") return Prepend::first;
    if (s == "never") return Prepend::never;
    data_error(w.file, w.at("prepend_scheme").path,
               fmt::format("unsupported prepend_scheme '{}' (expected always, first or never)", s));
  }
  return get_bool(j, "add_prefix_space", w, true) ? Prepend::always : Prepend::never;
}

}  // namespace

std::unique_ptr<PreTokenizer> make_byte_level_pre_tokenizer(bool add_prefix_space, bool use_regex, const Where& w) {
  return std::make_unique<ByteLevelPreTokenizer>(add_prefix_space, use_regex, w);
}

std::unique_ptr<PreTokenizer> make_bert_pre_tokenizer() { return std::make_unique<BertPreTokenizer>(); }

std::unique_ptr<PreTokenizer> make_pre_tokenizer(const nlohmann::json& j, const Where& w) {
  const std::string t = type_of(j, w);
  if (t == "ByteLevel")
    return make_byte_level_pre_tokenizer(get_bool(j, "add_prefix_space", w, true), get_bool(j, "use_regex", w, true),
                                         w);
  if (t == "Split") {
    const auto invert = get_bool(j, "invert", w, false);
    return std::make_unique<SplitPreTokenizer>(get_pattern(j, "pattern", w), get_behavior(j, w, Behavior::isolated),
                                               invert);
  }
  if (t == "Whitespace") return std::make_unique<WhitespacePreTokenizer>();
  if (t == "WhitespaceSplit") return char_split(uni::is_whitespace, Behavior::removed);
  if (t == "Punctuation") return char_split(uni::is_punctuation, get_behavior(j, w, Behavior::isolated));
  if (t == "Digits")
    return char_split(uni::is_numeric,
                      get_bool(j, "individual_digits", w, false) ? Behavior::isolated : Behavior::contiguous);
  if (t == "CharDelimiterSplit") {
    const std::string d = get_char(j, "delimiter", w);
    std::size_t i = 0;
    const std::uint32_t cp = uni::next(d, i);
    return char_split([cp](std::uint32_t c) { return c == cp; }, Behavior::removed);
  }
  if (t == "BertPreTokenizer") return make_bert_pre_tokenizer();
  if (t == "Metaspace")
    return std::make_unique<MetaspacePreTokenizer>(get_char(j, "replacement", w), metaspace_scheme(j, w),
                                                   get_bool(j, "split", w, true));
  if (t == "Sequence") {
    const auto& list = member(j, "pretokenizers", w);
    const Where lw = w.at("pretokenizers");
    if (!list.is_array()) data_error(lw.file, lw.path, fmt::format("expected an array (got {})", json_kind(list)));
    std::vector<std::unique_ptr<PreTokenizer>> parts;
    for (std::size_t i = 0; i < list.size(); ++i) parts.push_back(make_pre_tokenizer(list[i], lw.index(i)));
    return std::make_unique<SequencePreTokenizer>(std::move(parts));
  }
  unsupported("pre-tokenizer", t, w);
}

// --- models ------------------------------------------------------------------------------------

namespace {

std::uint64_t pair_key(int a, int b) { return (std::uint64_t(std::uint32_t(a)) << 32) | std::uint32_t(b); }

constexpr std::size_t kMaxCachedWord = 256;
constexpr std::size_t kMaxCacheEntries = std::size_t{1} << 18;

// A bounded word → ids cache shared by the threads that encode (results never depend on it).
class WordCache {
 public:
  bool get(std::string_view w, std::vector<int>& out) const {
    if (w.size() > kMaxCachedWord) return false;
    std::lock_guard lock(mutex_);
    const auto it = map_.find(std::string(w));
    if (it == map_.end()) return false;
    out.insert(out.end(), it->second.begin(), it->second.end());
    return true;
  }
  void put(std::string_view w, const int* ids, std::size_t n) const {
    if (w.size() > kMaxCachedWord) return;
    std::lock_guard lock(mutex_);
    if (map_.size() >= kMaxCacheEntries) map_.clear();
    map_.emplace(std::string(w), std::vector<int>(ids, ids + n));
  }

 private:
  mutable std::mutex mutex_;
  mutable std::unordered_map<std::string, std::vector<int>> map_;
};

struct MergeTarget {
  std::uint32_t rank;
  int id;
};

// The merges keyed by pair_key(a, b): a flat open-addressing table (linear probing, at most half
// full), one allocation for Llama-3's 280k merges instead of one node each.
class MergeTable {
 public:
  using value_type = std::pair<std::uint64_t, MergeTarget>;
  void reserve(std::size_t n) {
    if (2 * n > slots_.size()) rehash(n);
  }
  // Inserts or replaces (a repeated pair keeps the later rank).
  void set(std::uint64_t key, MergeTarget t) {
    if (2 * (size_ + 1) > slots_.size()) rehash(2 * size_ + 8);
    value_type& v = slots_[probe(key)];
    if (v.first == kEmpty) {
      v.first = key;
      ++size_;
    }
    v.second = t;
  }
  const value_type* find(std::uint64_t key) const {
    if (slots_.empty()) return nullptr;
    const value_type& v = slots_[probe(key)];
    return v.first == kEmpty ? nullptr : &v;
  }
  const value_type* end() const { return nullptr; }
  std::size_t size() const { return size_; }
  void prefetch(std::uint64_t key) const {
    if (!slots_.empty()) __builtin_prefetch(&slots_[slot_of(key)]);
  }

 private:
  static constexpr std::uint64_t kEmpty = ~std::uint64_t(0);  // ids are < 2^31: never a key
  std::size_t slot_of(std::uint64_t key) const {
    return static_cast<std::size_t>((key * 0x9E3779B97F4A7C15ull) >> 20) & mask_;
  }
  std::size_t probe(std::uint64_t key) const {
    std::size_t s = slot_of(key);
    while (slots_[s].first != kEmpty && slots_[s].first != key) s = (s + 1) & mask_;
    return s;
  }
  void rehash(std::size_t n) {
    std::size_t cap = 16;
    while (cap < 2 * n) cap *= 2;
    std::vector<value_type> old(cap, value_type{kEmpty, MergeTarget{}});
    old.swap(slots_);
    mask_ = cap - 1;
    for (const auto& v : old)
      if (v.first != kEmpty) slots_[probe(v.first)] = v;
  }
  std::vector<value_type> slots_;
  std::size_t mask_ = 0, size_ = 0;
};

class BpeModel final : public Model {
 public:
  MergeTable merges;
  std::optional<std::string> unk;
  int unk_id = -1;
  std::string prefix, suffix;
  bool fuse_unk = false, byte_fallback = false, ignore_merges = false;
  std::array<int, 256> byte_token{};  // id of "<0xXX>", or -1

  std::string kind() const override { return "BPE"; }
  std::size_t merge_count() const override { return merges.size(); }

  void tokenize(std::string_view word, std::vector<int>& out, bool) const override {
    if (word.empty()) return;
    if (ignore_merges) {
      if (const auto id = token_to_id.find(word)) {
        out.push_back(*id);
        return;
      }
    }
    if (cache_.get(word, out)) return;
    const std::size_t start = out.size();
    bpe(word, out);
    cache_.put(word, out.data() + start, out.size() - start);
  }

 private:
  WordCache cache_;

  std::optional<int> lookup(std::string_view s) const { return token_to_id.find(s); }

  void bpe(std::string_view w, std::vector<int>& out) const {
    std::vector<int> sym;  // initial symbols
    sym.reserve(w.size());
    int pending_unk = 0;  // 0: none; else count (fuse_unk keeps it at 1)
    const auto flush_unk = [&] {
      for (; pending_unk > 0; --pending_unk) sym.push_back(unk_id);
    };
    std::string s;
    for (std::size_t i = 0; i < w.size();) {
      const std::size_t start = i;
      std::size_t len = uni::char_len(w, i);
      if (len == 0) len = 1;
      i += len;
      s.clear();
      if (!prefix.empty() && start > 0) s += prefix;
      s.append(w.substr(start, len));
      if (!suffix.empty() && i >= w.size()) s += suffix;
      if (const auto id = lookup(s)) {
        flush_unk();
        sym.push_back(*id);
        continue;
      }
      if (byte_fallback) {
        bool all = true;
        for (const char c : s) all = all && byte_token[static_cast<unsigned char>(c)] >= 0;
        if (all) {
          for (const char c : s) sym.push_back(byte_token[static_cast<unsigned char>(c)]);
          continue;
        }
      }
      if (unk) {
        if (pending_unk > 0 && fuse_unk) continue;
        if (pending_unk > 0) flush_unk();
        pending_unk = 1;
      }
    }
    flush_unk();
    merge_all(sym, out);
  }

  void merge_all(std::vector<int>& id, std::vector<int>& out) const {
    const int n = static_cast<int>(id.size());
    if (n <= 1) {
      out.insert(out.end(), id.begin(), id.end());
      return;
    }
    std::vector<int> prev(n), next(n);
    std::vector<char> alive(n, 1);
    for (int i = 0; i < n; ++i) {
      prev[i] = i - 1;
      next[i] = i + 1 < n ? i + 1 : -1;
    }
    struct Cand {
      std::uint32_t rank;
      int pos;
      int new_id;
      bool operator>(const Cand& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
    };
    std::vector<Cand> storage;
    storage.reserve(static_cast<std::size_t>(n));
    std::priority_queue<Cand, std::vector<Cand>, std::greater<>> heap(std::greater<>(), std::move(storage));
    for (int i = 0; i + 1 < n; ++i)
      if (const auto it = merges.find(pair_key(id[i], id[i + 1])); it != merges.end())
        heap.push({it->second.rank, i, it->second.id});
    while (!heap.empty()) {
      const Cand top = heap.top();
      heap.pop();
      if (!alive[top.pos] || next[top.pos] < 0) continue;
      const int right = next[top.pos];
      const auto it = merges.find(pair_key(id[top.pos], id[right]));
      if (it == merges.end() || it->second.id != top.new_id) continue;
      id[top.pos] = top.new_id;
      alive[right] = 0;
      next[top.pos] = next[right];
      if (next[right] >= 0) prev[next[right]] = top.pos;
      if (prev[top.pos] >= 0)
        if (const auto p = merges.find(pair_key(id[prev[top.pos]], id[top.pos])); p != merges.end())
          heap.push({p->second.rank, prev[top.pos], p->second.id});
      if (next[top.pos] >= 0)
        if (const auto q = merges.find(pair_key(id[top.pos], id[next[top.pos]])); q != merges.end())
          heap.push({q->second.rank, top.pos, q->second.id});
    }
    for (int i = 0; i >= 0; i = next[i]) out.push_back(id[i]);
  }
};

class WordPieceModel final : public Model {
 public:
  std::string unk, prefix;
  int unk_id = -1;
  std::size_t max_chars = 100;

  std::string kind() const override { return "WordPiece"; }

  void tokenize(std::string_view w, std::vector<int>& out, bool continuation) const override {
    if (uni::count_chars(w) > max_chars) {
      out.push_back(unk_id);
      return;
    }
    const std::size_t first = out.size();
    std::size_t start = 0;
    std::string sub;
    while (start < w.size()) {
      std::size_t end = w.size();
      int found = -1;
      while (start < end) {
        sub.clear();
        if (start > 0 || continuation) sub += prefix;
        sub.append(w.substr(start, end - start));
        if (const auto id = token_to_id.find(sub)) {
          found = *id;
          break;
        }
        // Drop the last character.
        std::size_t k = end - 1;
        while (k > start && (static_cast<unsigned char>(w[k]) & 0xC0) == 0x80) --k;
        end = k;
      }
      if (found < 0) {
        out.resize(first);
        out.push_back(unk_id);
        return;
      }
      out.push_back(found);
      start = end;
    }
  }
};

class WordLevelModel final : public Model {
 public:
  int unk_id = -1;
  std::string kind() const override { return "WordLevel"; }
  void tokenize(std::string_view w, std::vector<int>& out, bool) const override {
    if (const auto id = token_to_id.find(w))
      out.push_back(*id);
    else if (unk_id >= 0)
      out.push_back(unk_id);
    else
      throw Error(Exit::data, fmt::format("tokenizer: WordLevel has no token for {} and no unk_token", quote_bytes(w)));
  }
};

// The model's "vocab": token → id, ids checked dense enough to index.
void read_vocab(const nlohmann::json& j, const Where& w, Model& m, const ModelTables* tables) {
  const auto& v = member(j, "vocab", w);
  const Where vw = w.at("vocab");
  if (!v.is_object())
    data_error(vw.file, vw.path, fmt::format("expected an object of token → id (got {})", json_kind(v)));
  std::vector<std::pair<std::string, std::int64_t>> from_json;
  const auto* entries = tables && tables->has_vocab ? &tables->vocab : &from_json;
  if (entries == &from_json) {
    from_json.reserve(v.size());
    for (const auto& [key, value] : v.items()) {
      if (!value.is_number_integer())
        data_error(vw.file, fmt::format("{}[{}]", vw.path, quote_bytes(key)),
                   fmt::format("id is not an integer (got {})", value.dump()));
      from_json.emplace_back(key, value.get<std::int64_t>());
    }
  }
  // A key given twice keeps its last id, as serde's map does.
  if (entries->size() >= (std::size_t{1} << 31))
    data_error(vw.file, vw.path, fmt::format("too many tokens (got {}, expected fewer than 2^31)", entries->size()));
  std::size_t bytes = 0;
  for (const auto& e : *entries) bytes += e.first.size();
  m.token_to_id.reserve(entries->size(), bytes);
  // The usual file names each token once: one probe per entry, each token added with its own id
  // (checked below, before anything uses it; a bad one is an error).
  bool once = true;
  {
    // Each token's slot is prefetched kAhead entries before its insert.
    constexpr std::size_t kAhead = 8, kRing = 16;
    std::array<std::uint64_t, kRing> h{};
    const auto ahead = [&](std::size_t k) {
      h[k % kRing] = TokenIndex::hash((*entries)[k].first);
      m.token_to_id.prefetch_hash(h[k % kRing]);
    };
    for (std::size_t k = 0; k < std::min(entries->size(), kAhead); ++k) ahead(k);
    for (std::size_t k = 0; k < entries->size() && once; ++k) {
      if (k + kAhead < entries->size()) ahead(k + kAhead);
      once = m.token_to_id.insert((*entries)[k].first, static_cast<int>((*entries)[k].second), h[k % kRing]);
    }
  }
  if (!once) {
    // A repeated token: first each token's last entry; then, at that entry, its id in its place.
    m.token_to_id = TokenIndex();
    m.token_to_id.reserve(entries->size(), bytes);
    for (std::size_t k = 0; k < entries->size(); ++k) m.token_to_id.set((*entries)[k].first, static_cast<int>(k));
  }
  const std::size_t n = m.token_to_id.size();
  m.id_to_token.assign(n, std::string());
  std::vector<char> seen(n, 0);
  for (std::size_t k = 0; k < entries->size(); ++k) {
    const auto& [key, id] = (*entries)[k];
    if (!once && *m.token_to_id.find(key) != static_cast<int>(k)) continue;  // a later entry names this token
    if (id < 0 || static_cast<std::uint64_t>(id) >= n)
      data_error(vw.file, fmt::format("{}[{}]", vw.path, quote_bytes(key)),
                 fmt::format("id out of range (got {}, expected 0..{})", id, n == 0 ? 0 : n - 1));
    if (seen[id])
      data_error(vw.file, fmt::format("{}[{}]", vw.path, quote_bytes(key)),
                 fmt::format("id {} already used by {}", id, quote_bytes(m.id_to_token[id])));
    seen[id] = 1;
    m.id_to_token[id] = key;
    if (!once) m.token_to_id.set(key, static_cast<int>(id));  // its last entry: no later one compares with k
  }
}

std::optional<int> find_id(const Model& m, const std::string& t) { return m.token_to_id.find(t); }

// The path of merge r is built only on the error path (Llama-3 has 280k merges).
[[noreturn]] void merge_error(const Where& w, std::size_t r, const std::string& what) {
  const Where mw = w.at("merges").index(r);
  data_error(mw.file, mw.path, what);
}

void finish_bpe(BpeModel& m, const std::vector<std::pair<std::string, std::string>>& merges, const Where& w) {
  m.merges.reserve(merges.size());
  const std::size_t plen = m.prefix.size(), n = merges.size();
  const TokenIndex& index = m.token_to_id;
  // Four stages, so that each one's memory loads while later merges wait (280k merges, each three
  // lookups in a 4 MB table, their bytes in a 1 MB arena, and one slot of an 8 MB table): (1) 16
  // merges ahead the hashes of a, b and the merged token, their slots prefetched; (2) 8 ahead their
  // bytes prefetched; (3) 4 ahead the three ids, the merge's slot prefetched; (4) the checks, in
  // merge order, and the merge itself.
  constexpr std::size_t kAhead = 4, kRing = 32;  // kRing > 4 * kAhead
  struct Pending {
    std::string merged;
    std::uint64_t ha = 0, hb = 0, hm = 0;
    std::optional<int> ia, ib, im;
  };
  std::array<Pending, kRing> ring;
  const auto hash_stage = [&](std::size_t r) {
    Pending& p = ring[r % kRing];
    const auto& [a, b] = merges[r];
    p.ha = TokenIndex::hash(a);
    p.hb = TokenIndex::hash(b);
    index.prefetch_hash(p.ha);
    index.prefetch_hash(p.hb);
    if (b.size() >= plen) {
      p.merged.assign(a).append(b, plen, std::string::npos);
      p.hm = TokenIndex::hash(p.merged);
      index.prefetch_hash(p.hm);
    }
  };
  const auto key_stage = [&](std::size_t r) {
    const Pending& p = ring[r % kRing];
    index.prefetch_key(p.ha);
    index.prefetch_key(p.hb);
    if (merges[r].second.size() >= plen) index.prefetch_key(p.hm);
  };
  const auto find_stage = [&](std::size_t r) {
    Pending& p = ring[r % kRing];
    const auto& [a, b] = merges[r];
    p.ia = index.find(a, p.ha);
    p.ib = index.find(b, p.hb);
    p.im = b.size() >= plen ? index.find(p.merged, p.hm) : std::nullopt;
    if (p.ia && p.ib) m.merges.prefetch(pair_key(*p.ia, *p.ib));
  };
  for (std::size_t r = 0; r < std::min(n, 4 * kAhead); ++r) hash_stage(r);
  for (std::size_t r = 0; r < std::min(n, 2 * kAhead); ++r) key_stage(r);
  for (std::size_t r = 0; r < std::min(n, kAhead); ++r) find_stage(r);
  for (std::size_t r = 0; r < n; ++r) {
    if (r + 4 * kAhead < n) hash_stage(r + 4 * kAhead);
    if (r + 2 * kAhead < n) key_stage(r + 2 * kAhead);
    if (r + kAhead < n) find_stage(r + kAhead);
    const Pending& p = ring[r % kRing];
    const auto& [a, b] = merges[r];
    if (!p.ia) merge_error(w, r, fmt::format("merge token {} is not in the vocabulary", quote_bytes(a)));
    if (!p.ib) merge_error(w, r, fmt::format("merge token {} is not in the vocabulary", quote_bytes(b)));
    if (b.size() < plen)
      merge_error(w, r, fmt::format("merge token {} is shorter than the continuing_subword_prefix", quote_bytes(b)));
    if (!p.im) merge_error(w, r, fmt::format("merged token {} is not in the vocabulary", quote_bytes(p.merged)));
    m.merges.set(pair_key(*p.ia, *p.ib),
                 MergeTarget{static_cast<std::uint32_t>(r), *p.im});  // a repeated pair: the later rank
  }
  m.byte_token.fill(-1);
  for (int b = 0; b < 256; ++b)
    if (const auto id = find_id(m, fmt::format("<0x{:02X}>", b))) m.byte_token[b] = *id;
  if (m.unk) {
    const auto id = find_id(m, *m.unk);
    if (!id)
      data_error(w.file, w.at("unk_token").path,
                 fmt::format("unk_token {} is not in the vocabulary", quote_bytes(*m.unk)));
    m.unk_id = *id;
  }
}

// The merges of `j`, or those captured in `tables` (then `out` stays empty and is not copied into).
const std::vector<std::pair<std::string, std::string>>& read_merges(
    const nlohmann::json& j, const Where& w, const ModelTables* tables,
    std::vector<std::pair<std::string, std::string>>& out) {
  if (tables && tables->has_merges) return tables->merges;
  const auto it = j.find("merges");
  if (it == j.end() || it->is_null()) return out;
  const Where mw = w.at("merges");
  if (!it->is_array()) data_error(mw.file, mw.path, fmt::format("expected an array (got {})", json_kind(*it)));
  out.reserve(it->size());
  for (std::size_t r = 0; r < it->size(); ++r) {
    const auto& e = (*it)[r];
    if (e.is_string()) {
      const auto& s = e.get_ref<const std::string&>();
      const auto sp = s.find(' ');
      if (sp == std::string::npos)
        data_error(mw.file, mw.index(r).path, fmt::format("expected \"a b\" (got {})", quote_bytes(s)));
      out.emplace_back(s.substr(0, sp), s.substr(sp + 1));
    } else if (e.is_array() && e.size() == 2 && e[0].is_string() && e[1].is_string()) {
      out.emplace_back(e[0].get<std::string>(), e[1].get<std::string>());
    } else {
      data_error(mw.file, mw.index(r).path, fmt::format("expected \"a b\" or [\"a\", \"b\"] (got {})", e.dump()));
    }
  }
  return out;
}

std::optional<std::string> opt_string(const nlohmann::json& j, const char* key, const Where& w) {
  const auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::nullopt;
  return get_string(j, key, w);
}

}  // namespace

std::unique_ptr<Model> make_bpe(std::vector<std::string> vocab_by_id, TokenIndex vocab,
                                const std::vector<std::pair<std::string, std::string>>& merges, const Where& w) {
  auto m = std::make_unique<BpeModel>();
  m->id_to_token = std::move(vocab_by_id);
  m->token_to_id = std::move(vocab);
  finish_bpe(*m, merges, w);
  return m;
}

std::unique_ptr<Model> make_wordpiece(std::vector<std::string> vocab_by_id, TokenIndex vocab, const std::string& unk,
                                      const std::string& prefix, std::size_t max_chars, const Where& w) {
  auto m = std::make_unique<WordPieceModel>();
  m->id_to_token = std::move(vocab_by_id);
  m->token_to_id = std::move(vocab);
  m->unk = unk;
  m->prefix = prefix;
  m->max_chars = max_chars;
  const auto id = find_id(*m, unk);
  if (!id)
    data_error(w.file, w.at("unk_token").path, fmt::format("unk_token {} is not in the vocabulary", quote_bytes(unk)));
  m->unk_id = *id;
  return m;
}

std::unique_ptr<Model> make_model(const nlohmann::json& j, const Where& w, const ModelTables* tables) {
  std::string t;
  if (j.is_object() && !j.contains("type")) {  // old files: the model's type is implied by its fields
    t = j.contains("merges") ? "BPE" : j.contains("continuing_subword_prefix") ? "WordPiece" : "";
    if (t.empty()) data_error(w.file, w.path, "missing key 'type'");
  } else {
    t = type_of(j, w);
  }
  if (t == "BPE") {
    auto m = std::make_unique<BpeModel>();
    read_vocab(j, w, *m, tables);
    if (const auto it = j.find("dropout");
        it != j.end() && !it->is_null() && !(it->is_number() && it->get<double>() == 0.0))
      data_error(w.file, w.at("dropout").path,
                 fmt::format("BPE dropout is random; unsupported for reproducible encodings (got {})", it->dump()));
    m->unk = opt_string(j, "unk_token", w);
    m->prefix = opt_string(j, "continuing_subword_prefix", w).value_or("");
    m->suffix = opt_string(j, "end_of_word_suffix", w).value_or("");
    m->fuse_unk = get_bool(j, "fuse_unk", w, false);
    m->byte_fallback = get_bool(j, "byte_fallback", w, false);
    m->ignore_merges = get_bool(j, "ignore_merges", w, false);
    std::vector<std::pair<std::string, std::string>> merges;
    finish_bpe(*m, read_merges(j, w, tables, merges), w);
    return m;
  }
  if (t == "WordPiece") {
    auto m = std::make_unique<WordPieceModel>();
    read_vocab(j, w, *m, tables);
    m->unk = opt_string(j, "unk_token", w).value_or("[UNK]");
    m->prefix = opt_string(j, "continuing_subword_prefix", w).value_or("##");
    m->max_chars = get_size(j, "max_input_chars_per_word", w, 100);
    const auto id = find_id(*m, m->unk);
    if (!id)
      data_error(w.file, w.at("unk_token").path,
                 fmt::format("unk_token {} is not in the vocabulary", quote_bytes(m->unk)));
    m->unk_id = *id;
    return m;
  }
  if (t == "WordLevel") {
    auto m = std::make_unique<WordLevelModel>();
    read_vocab(j, w, *m, tables);
    if (const auto u = opt_string(j, "unk_token", w)) {
      const auto id = find_id(*m, *u);
      if (!id)
        data_error(w.file, w.at("unk_token").path,
                   fmt::format("unk_token {} is not in the vocabulary", quote_bytes(*u)));
      m->unk_id = *id;
    }
    return m;
  }
  unsupported("model", t, w);
}

// --- post-processors ---------------------------------------------------------------------------

namespace {

struct SpecialPiece {
  bool sequence = false;  // $A
  std::vector<int> ids;
  std::vector<std::string> tokens;
};

class TemplateProcessor final : public PostProcessor {
 public:
  explicit TemplateProcessor(std::vector<SpecialPiece> parts) : parts_(std::move(parts)) {}
  void process(std::vector<int>& ids, std::vector<std::string>& tokens) const override {
    std::vector<int> out_ids;
    std::vector<std::string> out_tokens;
    for (const auto& p : parts_) {
      if (p.sequence) {
        out_ids.insert(out_ids.end(), ids.begin(), ids.end());
        out_tokens.insert(out_tokens.end(), tokens.begin(), tokens.end());
      } else {
        out_ids.insert(out_ids.end(), p.ids.begin(), p.ids.end());
        out_tokens.insert(out_tokens.end(), p.tokens.begin(), p.tokens.end());
      }
    }
    ids.swap(out_ids);
    tokens.swap(out_tokens);
  }

 private:
  std::vector<SpecialPiece> parts_;
};

class NoopProcessor final : public PostProcessor {
 public:
  void process(std::vector<int>&, std::vector<std::string>&) const override {}
};

class SequenceProcessor final : public PostProcessor {
 public:
  explicit SequenceProcessor(std::vector<std::unique_ptr<PostProcessor>> p) : parts_(std::move(p)) {}
  void process(std::vector<int>& ids, std::vector<std::string>& tokens) const override {
    for (const auto& p : parts_) p->process(ids, tokens);
  }

 private:
  std::vector<std::unique_ptr<PostProcessor>> parts_;
};

std::pair<std::string, int> token_pair(const nlohmann::json& j, const char* key, const Where& w) {
  const auto& v = member(j, key, w);
  if (!v.is_array() || v.size() != 2 || !v[0].is_string() || !v[1].is_number_unsigned())
    data_error(w.file, w.at(key).path, fmt::format("expected [\"token\", id] (got {})", v.dump()));
  const auto id = v[1].get<std::uint64_t>();
  if (id > 0x7FFFFFFF) data_error(w.file, w.at(key).path, fmt::format("id out of range (got {})", id));
  return {v[0].get<std::string>(), static_cast<int>(id)};
}

}  // namespace

std::unique_ptr<PostProcessor> make_cls_sep_processor(int cls, const std::string& cls_token, int sep,
                                                      const std::string& sep_token) {
  std::vector<SpecialPiece> parts(3);
  parts[0].ids = {cls};
  parts[0].tokens = {cls_token};
  parts[1].sequence = true;
  parts[2].ids = {sep};
  parts[2].tokens = {sep_token};
  return std::make_unique<TemplateProcessor>(std::move(parts));
}

std::unique_ptr<PostProcessor> make_post_processor(const nlohmann::json& j, const Where& w) {
  const std::string t = type_of(j, w);
  if (t == "ByteLevel") return std::make_unique<NoopProcessor>();
  if (t == "BertProcessing" || t == "RobertaProcessing") {
    const auto cls = token_pair(j, "cls", w), sep = token_pair(j, "sep", w);
    return make_cls_sep_processor(cls.second, cls.first, sep.second, sep.first);
  }
  if (t == "TemplateProcessing") {
    const auto& single = member(j, "single", w);
    const Where sw = w.at("single");
    if (!single.is_array()) data_error(sw.file, sw.path, fmt::format("expected an array (got {})", json_kind(single)));
    const auto& specials = member(j, "special_tokens", w);
    const Where stw = w.at("special_tokens");
    if (!specials.is_object())
      data_error(stw.file, stw.path, fmt::format("expected an object (got {})", json_kind(specials)));
    std::vector<SpecialPiece> parts;
    for (std::size_t i = 0; i < single.size(); ++i) {
      const auto& e = single[i];
      const Where ew = sw.index(i);
      SpecialPiece p;
      if (e.is_object() && e.contains("Sequence")) {
        const std::string id = get_string(e["Sequence"], "id", ew.at("Sequence"));
        if (id != "A") data_error(ew.file, ew.path, fmt::format("a single-sequence template uses $A (got ${})", id));
        p.sequence = true;
      } else if (e.is_object() && e.contains("SpecialToken")) {
        const std::string id = get_string(e["SpecialToken"], "id", ew.at("SpecialToken"));
        const auto it = specials.find(id);
        if (it == specials.end())
          data_error(stw.file, stw.path, fmt::format("missing the special token {} of the template", quote_bytes(id)));
        const Where tw = stw.at(id);
        const auto& ids = member(*it, "ids", tw);
        const auto& toks = member(*it, "tokens", tw);
        if (!ids.is_array() || !toks.is_array() || ids.size() != toks.size())
          data_error(tw.file, tw.path, "expected arrays ids and tokens of the same length");
        for (std::size_t k = 0; k < ids.size(); ++k) {
          if (!ids[k].is_number_unsigned() || ids[k].get<std::uint64_t>() > 0x7FFFFFFF || !toks[k].is_string())
            data_error(tw.file, tw.path, fmt::format("bad id or token (got {}, {})", ids[k].dump(), toks[k].dump()));
          p.ids.push_back(ids[k].get<int>());
          p.tokens.push_back(toks[k].get<std::string>());
        }
      } else {
        data_error(ew.file, ew.path,
                   fmt::format("expected {{\"Sequence\": ...}} or {{\"SpecialToken\": ...}} (got {})", e.dump()));
      }
      parts.push_back(std::move(p));
    }
    return std::make_unique<TemplateProcessor>(std::move(parts));
  }
  if (t == "Sequence") {
    const auto& list = member(j, "processors", w);
    const Where lw = w.at("processors");
    if (!list.is_array()) data_error(lw.file, lw.path, fmt::format("expected an array (got {})", json_kind(list)));
    std::vector<std::unique_ptr<PostProcessor>> parts;
    for (std::size_t i = 0; i < list.size(); ++i) parts.push_back(make_post_processor(list[i], lw.index(i)));
    return std::make_unique<SequenceProcessor>(std::move(parts));
  }
  unsupported("post-processor", t, w);
}

// --- decoders ----------------------------------------------------------------------------------

namespace {

class ByteLevelDecoder final : public Decoder {
 public:
  void decode(std::vector<std::string>& tokens) const override {
    std::string out;
    for (const auto& t : tokens) {
      if (auto b = unicode_to_bytes(t))
        out += *b;
      else
        out += t;
    }
    tokens.assign(1, std::move(out));
  }
  bool is_byte_level() const override { return true; }
};

class ByteFallbackDecoder final : public Decoder {
 public:
  void decode(std::vector<std::string>& tokens) const override {
    std::vector<std::string> out;
    std::string bytes;
    const auto flush = [&] {
      if (bytes.empty()) return;
      if (invalid_utf8_offset(bytes) == std::string::npos)
        out.push_back(bytes);
      else
        for (std::size_t k = 0; k < bytes.size(); ++k) out.push_back("\xEF\xBF\xBD");
      bytes.clear();
    };
    for (auto& t : tokens) {
      int v = -1;
      if (t.size() == 6 && t.compare(0, 3, "<0x") == 0 && t[5] == '>') {
        const auto hex = [](char c) {
          return c >= '0' && c <= '9'   ? c - '0'
                 : c >= 'a' && c <= 'f' ? c - 'a' + 10
                 : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                        : -1;
        };
        const int hi = hex(t[3]), lo = hex(t[4]);
        if (hi >= 0 && lo >= 0) v = hi * 16 + lo;
      }
      if (v >= 0) {
        bytes += static_cast<char>(v);
      } else {
        flush();
        out.push_back(std::move(t));
      }
    }
    flush();
    tokens.swap(out);
  }
};

class FuseDecoder final : public Decoder {
 public:
  void decode(std::vector<std::string>& tokens) const override {
    std::string all;
    for (const auto& t : tokens) all += t;
    tokens.assign(1, std::move(all));
  }
};

class ReplaceDecoder final : public Decoder {
 public:
  ReplaceDecoder(Regex re, std::string content) : re_(std::move(re)), content_(std::move(content)) {}
  void decode(std::vector<std::string>& tokens) const override {
    for (auto& t : tokens)
      if (invalid_utf8_offset(t) == std::string::npos) t = replace_all(re_, t, content_);
  }

 private:
  Regex re_;
  std::string content_;
};

class StripDecoder final : public Decoder {
 public:
  StripDecoder(std::string c, std::size_t start, std::size_t stop) : c_(std::move(c)), start_(start), stop_(stop) {}
  void decode(std::vector<std::string>& tokens) const override {
    for (auto& t : tokens) {
      std::size_t b = 0, e = t.size();
      for (std::size_t k = 0; k < start_ && t.compare(b, c_.size(), c_) == 0 && b < e; ++k) b += c_.size();
      for (std::size_t k = 0; k < stop_ && e >= b + c_.size() && t.compare(e - c_.size(), c_.size(), c_) == 0; ++k)
        e -= c_.size();
      t = t.substr(b, e - b);
    }
  }

 private:
  std::string c_;
  std::size_t start_, stop_;
};

class MetaspaceDecoder final : public Decoder {
 public:
  MetaspaceDecoder(std::string rep, bool strip_first) : rep_(std::move(rep)), strip_first_(strip_first) {}
  void decode(std::vector<std::string>& tokens) const override {
    for (std::size_t i = 0; i < tokens.size(); ++i) {
      std::string out;
      const std::string& t = tokens[i];
      for (std::size_t p = 0; p < t.size();) {
        if (t.compare(p, rep_.size(), rep_) == 0) {
          if (!(i == 0 && strip_first_)) out += ' ';
          p += rep_.size();
        } else {
          out += t[p++];
        }
      }
      tokens[i] = std::move(out);
    }
  }

 private:
  std::string rep_;
  bool strip_first_;
};

class WordPieceDecoder final : public Decoder {
 public:
  WordPieceDecoder(std::string prefix, bool cleanup) : prefix_(std::move(prefix)), cleanup_(cleanup) {}
  static void replace(std::string& s, std::string_view from, std::string_view to) {
    if (from.empty() || s.find(from) == std::string::npos) return;
    std::string out;
    out.reserve(s.size());
    std::size_t last = 0;
    for (std::size_t p = 0; (p = s.find(from, last)) != std::string::npos; last = p + from.size()) {
      out.append(s, last, p - last);
      out.append(to);
    }
    out.append(s, last, std::string::npos);
    s.swap(out);
  }
  void decode(std::vector<std::string>& tokens) const override {
    for (std::size_t i = 0; i < tokens.size(); ++i) {
      auto& t = tokens[i];
      if (i != 0) {
        if (t.compare(0, prefix_.size(), prefix_) == 0)
          t.erase(0, prefix_.size());
        else
          t = " " + t;
      }
      if (cleanup_) {
        replace(t, " .", ".");
        replace(t, " ?", "?");
        replace(t, " !", "!");
        replace(t, " ,", ",");
        replace(t, " ' ", "'");
        replace(t, " n't", "n't");
        replace(t, " 'm", "'m");
        replace(t, " do not", " don't");
        replace(t, " 's", "'s");
        replace(t, " 've", "'ve");
        replace(t, " 're", "'re");
      }
    }
  }

 private:
  std::string prefix_;
  bool cleanup_;
};

class BpeSuffixDecoder final : public Decoder {
 public:
  explicit BpeSuffixDecoder(std::string suffix) : suffix_(std::move(suffix)) {}
  void decode(std::vector<std::string>& tokens) const override {
    for (std::size_t i = 0; i < tokens.size(); ++i) {
      WordPieceDecoder::replace(tokens[i], suffix_, i + 1 == tokens.size() ? "" : " ");
    }
  }

 private:
  std::string suffix_;
};

class SequenceDecoder final : public Decoder {
 public:
  explicit SequenceDecoder(std::vector<std::unique_ptr<Decoder>> p) : parts_(std::move(p)) {}
  void decode(std::vector<std::string>& tokens) const override {
    for (const auto& p : parts_) p->decode(tokens);
  }
  bool is_byte_level() const override {
    return std::any_of(parts_.begin(), parts_.end(), [](const auto& p) { return p->is_byte_level(); });
  }

 private:
  std::vector<std::unique_ptr<Decoder>> parts_;
};

}  // namespace

std::unique_ptr<Decoder> make_byte_level_decoder() { return std::make_unique<ByteLevelDecoder>(); }
std::unique_ptr<Decoder> make_wordpiece_decoder(const std::string& prefix, bool cleanup) {
  return std::make_unique<WordPieceDecoder>(prefix, cleanup);
}

std::unique_ptr<Decoder> make_decoder(const nlohmann::json& j, const Where& w) {
  const std::string t = type_of(j, w);
  if (t == "ByteLevel") return make_byte_level_decoder();
  if (t == "ByteFallback") return std::make_unique<ByteFallbackDecoder>();
  if (t == "Fuse") return std::make_unique<FuseDecoder>();
  if (t == "Replace")
    return std::make_unique<ReplaceDecoder>(get_pattern(j, "pattern", w), get_string(j, "content", w));
  if (t == "Strip")
    return std::make_unique<StripDecoder>(get_char(j, "content", w), get_size(j, "start", w, 0),
                                          get_size(j, "stop", w, 0));
  if (t == "Metaspace")
    return std::make_unique<MetaspaceDecoder>(get_char(j, "replacement", w), metaspace_scheme(j, w) != Prepend::never);
  if (t == "WordPiece")
    return make_wordpiece_decoder(opt_string(j, "prefix", w).value_or("##"), get_bool(j, "cleanup", w, true));
  if (t == "BPEDecoder") return std::make_unique<BpeSuffixDecoder>(opt_string(j, "suffix", w).value_or("</w>"));
  if (t == "Sequence") {
    const auto& list = member(j, "decoders", w);
    const Where lw = w.at("decoders");
    if (!list.is_array()) data_error(lw.file, lw.path, fmt::format("expected an array (got {})", json_kind(list)));
    std::vector<std::unique_ptr<Decoder>> parts;
    for (std::size_t i = 0; i < list.size(); ++i) parts.push_back(make_decoder(list[i], lw.index(i)));
    return std::make_unique<SequenceDecoder>(std::move(parts));
  }
  unsupported("decoder", t, w);
}

}  // namespace embedlab::tok
