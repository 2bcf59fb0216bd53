#include "io/benchmarks.hpp"

#include "core/error.hpp"
#include "io/binary_util.hpp"
#include "io/text_util.hpp"

#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <system_error>

namespace embedlab::io {

namespace {

// Benchmark files are a few MB; anything near this is not one.
constexpr std::uint64_t kMaxBenchmarkBytes = std::uint64_t{1} << 30;

std::string read_whole(const std::string& path) {
  const BinaryFile f(path);
  if (f.size() > kMaxBenchmarkBytes)
    data_error(
        path, "",
        fmt::format("{} bytes is too large for a benchmark file (expected at most {})", f.size(), kMaxBenchmarkBytes));
  return f.read_string_at(0, f.size(), "contents");
}

// Calls fn(line_without_eol, 1-based number) for every line; a last line without "\n" counts.
template <class Fn>
void for_each_line(std::string_view text, const std::string& name, Fn&& fn) {
  if (const std::size_t bad = invalid_utf8_offset(text); bad != std::string_view::npos) {
    std::uint64_t line = 1;
    for (std::size_t i = 0; i < bad; ++i) line += text[i] == '\n';
    data_error(name, fmt::format("line {}", line), fmt::format("invalid UTF-8 at byte offset {}", bad));
  }
  std::uint64_t number = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    std::string_view line = text.substr(pos, eol - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    fn(line, ++number);
    pos = eol + 1;
  }
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\v' || c == '\f' || c == '\r' || c == '\n'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

bool blank(std::string_view s) { return trim(s).empty(); }

std::vector<std::string_view> split_whitespace(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && is_space(s[i])) ++i;
    const std::size_t start = i;
    while (i < s.size() && !is_space(s[i])) ++i;
    if (i > start) out.push_back(s.substr(start, i - start));
  }
  return out;
}

}  // namespace

WordPairSet parse_word_pairs(std::string_view text, const std::string& name, char delimiter) {
  WordPairSet set;
  set.path = name;
  const std::string delim_name = delimiter == '\t' ? "<TAB>" : std::string(1, delimiter);
  for_each_line(text, name, [&](std::string_view line, std::uint64_t number) {
    if (line.starts_with('#') || blank(line)) return;
    const std::string where = fmt::format("line {}", number);
    std::vector<std::string_view> fields;
    for (std::size_t start = 0;;) {
      const std::size_t d = line.find(delimiter, start);
      fields.push_back(line.substr(start, d == std::string_view::npos ? std::string_view::npos : d - start));
      if (d == std::string_view::npos) break;
      start = d + 1;
    }
    if (fields.size() != 3)
      data_error(name, where,
                 fmt::format("expected word1{0}word2{0}score (got {1} field{2}: {3})", delim_name, fields.size(),
                             fields.size() == 1 ? "" : "s", detail::show(line)));
    if (fields[0].empty() || fields[1].empty())
      data_error(name, where, fmt::format("empty word (got {})", detail::show(line)));
    const std::string_view num = trim(fields[2]);
    double score = 0.0;
    const auto [end, ec] = std::from_chars(num.data(), num.data() + num.size(), score);
    if (num.empty() || ec != std::errc() || end != num.data() + num.size() || !std::isfinite(score))
      data_error(name, where, fmt::format("score is not a finite number (got {})", detail::show(fields[2])));
    set.a.emplace_back(fields[0]);
    set.b.emplace_back(fields[1]);
    set.score.push_back(score);
    set.line.push_back(number);
  });
  if (set.size() == 0) data_error(name, "", "no word pairs (only comments or blank lines)");
  return set;
}

AnalogySet parse_analogies(std::string_view text, const std::string& name) {
  AnalogySet set;
  set.path = name;
  for_each_line(text, name, [&](std::string_view line, std::uint64_t number) {
    if (line.starts_with(": ")) {
      if (!set.sections.empty()) set.sections.back().end = set.questions.size();
      std::string_view title = line;
      while (!title.empty() && (title.front() == ':' || title.front() == ' ')) title.remove_prefix(1);
      set.sections.push_back({std::string(trim(title)), set.questions.size(), set.questions.size(), number});
      return;
    }
    if (blank(line)) return;
    const std::string where = fmt::format("line {}", number);
    if (set.sections.empty())
      data_error(name, where, fmt::format("question before the first ': section' header (got {})", detail::show(line)));
    const auto words = split_whitespace(line);
    if (words.size() != 4)
      data_error(name, where, fmt::format("expected 4 words 'a b c d' (got {}: {})", words.size(), detail::show(line)));
    set.questions.push_back(
        {std::string(words[0]), std::string(words[1]), std::string(words[2]), std::string(words[3])});
    set.line.push_back(number);
  });
  if (set.sections.empty()) data_error(name, "", "no ': section' header (not a word2vec analogy file)");
  set.sections.back().end = set.questions.size();
  return set;
}

WordPairSet read_word_pairs(const std::string& path, char delimiter) {
  return parse_word_pairs(read_whole(path), path, delimiter);
}

AnalogySet read_analogies(const std::string& path) { return parse_analogies(read_whole(path), path); }

}  // namespace embedlab::io
