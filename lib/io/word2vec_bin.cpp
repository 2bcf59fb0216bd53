// word2vec C binary format: `count dim\n`, then per word the token bytes up to ' ', dim float32
// little-endian, and an optional '\n' (the C tool writes one, gensim does not).
#include "core/checked.hpp"
#include "core/error.hpp"
#include "io/binary_util.hpp"
#include "io/readers.hpp"
#include "io/text_util.hpp"

#include <fmt/format.h>

#include <bit>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>

namespace embedlab::io {

namespace {

using detail::show;

constexpr std::size_t kMaxHeader = 256;
constexpr std::size_t kMaxToken = std::size_t{1} << 20;  // 1 MiB: a longer "token" means a corrupt file

}  // namespace

Embeddings read_word2vec_bin(const std::string& path, const WordReadOptions& options) {
  if (options.limit && *options.limit == 0) fail(Exit::usage, path, "", "limit must be at least 1");
  const std::uint64_t want = options.limit.value_or(std::numeric_limits<std::uint64_t>::max());
  detail::ByteStream in(path);
  if (in.file_size() == 0) data_error(path, "", "empty file");
  const std::string at = in.gzip() ? "byte {} (decompressed)" : "byte {}";
  auto where = [&](std::uint64_t offset) { return fmt::format(fmt::runtime(at), offset); };

  // Header: `count dim` then '\n'.
  in.fill(kMaxHeader);
  const std::string_view head = in.window();
  const std::size_t nl = head.find('\n');
  if (nl == std::string_view::npos)
    data_error(path, "byte 0", fmt::format("no header line 'count dim' in the first {} bytes", kMaxHeader));
  std::string_view h = head.substr(0, nl);
  while (!h.empty() && (h.back() == '\r' || h.back() == ' ')) h.remove_suffix(1);
  std::uint64_t count = 0, dim = 0;
  {
    const char* end = h.data() + h.size();
    auto [p, ec] = std::from_chars(h.data(), end, count);
    bool ok = ec == std::errc() && p != end && *p == ' ';
    if (ok) {
      while (p != end && *p == ' ') ++p;
      auto [q, ec2] = std::from_chars(p, end, dim);
      ok = ec2 == std::errc() && q == end;
    }
    if (!ok) data_error(path, "byte 0", fmt::format("header {} is not 'count dim'", show(h)));
  }
  if (count == 0 || dim == 0)
    data_error(path, "byte 0", fmt::format("header says {} x {} (both must be at least 1)", count, dim));
  in.consume(nl + 1);

  // Each record takes at least dim*4 bytes plus a one-byte token and its space: a header promising
  // more than the file holds (a .gz file: more than kMaxGzipExpansion times its size) is refused
  // before anything is allocated. The matrix is then allocated once, for the records to read.
  const std::uint64_t vec_bytes = checked_mul(dim, 4, path, "header");
  const std::uint64_t min_record = checked_add(vec_bytes, 2, path, "header");
  const std::uint64_t need = checked_mul(count, min_record, path, "header");
  const std::uint64_t n_read = std::min(count, want);
  {
    const std::uint64_t avail = in.file_size() - (nl + 1);
    const std::uint64_t room =
        in.gzip() ? checked_mul(in.file_size(), detail::kMaxGzipExpansion, path, "header") : avail;
    if (need > room)
      data_error(path, "header",
                 fmt::format("{} records of {} float32 need at least {} bytes after the header (got {}{})", count, dim,
                             need, in.gzip() ? "a gzip file of " : "", in.gzip() ? in.file_size() : avail));
  }
  if (n_read > detail::TokenIndex::max_rows)
    data_error(path, "header",
               fmt::format("{} records is more than this reader indexes ({})", n_read, detail::TokenIndex::max_rows));
  arma::fmat m;  // d × n_read: column j = kept record j
  m.set_size(static_cast<arma::uword>(dim), static_cast<arma::uword>(n_read));
  std::vector<std::string> tokens;
  tokens.reserve(n_read);
  detail::TokenIndex index(tokens);
  index.reserve(n_read);
  detail::DuplicateLog dups;
  std::uint64_t rows = 0;

  for (std::uint64_t r = 0; r < n_read; ++r) {
    // gensim strips '\n' before a token (the C tool's separator after each vector).
    while (in.fill(1) && in.window()[0] == '\n') in.consume(1);
    const std::uint64_t rec_at = in.offset();
    std::size_t scanned = 0, space = std::string_view::npos;
    for (;;) {
      const std::string_view w = in.window();
      const std::size_t s = w.find(' ', scanned);
      if (s != std::string_view::npos) {
        space = s;
        break;
      }
      scanned = w.size();
      if (scanned > kMaxToken)
        data_error(path, where(rec_at), fmt::format("record {}: no ' ' after the token within 1 MiB", r + 1));
      if (!in.fill(scanned + 1)) break;
    }
    if (space == std::string_view::npos) {
      if (in.window().empty())
        data_error(path, where(rec_at),
                   fmt::format("the file ends after {} records but the header says {} (truncated?)", r, count));
      data_error(path, where(rec_at), fmt::format("record {} of {}: truncated inside the token", r + 1, count));
    }
    const std::string_view token = in.window().substr(0, space);
    if (token.empty()) data_error(path, where(rec_at), fmt::format("record {}: empty token", r + 1));
    if (const std::size_t off = invalid_utf8_offset(token); off != std::string_view::npos)
      data_error(path, where(rec_at),
                 fmt::format("record {}: token {} is not valid UTF-8 (byte {} of the token)", r + 1, show(token), off));
    tokens.emplace_back(token);
    in.consume(space + 1);

    if (!in.fill(vec_bytes))
      data_error(path, where(in.offset()),
                 fmt::format("record {} of {} (token {}): truncated: {} of {} vector bytes present", r + 1, count,
                             show(tokens.back()), in.window().size(), vec_bytes));
    float* dst = m.colptr(static_cast<arma::uword>(rows));  // a dropped duplicate is overwritten by the next
    std::memcpy(dst, in.window().data(), vec_bytes);
    if constexpr (std::endian::native == std::endian::big) {
      for (std::uint64_t k = 0; k < dim; ++k)
        dst[k] = std::bit_cast<float>(__builtin_bswap32(std::bit_cast<std::uint32_t>(dst[k])));
    }
    for (std::uint64_t k = 0; k < dim; ++k)
      if (!std::isfinite(dst[k]))
        data_error(path, where(in.offset() + 4 * k),
                   fmt::format("record {} (token {}): value {} is not finite ({})", r + 1, show(tokens.back()), k + 1,
                               dst[k]));
    in.consume(vec_bytes);
    if (const std::uint64_t prev = index.insert(rows); prev != detail::TokenIndex::npos) {
      const std::uint64_t first = dups.record_of_row(prev) + 1;
      if (options.duplicates == DuplicatePolicy::error)
        data_error(path, where(rec_at),
                   fmt::format("record {}: duplicate token {} (first at record {}) [embeddings.duplicates = first "
                               "keeps the first, as gensim]",
                               r + 1, detail::show_dq(tokens.back()), first));
      dups.dropped(tokens.back(), r, prev);
      tokens.pop_back();
      continue;
    }
    ++rows;
  }
  if (n_read == count) {
    // Only line breaks may follow the last record the header declares.
    while (in.fill(1) && (in.window()[0] == '\n' || in.window()[0] == '\r')) in.consume(1);
    if (in.fill(1))
      data_error(path, where(in.offset()), fmt::format("bytes after the {} records the header declares", count));
  }

  Embeddings e;
  detail::keep_first_columns(m, static_cast<arma::uword>(rows));
  e.vectors = std::move(m);
  e.tokens = std::move(tokens);
  e.duplicates = dups.take(1);
  e.duplicate_position = "record";
  e.source.path = path;
  e.source.format = "word2vec-bin";
  e.source.dtype = in.gzip() ? "F32 (gzip)" : "F32";
  e.source.shape = {rows, dim};
  e.source.sha256 = in.sha256();
  return e;
}

Embeddings read_word2vec_bin(const std::string& path, std::optional<std::uint64_t> limit) {
  WordReadOptions o;
  o.limit = limit;
  return read_word2vec_bin(path, o);
}

}  // namespace embedlab::io
