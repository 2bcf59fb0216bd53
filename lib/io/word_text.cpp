// GloVe text (`word v1 ... vd` per line, no header) and word2vec text (first line `count dim`),
// plain or gzip. One pass over big blocks; values are parsed straight into the final matrix, which
// is allocated once (from the header's count, or from a first pass counting the lines of a
// header-less file), so loading never holds more than that matrix and its tokens.
//
// Fields are separated by any mix of spaces and tabs. A token may contain separators itself
// (glove.840B has ". . ." and "at name@domain.com"): the last `dim` fields are the vector and
// everything before them, with its separator bytes as they are, is the token. `dim` comes from the
// header, or for a header-less file from the first data line: the number of trailing numeric fields
// after its first field (gensim's no_header=True also takes the first line's field count). A token
// of several fields that ends with a numeric field cannot be told from a line with too many values
// and is read as the latter (an error).
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

// A field that is one whole number (finite or not: non-finite values are refused later, by name).
bool numeric(std::string_view f, float& v) {
  const char* q = detail::parse_decimal(f.data(), f.data() + f.size(), v);
  return q == f.data() + f.size();
}

class TextReader {
 public:
  TextReader(const std::string& path, const WordReadOptions& o)
      : in_(path),
        want_(o.limit.value_or(std::numeric_limits<std::uint64_t>::max())),
        policy_(o.duplicates),
        index_(tokens_) {}

  Embeddings run() {
    const std::string& path = in_.path();
    if (in_.file_size() == 0) data_error(path, "", "empty file");
    std::size_t scanned = 0;  // bytes of the window already searched for '\n'
    while (records_ < want_) {
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
    if (header_ && records_ == count_)
      bad(line_no_, fmt::format("more rows than the header's count {} (line 1)", count_));
    row(s, last);
  }

  void check_header() {
    const std::string& path = in_.path();
    if (count_ == 0 || dim_ == 0)
      bad(1, fmt::format("header 'count dim' says {} x {} (both must be at least 1)", count_, dim_));
    // Each value takes at least two bytes (a digit and a separator): a header promising more than
    // the file can hold is a lie, caught before anything is allocated. A .gz file holds at most
    // kMaxGzipExpansion times its size.
    const std::uint64_t need = checked_mul(checked_mul(count_, dim_, path, "line 1"), 2, path, "line 1");
    const std::uint64_t room =
        in_.gzip() ? checked_mul(in_.file_size(), detail::kMaxGzipExpansion, path, "line 1") : in_.file_size();
    if (need > room)
      bad(1, fmt::format("header says {} rows of {} values, which need at least {} bytes (got a {}file of {} bytes)",
                         count_, dim_, need, in_.gzip() ? "gzip " : "", in_.file_size()));
    first_data_line_ = 2;
    allocate(std::min(count_, want_));
  }

  void allocate(std::uint64_t rows) {
    if (rows > detail::TokenIndex::max_rows)
      bad(line_no_, fmt::format("{} rows is more than this reader indexes ({})", rows, detail::TokenIndex::max_rows));
    // Untouched columns cost address space only: pages are resident once values are written.
    m_.set_size(static_cast<arma::uword>(dim_), static_cast<arma::uword>(rows));
    tokens_.reserve(rows);
    index_.reserve(rows);
  }

  // The fields of a line (spans into it), separators skipped.
  void split(std::string_view s) {
    fields_.clear();
    std::size_t i = 0;
    while (i < s.size()) {
      while (i < s.size() && is_sep(s[i])) ++i;
      if (i == s.size()) break;
      const std::size_t b = i;
      while (i < s.size() && !is_sep(s[i])) ++i;
      fields_.push_back(s.substr(b, i - b));
    }
  }

  // Numeric fields at the end of the line, not counting the first field (always the token);
  // counting stops at `cap`.
  std::size_t trailing_numbers(std::size_t cap) const {
    std::size_t k = 0;
    float v = 0;
    while (k < cap && k + 1 < fields_.size() && numeric(fields_[fields_.size() - 1 - k], v)) ++k;
    return k;
  }

  // The token: the line from its start to the end of field `last_field`.
  static std::string_view token_through(std::string_view s, std::string_view last_field) {
    return s.substr(0, static_cast<std::size_t>(last_field.data() + last_field.size() - s.data()));
  }

  void first_line_dim(std::string_view s) {
    split(s);
    const std::size_t k = trailing_numbers(std::numeric_limits<std::size_t>::max());
    if (k == 0 && fields_.size() > 1)
      bad(line_no_, fmt::format("value {} of token {} is not a number: {}", fields_.size() - 1, show(fields_[0]),
                                show(fields_.back())));
    if (k == 0) bad(line_no_, fmt::format("token {} has no values", show(fields_[0])));
    dim_ = k;
    first_data_line_ = line_no_;
    // Without a header, a first pass counts the lines so the matrix is allocated once, exactly.
    allocate(std::min(want_, detail::count_lines(in_.path(), in_.gzip())));
  }

  // Parses the `dim_` values of a line into dst and returns the token; throws on a bad line.
  std::string_view parse(std::string_view s, bool last, float* dst) {
    // Fast path: one token field then exactly dim numbers (every line of an ordinary file).
    {
      const char* p = s.data();
      const char* end = s.data() + s.size();
      const char* t = p;
      while (t != end && !is_sep(*t)) ++t;
      const std::string_view token(p, static_cast<std::size_t>(t - p));
      std::uint64_t k = 0;
      p = t;
      bool ok = !token.empty();
      while (ok) {
        while (p != end && is_sep(*p)) ++p;
        if (p == end) break;
        float v = 0;
        const char* q = detail::parse_decimal(p, end, v);
        if (q == nullptr || (q != end && !is_sep(*q)) || k == dim_) {
          ok = false;
          break;
        }
        dst[k++] = v;
        p = q;
      }
      if (ok && k == dim_) return token;
    }
    // Slow path: a token with separators in it, or a bad line (said precisely here).
    split(s);
    if (fields_.empty() || is_sep(s.front())) bad(line_no_, "empty token (line starts with a space or tab)");
    const std::size_t values = fields_.size() - 1;
    std::size_t first_value = 1;
    std::string_view token = fields_[0];
    if (values <= dim_) {
      float v = 0;
      for (std::size_t j = 1; j < fields_.size(); ++j)
        if (!numeric(fields_[j], v))
          bad(line_no_, fmt::format("value {} of token {} is not a number: {}", j, show(token), show(fields_[j])));
    } else {
      const std::size_t k = trailing_numbers(dim_ + 1);
      if (k == dim_) {  // the fields before the vector are the token; its last one is not a number
        first_value = fields_.size() - dim_;
        token = token_through(s, fields_[first_value - 1]);
      } else {
        const std::string_view t = token_through(s, fields_[fields_.size() - 1 - k]);
        if (k > dim_) bad(line_no_, fmt::format("token {} has more than {} values ({})", show(t), dim_, expected()));
        bad(line_no_, fmt::format("token {} has {} values (expected {} {})", show(t), k, dim_, expected()));
      }
    }
    if (fields_.size() - first_value != dim_)
      bad(line_no_, fmt::format("token {} has {} values (expected {} {}){}", show(token), values, dim_, expected(),
                                last ? "; the file ends here (truncated last line?)" : ""));
    for (std::size_t j = 0; j < dim_; ++j) {
      const bool ok = numeric(fields_[first_value + j], dst[j]);
      (void)ok;  // checked above
    }
    return token;
  }

  std::string expected() const {
    return header_ ? "as the header says" : fmt::format("as on line {}", first_data_line_);
  }

  void row(std::string_view s, bool last) {
    if (is_sep(s.front())) bad(line_no_, "empty token (line starts with a space or tab)");
    if (dim_ == 0) first_line_dim(s);
    if (rows_ == m_.n_cols) grow();
    float* dst = m_.colptr(static_cast<arma::uword>(rows_));
    const std::string_view token = parse(s, last, dst);
    if (const std::size_t off = invalid_utf8_offset(token); off != std::string_view::npos)
      bad(line_no_, fmt::format("token {} is not valid UTF-8 (byte {} of the token)", show(token), off));
    for (std::uint64_t k = 0; k < dim_; ++k)
      if (!std::isfinite(dst[k]))
        bad(line_no_, fmt::format("value {} of token {} is not finite: {}", k + 1, show(token), dst[k]));
    const std::uint64_t record = records_++;
    tokens_.emplace_back(token);
    if (const std::uint64_t prev = index_.insert(rows_); prev != detail::TokenIndex::npos) {
      tokens_.pop_back();  // the next row overwrites this one's values
      const std::uint64_t first_line = first_data_line_ + dups_.record_of_row(prev);
      if (policy_ == DuplicatePolicy::error)
        bad(line_no_, fmt::format("duplicate token {} (first at line {}) [embeddings.duplicates = first keeps the "
                                  "first, as gensim]",
                                  detail::show_dq(token), first_line));
      dups_.dropped(token, record, prev);
      return;
    }
    ++rows_;
  }

  // Only when the line count of the first pass was short (a file changing while read): grow by
  // half again, copying once.
  void grow() {
    arma::fmat bigger(m_.n_rows, m_.n_cols + m_.n_cols / 2 + 16);
    if (m_.n_elem > 0) std::memcpy(bigger.memptr(), m_.memptr(), sizeof(float) * m_.n_elem);
    m_ = std::move(bigger);
  }

  Embeddings finish() {
    const std::string& path = in_.path();
    if (rows_ == 0) data_error(path, "", header_ ? "no rows after the header" : "no rows (only blank lines)");
    if (header_ && records_ < want_ && records_ != count_)
      data_error(
          path, fmt::format("line {}", line_no_),
          fmt::format("the file ends after {} rows but the header (line 1) says {} (truncated?)", records_, count_));
    Embeddings e;
    detail::keep_first_columns(m_, static_cast<arma::uword>(rows_));
    e.vectors = std::move(m_);  // column j = row j on disk
    e.tokens = std::move(tokens_);
    e.duplicates = dups_.take(first_data_line_);
    e.duplicate_position = "line";
    e.source.path = path;
    e.source.format = header_ ? "word2vec" : "glove";
    e.source.dtype = in_.gzip() ? "text (gzip)" : "text";
    e.source.shape = {rows_, dim_};
    e.source.sha256 = in_.sha256();
    return e;
  }

  detail::ByteStream in_;
  std::uint64_t want_;
  DuplicatePolicy policy_;
  std::vector<std::string> tokens_;
  arma::fmat m_;  // d × capacity; the first rows_ columns are the rows read
  detail::TokenIndex index_;
  detail::DuplicateLog dups_;
  std::vector<std::string_view> fields_;  // scratch of the slow path
  std::uint64_t line_no_ = 0, blank_line_ = 0, first_data_line_ = 0;
  std::uint64_t rows_ = 0, records_ = 0, dim_ = 0, count_ = 0;
  bool header_ = false;
};

}  // namespace

Embeddings read_word_text(const std::string& path, const WordReadOptions& options) {
  if (options.limit && *options.limit == 0) fail(Exit::usage, path, "", "limit must be at least 1");
  TextReader reader(path, options);
  return reader.run();
}

Embeddings read_word_text(const std::string& path, std::optional<std::uint64_t> limit) {
  WordReadOptions o;
  o.limit = limit;
  return read_word_text(path, o);
}

}  // namespace embedlab::io
