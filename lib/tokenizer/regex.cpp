#include "tokenizer/regex.hpp"

#include "core/error.hpp"
#include "tokenizer/tokenizer.hpp"
#include "tokenizer/unicode.hpp"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

namespace embedlab::tok {

namespace {

// Backtracking budget per match: far above what any real pre-tokenizer pattern needs on a
// megabyte-long piece, low enough that a catastrophic pattern fails in well under a second.
constexpr std::uint32_t kMatchLimit = 20'000'000;
constexpr std::uint32_t kDepthLimit = 100'000;

struct MatchState {
  pcre2_match_context* ctx = nullptr;
  pcre2_jit_stack* jit = nullptr;
  MatchState() {
    ctx = pcre2_match_context_create(nullptr);
    jit = pcre2_jit_stack_create(32 * 1024, 8 * 1024 * 1024, nullptr);
    if (ctx) {
      pcre2_set_match_limit(ctx, kMatchLimit);
      pcre2_set_depth_limit(ctx, kDepthLimit);
      if (jit) pcre2_jit_stack_assign(ctx, nullptr, jit);
    }
  }
  ~MatchState() {
    if (ctx) pcre2_match_context_free(ctx);
    if (jit) pcre2_jit_stack_free(jit);
  }
};

MatchState& match_state() {
  thread_local MatchState state;
  return state;
}

}  // namespace

std::string onig_to_pcre2(std::string_view p) {
  std::string out;
  out.reserve(p.size() + 16);
  int depth = 0;  // inside a character class
  for (std::size_t i = 0; i < p.size(); ++i) {
    const char c = p[i];
    if (c == '\\' && i + 1 < p.size()) {
      const char e = p[i + 1];
      ++i;
      if (depth == 0) {
        if (e == 's') {
          out += "[\\s\\x{85}]";
          continue;
        }
        if (e == 'S') {
          out += "[^\\s\\x{85}]";
          continue;
        }
        if (e == 'w') {
          out += "[\\p{L}\\p{M}\\p{N}\\p{Pc}]";
          continue;
        }
        if (e == 'W') {
          out += "[^\\p{L}\\p{M}\\p{N}\\p{Pc}]";
          continue;
        }
        if (e == 'h') {
          out += "[0-9a-fA-F]";
          continue;
        }
      } else {
        if (e == 's') {
          out += "\\s\\x{85}";
          continue;
        }
        if (e == 'w') {
          out += "\\p{L}\\p{M}\\p{N}\\p{Pc}";
          continue;
        }
        if (e == 'h') {
          out += "0-9a-fA-F";
          continue;
        }
      }
      out += c;
      out += e;
      continue;
    }
    if (c == '[') {
      if (depth == 0) {
        out += c;
        ++depth;
        // A ']' right after '[' or '[^' is a literal.
        if (i + 1 < p.size() && p[i + 1] == '^') out += p[++i];
        if (i + 1 < p.size() && p[i + 1] == ']') out += p[++i];
        continue;
      }
      if (i + 1 < p.size() && p[i + 1] == ':') {  // [:alpha:]
        const auto end = p.find(":]", i + 2);
        if (end != std::string_view::npos) {
          out.append(p.substr(i, end + 2 - i));
          i = end + 1;
          continue;
        }
      }
      ++depth;  // nested class (Oniguruma allows [a[b]])
      out += c;
      continue;
    }
    if (c == ']' && depth > 0) --depth;
    out += c;
  }
  return out;
}

struct Regex::Code {
  pcre2_code* re = nullptr;
  bool jit = false;
  ~Code() {
    if (re) pcre2_code_free(re);
  }
};

Regex::Regex(const std::string& pattern, bool literal, const std::string& file, const std::string& where)
    : code_(std::make_unique<Code>()), pattern_(pattern) {
  if (invalid_utf8_offset(pattern) != std::string::npos) data_error(file, where, "regex pattern is not valid UTF-8");
  const std::string translated = literal ? pattern : onig_to_pcre2(pattern);
  int err = 0;
  PCRE2_SIZE off = 0;
  const std::uint32_t opts = literal ? PCRE2_UTF | PCRE2_NO_UTF_CHECK | PCRE2_LITERAL  // UCP is refused with LITERAL
                                     : PCRE2_UTF | PCRE2_UCP | PCRE2_NO_UTF_CHECK;
  code_->re =
      pcre2_compile(reinterpret_cast<PCRE2_SPTR>(translated.data()), translated.size(), opts, &err, &off, nullptr);
  if (!code_->re) {
    PCRE2_UCHAR msg[256];
    pcre2_get_error_message(err, msg, sizeof msg);
    data_error(file, where,
               fmt::format("invalid regex {} at offset {}: {}", quote_bytes(pattern), off,
                           reinterpret_cast<const char*>(msg)));
  }
  code_->jit = pcre2_jit_compile(code_->re, PCRE2_JIT_COMPLETE) == 0;
}

Regex::~Regex() = default;
Regex::Regex(Regex&&) noexcept = default;
Regex& Regex::operator=(Regex&&) noexcept = default;

void Regex::find_all(std::string_view s, std::vector<std::pair<std::size_t, std::size_t>>& out) const {
  out.clear();
  MatchState& st = match_state();
  pcre2_match_data* md = pcre2_match_data_create_from_pattern(code_->re, nullptr);
  if (!md) throw Error(Exit::software, "tokenizer: out of memory for PCRE2 match data");
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(s.data());
  std::size_t last_end = 0;
  bool have_last_match = false;
  std::size_t last_match_end = 0;
  while (last_end <= s.size()) {
    const int rc = pcre2_match(code_->re, subject, s.size(), last_end, PCRE2_NO_UTF_CHECK, md, st.ctx);
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0) {
      pcre2_match_data_free(md);
      PCRE2_UCHAR msg[256];
      pcre2_get_error_message(rc, msg, sizeof msg);
      throw Error(Exit::data, fmt::format("tokenizer: regex {}: {} (on a piece of {} bytes)", quote_bytes(pattern_),
                                          reinterpret_cast<const char*>(msg), s.size()));
    }
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
    const std::size_t b = ov[0], e = ov[1];
    if (b == e && have_last_match && last_match_end == last_end) {
      // An empty match right after the previous match: step over one character and search again.
      if (last_end >= s.size()) break;
      const std::size_t len = uni::char_len(s, last_end);
      last_end += len == 0 ? 1 : len;
      continue;
    }
    last_end = e;
    have_last_match = true;
    last_match_end = e;
    out.emplace_back(b, e);
    if (b == e) {  // the onig crate then searches from the same place, which the branch above skips
      continue;
    }
  }
  pcre2_match_data_free(md);
}

}  // namespace embedlab::tok
