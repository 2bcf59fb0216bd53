// GloVe text (`word v1 ... vd` per line, no header) and word2vec text (first line `count dim`),
// plain or gzip. One pass over big blocks; values go straight into one growing float buffer.
#include "core/checked.hpp"
#include "core/error.hpp"
#include "io/binary_util.hpp"
#include "io/readers.hpp"
#include "io/text_util.hpp"

#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>

namespace embedlab::io {

namespace {

using detail::show;

constexpr std::size_t kMaxLine = std::size_t{1} << 28;  // 256 MiB: no real embedding line is longer

const char* find_newline(std::string_view w, std::size_t from) {
  return static_cast<const char*>(std::memchr(w.data() + from, '\n', w.size() - from));
}

bool is_sep(char c) { return c == ' ' || c == '\t'; }

std::string_view trim_right(std::string_view s) {
  while (!s.empty() && (s.back() == '\r' || is_sep(s.back()))) s.remove_suffix(1);
  return s;
}

// `count dim` with both fields plain unsigned integers, or nothing.
std::optional<std::pair<std::uint64_t, std::uint64_t>> parse_header(std::string_view line) {
  std::uint64_t v[2] = {0, 0};
  const char* p = line.data();
  const char* end = line.data() + line.size();
  for (int k = 0; k < 2; ++k) {
    if (k > 0)
      while (p != end && is_sep(*p)) ++p;
    const auto [q, ec] = std::from_chars(p, end, v[k]);
    if (ec != std::errc() || q == p || (q != end && !is_sep(*q))) return std::nullopt;
    p = q;
  }
  while (p != end && is_sep(*p)) ++p;
  if (p != end) return std::nullopt;
  return std::make_pair(v[0], v[1]);
}

class TextReader {
 public:
  TextReader(const std::string& path, std::uint64_t want) : in_(path), want_(want), index_(tokens_) {}

  Embeddings run() {
    const std::string& path = in_.path();
    if (in_.file_size() == 0) data_error(path, "", "empty file");
    std::size_t scanned = 0;  // bytes of the window already searched for '\n'
    while (rows_ < want_) {
      std::string_view w = in_.window();
      const char* nl = find_newline(w, scanned);
      while (nl == nullptr) {
        scanned = w.size();
        if (scanned > kMaxLine) data_error(path, fmt::format("line {}", line_no_ + 1), "line longer than 256 MiB");
        const bool got = in_.more();
        w = in_.window();
        if (!got) break;
        nl = find_newline(w, scanned);
      }
      if (nl == nullptr && w.empty()) break;
      const std::size_t len = nl != nullptr ? static_cast<std::size_t>(nl - w.data()) : w.size();
      ++line_no_;
      line(trim_right(w.substr(0, len)), nl == nullptr);
      in_.consume(nl != nullptr ? len + 1 : len);
      scanned = 0;
    }
    return finish();
  }

 private:
  [[noreturn]] void bad(std::uint64_t line, const std::string& what) {
    data_error(in_.path(), fmt::format("line {}", line), what);
  }

  void line(std::string_view s, bool last) {
    if (s.empty()) {
      if (blank_line_ == 0) blank_line_ = line_no_;
      return;
    }
    if (blank_line_ != 0) bad(blank_line_, "blank line before more data");
    if (line_no_ == 1) {
      if (const auto h = parse_header(s)) {
        header_ = true;
        count_ = h->first;
        dim_ = h->second;
        check_header();
        return;
      }
    }
    if (header_ && rows_ == count_) bad(line_no_, fmt::format("more rows than the header's count {} (line 1)", count_));
    row(s, last);
  }

  void check_header() {
    const std::string& path = in_.path();
    if (count_ == 0 || dim_ == 0)
      bad(1, fmt::format("header 'count dim' says {} x {} (both must be at least 1)", count_, dim_));
    // Each value takes at least two bytes (a digit and a separator): a header promising more than
    // the file can hold is a lie, caught before anything is allocated. A .gz file cannot be bounded
    // this way, so for it nothing is reserved from the header.
    const std::uint64_t need = checked_mul(checked_mul(count_, dim_, path, "line 1"), 2, path, "line 1");
    if (!in_.gzip()) {
      if (need > in_.file_size())
        bad(1, fmt::format("header says {} rows of {} values, which need at least {} bytes (got a file of {} bytes)",
                           count_, dim_, need, in_.file_size()));
      reserve(std::min(count_, want_));
    }
  }

  void reserve(std::uint64_t n) {
    values_.reserve(n * dim_);
    tokens_.reserve(n);
    lines_.reserve(n);
    index_.reserve(n);
  }

  void row(std::string_view s, bool last) {
    const char* p = s.data();
    const char* end = s.data() + s.size();
    const char* sp = static_cast<const char*>(std::memchr(p, ' ', s.size()));
    const char* tok_end = sp != nullptr ? sp : end;
    const std::string_view token(p, static_cast<std::size_t>(tok_end - p));
    if (token.empty()) bad(line_no_, "empty token (line starts with a space)");
    if (const std::size_t off = invalid_utf8_offset(token); off != std::string_view::npos)
      bad(line_no_, fmt::format("token {} is not valid UTF-8 (byte {} of the token)", show(token), off));

    std::uint64_t k = 0;
    p = tok_end;
    for (;;) {
      while (p != end && is_sep(*p)) ++p;
      if (p == end) break;
      float v = 0;
      const char* q = detail::parse_decimal(p, end, v);
      if (q == nullptr || (q != end && !is_sep(*q))) {
        const char* e = p;
        while (e != end && !is_sep(*e)) ++e;
        bad(line_no_, fmt::format("value {} of token {} is not a number: {}", k + 1, show(token),
                                  show({p, static_cast<std::size_t>(e - p)})));
      }
      if (!std::isfinite(v))
        bad(line_no_, fmt::format("value {} of token {} is not finite: {}", k + 1, show(token),
                                  show({p, static_cast<std::size_t>(q - p)})));
      ++k;
      if (dim_ != 0 && k > dim_) break;
      values_.push_back(v);
      p = q;
    }
    if (dim_ == 0) {
      if (k == 0) bad(line_no_, fmt::format("token {} has no values", show(token)));
      dim_ = k;
      first_data_line_ = line_no_;
      // Without a header, guess the row count from the first line's length (+10%) so the buffers
      // rarely reallocate; the guess is bounded by the file size (each value takes >= 2 bytes).
      if (!in_.gzip()) reserve(std::min(want_, in_.file_size() / (s.size() + 1) * 11 / 10 + 16));
    } else if (k != dim_) {
      const std::string expected = header_ ? "as the header says" : fmt::format("as on line {}", first_data_line_);
      if (k > dim_) bad(line_no_, fmt::format("token {} has more than {} values ({})", show(token), dim_, expected));
      bad(line_no_, fmt::format("token {} has {} values (expected {} {}){}", show(token), k, dim_, expected,
                                last ? "; the file ends here (truncated last line?)" : ""));
    }
    tokens_.emplace_back(token);
    lines_.push_back(line_no_);
    if (const std::uint64_t prev = index_.insert(rows_); prev != detail::TokenIndex::npos)
      bad(line_no_, fmt::format("duplicate token {} (first on line {})", show(token), lines_[prev]));
    ++rows_;
  }

  Embeddings finish() {
    const std::string& path = in_.path();
    if (rows_ == 0) data_error(path, "", header_ ? "no rows after the header" : "no rows (only blank lines)");
    if (header_ && rows_ < want_ && rows_ != count_)
      data_error(
          path, fmt::format("line {}", line_no_),
          fmt::format("the file ends after {} rows but the header (line 1) says {} (truncated?)", rows_, count_));
    Embeddings e;
    e.vectors = arma::fmat(values_.data(), dim_, rows_);  // column j = row j on disk
    std::vector<float>().swap(values_);
    e.tokens = std::move(tokens_);
    e.source.path = path;
    e.source.format = header_ ? "word2vec" : "glove";
    e.source.dtype = in_.gzip() ? "text (gzip)" : "text";
    e.source.shape = {rows_, dim_};
    e.source.sha256 = in_.sha256();
    return e;
  }

  detail::ByteStream in_;
  std::uint64_t want_;
  std::vector<std::string> tokens_;
  std::vector<std::uint64_t> lines_;  // line number of each row, for duplicate messages
  std::vector<float> values_;         // row-major n × d
  detail::TokenIndex index_;
  std::uint64_t line_no_ = 0, blank_line_ = 0, first_data_line_ = 0;
  std::uint64_t rows_ = 0, dim_ = 0, count_ = 0;
  bool header_ = false;
};

}  // namespace

Embeddings read_word_text(const std::string& path, std::optional<std::uint64_t> limit) {
  if (limit && *limit == 0) fail(Exit::usage, path, "", "limit must be at least 1");
  TextReader reader(path, limit.value_or(std::numeric_limits<std::uint64_t>::max()));
  return reader.run();
}

}  // namespace embedlab::io
