#include "io/tokenizer.hpp"

#include "core/error.hpp"
#include "io/binary_util.hpp"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <filesystem>
#include <fstream>
#include <mutex>
#include <queue>
#include <sstream>
#include <unordered_map>

namespace embedlab::io {

namespace {

// GPT-2's pre-tokenizer (HF ByteLevel with use_regex, identical to OpenAI's encoder.py).
constexpr const char* kPattern = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
constexpr const char* kEndOfText = "<|endoftext|>";
// Files larger than this are not tokenizer files (GPT-2's are 1 MB and 0.5 MB).
constexpr std::uintmax_t kMaxFileBytes = std::uintmax_t{256} << 20;
// Pieces longer than this bypass the cache (they are rare and would only bloat it).
constexpr std::size_t kMaxCachedPiece = 128;
constexpr std::size_t kMaxCacheEntries = std::size_t{1} << 18;

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// Length of the valid UTF-8 character at s[i..] (1-4), or 0 when the bytes there are not one
// (truncated sequence, stray continuation byte, overlong form, surrogate, above U+10FFFF) —
// the same rules PCRE2's UTF check applies.
std::size_t utf8_char_len(std::string_view s, std::size_t i) {
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const std::size_t left = s.size() - i;
  const unsigned c = b(0);
  if (c < 0x80) return 1;
  const auto cont = [&](std::size_t k) { return k < left && (b(k) & 0xC0) == 0x80; };
  if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (!cont(1) || !cont(2)) return 0;
    if (c == 0xE0 && b(1) < 0xA0) return 0;   // overlong
    if (c == 0xED && b(1) >= 0xA0) return 0;  // surrogates D800-DFFF
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    if (c == 0xF0 && b(1) < 0x90) return 0;   // overlong
    if (c == 0xF4 && b(1) >= 0x90) return 0;  // above U+10FFFF
    return 4;
  }
  return 0;
}

// Decodes a vocabulary string through the inverse of bytes_to_unicode; nullopt when it holds a
// character outside the table (or is not UTF-8).
std::optional<std::string> unicode_to_bytes(std::string_view s) {
  static const std::unordered_map<std::uint32_t, unsigned char> inverse = [] {
    std::unordered_map<std::uint32_t, unsigned char> m;
    const auto& table = gpt2_byte_to_unicode();
    for (int byte = 0; byte < 256; ++byte) {
      const std::string& u = table[byte];
      std::uint32_t cp = static_cast<unsigned char>(u[0]);
      if (u.size() == 2) cp = ((cp & 0x1F) << 6) | (static_cast<unsigned char>(u[1]) & 0x3F);
      m.emplace(cp, static_cast<unsigned char>(byte));
    }
    return m;
  }();
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t len = utf8_char_len(s, i);
    if (len == 0 || len > 2) return std::nullopt;  // every table entry is U+0021..U+0143
    std::uint32_t cp = static_cast<unsigned char>(s[i]);
    if (len == 2) cp = ((cp & 0x1F) << 6) | (static_cast<unsigned char>(s[i + 1]) & 0x3F);
    const auto it = inverse.find(cp);
    if (it == inverse.end()) return std::nullopt;
    out += static_cast<char>(it->second);
    i += len;
  }
  return out;
}

std::string read_small_file(const std::string& path) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) fail(Exit::no_input, path, "", "cannot read tokenizer file (" + ec.message() + ")");
  if (size > kMaxFileBytes)
    data_error(path, "",
               fmt::format("too large for a tokenizer file (got {} bytes, expected at most {})", size, kMaxFileBytes));
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(Exit::no_input, path, "", "cannot open tokenizer file");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

std::string quote_bytes(std::string_view s) {
  std::string out = "'";
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    const std::size_t len = utf8_char_len(s, i);
    if (len > 1) {
      out.append(s.substr(i, len));
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\r') {
      out += "\\r";
    } else if (len == 0 || c < 0x20 || c == 0x7F) {
      out += fmt::format("\\x{:02x}", c);
    } else {
      out += static_cast<char>(c);
    }
    i += len > 0 ? len : 1;
  }
  return out + "'";
}

namespace {

std::uint64_t pair_key(int a, int b) { return (std::uint64_t(std::uint32_t(a)) << 32) | std::uint32_t(b); }

struct Merge {
  int rank;
  int id;  // the merged token
};

struct PcreCodeDeleter {
  void operator()(pcre2_code* c) const { pcre2_code_free(c); }
};
struct PcreMatchDeleter {
  void operator()(pcre2_match_data* m) const { pcre2_match_data_free(m); }
};

}  // namespace

const std::array<std::string, 256>& gpt2_byte_to_unicode() {
  // Printable Latin-1 bytes stand for themselves; the other 68 map to U+0100.. in byte order.
  static const std::array<std::string, 256> table = [] {
    std::array<std::string, 256> t;
    std::uint32_t next = 256;
    for (std::uint32_t b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      append_utf8(t[b], printable ? b : next++);
    }
    return t;
  }();
  return table;
}

struct Gpt2Tokenizer::Impl {
  std::vector<std::string> tokens;  // vocabulary strings, by id
  std::vector<std::string> bytes;   // raw bytes, by id
  std::unordered_map<std::string, int> by_token, by_bytes;
  std::array<int, 256> byte_id{};
  std::unordered_map<std::uint64_t, Merge> merges;
  int eot = -1;
  std::unique_ptr<pcre2_code, PcreCodeDeleter> re;

  mutable std::mutex cache_mutex;
  mutable std::unordered_map<std::string, std::vector<int>> cache;

  void load_encoder(const std::string& path);
  void load_merges(const std::string& path, const std::string& encoder_path);
  void compile_regex();

  void bpe(std::string_view piece, std::vector<int>& out) const;
  void bpe_cached(std::string_view piece, std::vector<int>& out) const;
  void encode_valid(std::string_view text, pcre2_match_data* md, std::vector<int>& out) const;
  void encode_segment(std::string_view text, pcre2_match_data* md, std::vector<int>& out) const;
};

void Gpt2Tokenizer::Impl::load_encoder(const std::string& path) {
  const std::string text = read_small_file(path);
  const nlohmann::json j = parse_json_strict(text, path, "");
  if (!j.is_object()) data_error(path, "", fmt::format("expected a JSON object of token → id (got {})", j.type_name()));
  const std::size_t n = j.size();
  if (n < 256) data_error(path, "", fmt::format("vocabulary too small (got {} entries, expected at least 256)", n));
  tokens.assign(n, std::string());
  bytes.assign(n, std::string());
  std::vector<bool> seen(n, false);
  by_token.reserve(n);
  by_bytes.reserve(n);
  for (const auto& [key, value] : j.items()) {
    const std::string where = fmt::format("key {}", quote_bytes(key));
    if (!value.is_number_integer()) data_error(path, where, fmt::format("id is not an integer (got {})", value.dump()));
    const auto id = value.get<std::int64_t>();
    if (id < 0 || static_cast<std::uint64_t>(id) >= n)
      data_error(path, where, fmt::format("id out of range (got {}, expected 0..{})", id, n - 1));
    if (seen[id]) data_error(path, where, fmt::format("id {} already used by {}", id, quote_bytes(tokens[id])));
    auto raw = unicode_to_bytes(key);
    if (!raw || raw->empty())
      data_error(path, where, "not a byte-level token (characters outside GPT-2's bytes_to_unicode table)");
    if (const auto it = by_bytes.find(*raw); it != by_bytes.end())
      data_error(path, where,
                 fmt::format("same bytes as token {} (id {})", quote_bytes(tokens[it->second]), it->second));
    seen[id] = true;
    tokens[id] = key;
    by_token.emplace(key, static_cast<int>(id));
    by_bytes.emplace(*raw, static_cast<int>(id));
    bytes[id] = std::move(*raw);
  }
  for (int b = 0; b < 256; ++b) {
    const auto it = by_bytes.find(std::string(1, static_cast<char>(b)));
    if (it == by_bytes.end())
      data_error(path, "", fmt::format("byte 0x{:02x} has no token {}", b, quote_bytes(gpt2_byte_to_unicode()[b])));
    byte_id[b] = it->second;
  }
  if (const auto it = by_token.find(kEndOfText); it != by_token.end()) eot = it->second;
}

void Gpt2Tokenizer::Impl::load_merges(const std::string& path, const std::string& encoder_path) {
  const std::string text = read_small_file(path);
  merges.reserve(text.size() / 8);
  std::unordered_map<std::uint64_t, std::size_t> line_of;  // pair → line where it was declared
  std::size_t line_no = 0;
  int rank = 0;
  for (std::size_t pos = 0; pos < text.size();) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string_view line(text.data() + pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || (line_no == 1 && line.starts_with("#version"))) continue;
    const std::string where = fmt::format("line {}", line_no);
    if (invalid_utf8_offset(line) != std::string_view::npos) data_error(path, where, "not valid UTF-8");
    const std::size_t sp = line.find(' ');
    if (sp == std::string_view::npos || sp == 0 || sp + 1 == line.size() ||
        line.find(' ', sp + 1) != std::string_view::npos)
      data_error(path, where, fmt::format("expected two tokens separated by one space (got {})", quote_bytes(line)));
    const std::string_view a = line.substr(0, sp), b = line.substr(sp + 1);
    const auto ia = by_token.find(std::string(a)), ib = by_token.find(std::string(b));
    if (ia == by_token.end())
      data_error(path, where, fmt::format("token {} is not in {}", quote_bytes(a), encoder_path));
    if (ib == by_token.end())
      data_error(path, where, fmt::format("token {} is not in {}", quote_bytes(b), encoder_path));
    const auto im = by_token.find(std::string(a) + std::string(b));
    if (im == by_token.end())
      data_error(
          path, where,
          fmt::format("merged token {} is not in {}", quote_bytes(std::string(a) + std::string(b)), encoder_path));
    const std::uint64_t key = pair_key(ia->second, ib->second);
    if (const auto [it, inserted] = line_of.emplace(key, line_no); !inserted)
      data_error(path, where, fmt::format("merge {} repeats line {}", quote_bytes(line), it->second));
    merges.emplace(key, Merge{rank++, im->second});
  }
}

void Gpt2Tokenizer::Impl::compile_regex() {
  int err = 0;
  PCRE2_SIZE err_off = 0;
  re.reset(pcre2_compile(reinterpret_cast<PCRE2_SPTR>(kPattern), PCRE2_ZERO_TERMINATED, PCRE2_UTF | PCRE2_UCP, &err,
                         &err_off, nullptr));
  if (!re) {
    PCRE2_UCHAR msg[256];
    pcre2_get_error_message(err, msg, sizeof msg);
    throw Error(Exit::software, fmt::format("tokenizer: PCRE2 cannot compile the GPT-2 pattern at offset {}: {}",
                                            err_off, reinterpret_cast<const char*>(msg)));
  }
  // JIT is optional (some platforms lack it); the interpreter gives the same matches.
  pcre2_jit_compile(re.get(), PCRE2_JIT_COMPLETE);
}

// Byte-level BPE of one pre-token: start from one symbol per byte and repeatedly merge the
// adjacent pair of lowest rank (leftmost first), as HF's Word::merge_all does with its heap.
// O(n log n), so a megabyte-long pre-token (one huge "word") stays fast.
void Gpt2Tokenizer::Impl::bpe(std::string_view piece, std::vector<int>& out) const {
  const std::size_t n = piece.size();
  if (n == 0) return;
  if (n == 1) {
    out.push_back(byte_id[static_cast<unsigned char>(piece[0])]);
    return;
  }
  // Symbols form a doubly linked list over positions; a merged-away symbol has id -1.
  std::vector<int> id(n), prev(n), next(n);
  for (std::size_t i = 0; i < n; ++i) {
    id[i] = byte_id[static_cast<unsigned char>(piece[i])];
    prev[i] = static_cast<int>(i) - 1;
    next[i] = i + 1 < n ? static_cast<int>(i + 1) : -1;
  }
  struct Cand {
    int rank, pos;
    bool operator>(const Cand& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
  };
  std::priority_queue<Cand, std::vector<Cand>, std::greater<>> heap;
  const auto push = [&](int left) {
    if (left < 0 || next[left] < 0) return;
    const auto it = merges.find(pair_key(id[left], id[next[left]]));
    if (it != merges.end()) heap.push({it->second.rank, left});
  };
  for (std::size_t i = 0; i + 1 < n; ++i) push(static_cast<int>(i));
  while (!heap.empty()) {
    const Cand c = heap.top();
    heap.pop();
    const int left = c.pos;
    if (id[left] < 0 || next[left] < 0) continue;
    // A stale candidate whose pair has changed since it was pushed: ranks are unique per pair.
    const auto it = merges.find(pair_key(id[left], id[next[left]]));
    if (it == merges.end() || it->second.rank != c.rank) continue;
    const int right = next[left];
    id[left] = it->second.id;
    id[right] = -1;
    next[left] = next[right];
    if (next[right] >= 0) prev[next[right]] = left;
    push(prev[left]);
    push(left);
  }
  for (int i = 0; i >= 0; i = next[i]) out.push_back(id[i]);
}

void Gpt2Tokenizer::Impl::bpe_cached(std::string_view piece, std::vector<int>& out) const {
  if (piece.size() > kMaxCachedPiece) {
    bpe(piece, out);
    return;
  }
  const std::string key(piece);
  {
    std::lock_guard lock(cache_mutex);
    if (const auto it = cache.find(key); it != cache.end()) {
      out.insert(out.end(), it->second.begin(), it->second.end());
      return;
    }
  }
  const std::size_t start = out.size();
  bpe(piece, out);
  std::lock_guard lock(cache_mutex);
  if (cache.size() >= kMaxCacheEntries) cache.clear();
  cache.emplace(key, std::vector<int>(out.begin() + static_cast<std::ptrdiff_t>(start), out.end()));
}

// `text` is valid UTF-8 (checked by the caller), so PCRE2's own check can be skipped.
void Gpt2Tokenizer::Impl::encode_valid(std::string_view text, pcre2_match_data* md, std::vector<int>& out) const {
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  PCRE2_SIZE offset = 0;
  while (offset < text.size()) {
    const int rc = pcre2_match(re.get(), subject, text.size(), offset, PCRE2_NO_UTF_CHECK, md, nullptr);
    if (rc < 0) {
      // The alternatives cover every character, so this is unreachable unless PCRE2 hits a limit;
      // the rest is still encoded (as one piece) rather than dropped.
      bpe_cached(text.substr(offset), out);
      return;
    }
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
    if (ov[0] > offset) bpe_cached(text.substr(offset, ov[0] - offset), out);
    if (ov[1] <= ov[0]) {  // an empty match cannot happen with this pattern; never loop on one
      bpe_cached(text.substr(ov[0]), out);
      return;
    }
    bpe_cached(text.substr(ov[0], ov[1] - ov[0]), out);
    offset = ov[1];
  }
}

void Gpt2Tokenizer::Impl::encode_segment(std::string_view text, pcre2_match_data* md, std::vector<int>& out) const {
  std::size_t i = 0;
  while (i < text.size()) {
    // A maximal valid run, then a maximal run of bytes that start no valid character.
    std::size_t j = i;
    for (std::size_t len; j < text.size() && (len = utf8_char_len(text, j)) > 0;) j += len;
    if (j > i) encode_valid(text.substr(i, j - i), md, out);
    std::size_t k = j;
    while (k < text.size() && utf8_char_len(text, k) == 0) ++k;
    if (k > j) bpe_cached(text.substr(j, k - j), out);
    i = k;
  }
}

Gpt2Tokenizer::Gpt2Tokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Gpt2Tokenizer::Gpt2Tokenizer(const std::string& encoder_json, const std::string& vocab_bpe)
    : impl_(std::make_unique<Impl>()) {
  impl_->load_encoder(encoder_json);
  impl_->load_merges(vocab_bpe, encoder_json);
  impl_->compile_regex();
}

Gpt2Tokenizer::~Gpt2Tokenizer() = default;
Gpt2Tokenizer::Gpt2Tokenizer(Gpt2Tokenizer&&) noexcept = default;
Gpt2Tokenizer& Gpt2Tokenizer::operator=(Gpt2Tokenizer&&) noexcept = default;

std::optional<std::pair<std::string, std::string>> gpt2_tokenizer_files(const std::string& dir) {
  namespace fs = std::filesystem;
  const fs::path d(dir);
  for (const auto& [vocab, merges] : {std::pair{"vocab.json", "merges.txt"}, std::pair{"encoder.json", "vocab.bpe"}}) {
    std::error_code ec;
    if (fs::is_regular_file(d / vocab, ec) && fs::is_regular_file(d / merges, ec))
      return std::pair{(d / vocab).string(), (d / merges).string()};
  }
  return std::nullopt;
}

std::optional<std::string> find_gpt2_tokenizer_dir(const std::string& model_dir) {
  namespace fs = std::filesystem;
  if (gpt2_tokenizer_files(model_dir)) return model_dir;
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

Gpt2Tokenizer Gpt2Tokenizer::from_dir(const std::string& dir) {
  if (const auto files = gpt2_tokenizer_files(dir)) return Gpt2Tokenizer(files->first, files->second);
  fail(Exit::no_input, dir, "",
       "no GPT-2 tokenizer files here (expected vocab.json + merges.txt or encoder.json + vocab.bpe) "
       "[hint: embedlab fetch gpt2-tokenizer]");
}

std::vector<int> Gpt2Tokenizer::encode(std::string_view text, bool allow_special) const {
  std::vector<int> out;
  out.reserve(text.size() / 3 + 1);
  std::unique_ptr<pcre2_match_data, PcreMatchDeleter> md(
      pcre2_match_data_create_from_pattern(impl_->re.get(), nullptr));
  if (!md) throw Error(Exit::software, "tokenizer: out of memory for PCRE2 match data");
  const std::string_view special = kEndOfText;
  std::size_t pos = 0;
  if (allow_special && impl_->eot >= 0) {
    for (std::size_t hit; (hit = text.find(special, pos)) != std::string_view::npos; pos = hit + special.size()) {
      impl_->encode_segment(text.substr(pos, hit - pos), md.get(), out);
      out.push_back(impl_->eot);
    }
  }
  impl_->encode_segment(text.substr(pos), md.get(), out);
  return out;
}

std::string Gpt2Tokenizer::decode(const std::vector<int>& ids) const {
  std::string out;
  for (const int i : ids) out += token_bytes(i);
  return out;
}

const std::string& Gpt2Tokenizer::token_bytes(int id) const {
  if (id < 0 || id >= vocab_size())
    throw Error(Exit::data, fmt::format("tokenizer: token id {} out of range (expected 0..{})", id, vocab_size() - 1));
  return impl_->bytes[id];
}

const std::string& Gpt2Tokenizer::token(int id) const {
  token_bytes(id);
  return impl_->tokens[id];
}

std::optional<int> Gpt2Tokenizer::id(std::string_view token) const {
  const auto it = impl_->by_token.find(std::string(token));
  if (it == impl_->by_token.end()) return std::nullopt;
  return it->second;
}

std::optional<int> Gpt2Tokenizer::id_of_bytes(std::string_view bytes) const {
  const auto it = impl_->by_bytes.find(std::string(bytes));
  if (it == impl_->by_bytes.end()) return std::nullopt;
  return it->second;
}

int Gpt2Tokenizer::vocab_size() const { return static_cast<int>(impl_->tokens.size()); }
std::size_t Gpt2Tokenizer::merge_count() const { return impl_->merges.size(); }
int Gpt2Tokenizer::eot_id() const { return impl_->eot; }

// --- words → token ids -------------------------------------------------------------------------

std::vector<WordTokens> words_to_tokens(const Gpt2Tokenizer& tokenizer, const std::vector<std::string>& words,
                                        const WordPolicy& policy, const std::string& source) {
  std::vector<WordTokens> out;
  out.reserve(words.size());
  for (std::size_t w = 0; w < words.size(); ++w) {
    WordTokens r;
    r.word = words[w];
    const std::string where = fmt::format("word {} {}", w + 1, quote_bytes(r.word));
    const bool blank = r.word.find_first_not_of(" \t\n\r\f\v") == std::string::npos;
    const auto bad = invalid_utf8_offset(r.word);
    if (blank || bad != std::string_view::npos) {
      if (policy.oov == WordPolicy::Oov::error)
        data_error(source, where,
                   blank ? "empty word has no tokens (oov = error; use oov = skip to drop it)"
                         : fmt::format("not valid UTF-8 at byte {} (oov = error; use oov = skip to drop it)", bad));
      r.status = WordStatus::skipped;
      out.push_back(std::move(r));
      continue;
    }
    // Words are text, never control tokens: "<|endoftext|>" in a word list is just characters.
    r.pieces = tokenizer.encode(policy.leading_space ? " " + r.word : r.word, false);
    if (r.pieces.size() == 1) {
      r.ids = r.pieces;
    } else {
      r.status = WordStatus::multi_token;
      switch (policy.multi_token) {
        case WordPolicy::MultiToken::error: {
          std::string pieces;
          for (const int id : r.pieces)
            pieces += fmt::format("{}{} ({})", pieces.empty() ? "" : " ", quote_bytes(tokenizer.token_bytes(id)), id);
          data_error(
              source, where,
              fmt::format("is {} tokens: {} (multi_token = error; use mean, first or last)", r.pieces.size(), pieces));
        }
        case WordPolicy::MultiToken::mean:
          r.ids = r.pieces;
          break;
        case WordPolicy::MultiToken::first:
          r.ids = {r.pieces.front()};
          break;
        case WordPolicy::MultiToken::last:
          r.ids = {r.pieces.back()};
          break;
      }
    }
    out.push_back(std::move(r));
  }
  return out;
}

std::optional<WordPolicy::MultiToken> parse_multi_token(std::string_view name) {
  using M = WordPolicy::MultiToken;
  for (const M m : {M::error, M::mean, M::first, M::last})
    if (name == to_string(m)) return m;
  return std::nullopt;
}

std::optional<WordPolicy::Oov> parse_oov(std::string_view name) {
  using O = WordPolicy::Oov;
  for (const O o : {O::error, O::skip})
    if (name == to_string(o)) return o;
  return std::nullopt;
}

const char* to_string(WordPolicy::MultiToken m) {
  switch (m) {
    case WordPolicy::MultiToken::error:
      return "error";
    case WordPolicy::MultiToken::mean:
      return "mean";
    case WordPolicy::MultiToken::first:
      return "first";
    case WordPolicy::MultiToken::last:
      return "last";
  }
  return "?";
}

const char* to_string(WordPolicy::Oov o) { return o == WordPolicy::Oov::error ? "error" : "skip"; }

const char* to_string(WordStatus s) {
  switch (s) {
    case WordStatus::ok:
      return "ok";
    case WordStatus::multi_token:
      return "multi_token";
    case WordStatus::skipped:
      return "skipped";
  }
  return "?";
}

}  // namespace embedlab::io
