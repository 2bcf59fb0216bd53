#pragma once
// The regex engine of tokenizer.json patterns: PCRE2 (UTF + UCP, JIT when available) with match
// limits, and the search loop of the `onig` crate HF uses (find_iter: an empty match right after the
// previous match is skipped). Oniguruma classes that differ from PCRE2's are translated: \s also
// matches U+0085, \w is Letter | Mark | Number | Connector_Punctuation, \h is a hex digit.
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace embedlab::tok {

class Regex {
 public:
  // `literal`: the pattern is a plain string (HF's {"String": ...}). A pattern PCRE2 cannot compile
  // throws Error(data) naming `file`, `where` and the pattern.
  Regex(const std::string& pattern, bool literal, const std::string& file, const std::string& where);
  ~Regex();
  Regex(Regex&&) noexcept;
  Regex& operator=(Regex&&) noexcept;

  // Every match of the pattern in `s` (valid UTF-8), as [start, end) byte offsets, in order.
  // A match that exceeds PCRE2's match limit throws Error(data) naming the pattern.
  void find_all(std::string_view s, std::vector<std::pair<std::size_t, std::size_t>>& out) const;
  const std::string& pattern() const { return pattern_; }

 private:
  struct Code;
  std::unique_ptr<Code> code_;
  std::string pattern_;
};

// The Oniguruma → PCRE2 translation (exposed for tests).
std::string onig_to_pcre2(std::string_view pattern);

}  // namespace embedlab::tok
