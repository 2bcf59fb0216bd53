#include "io/text_util.hpp"

#include "core/error.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>

namespace embedlab::io::detail {

namespace {
// Decoded bytes buffered at a time, and compressed bytes read at a time. Buffers are sized to the
// file (a 70-byte input gets a 4 KiB buffer, not a 1 MiB one) and never zero-filled: allocating
// and clearing megabytes per small input was what held the fuzz targets to a few runs per second.
constexpr std::size_t kBlock = std::size_t{1} << 20;
constexpr std::size_t kRawBlock = std::size_t{256} << 10;
constexpr std::size_t kMinBlock = 4096;

std::size_t block_for(std::uint64_t expected, std::size_t most) {
  return static_cast<std::size_t>(std::clamp<std::uint64_t>(expected + 1, kMinBlock, most));
}
}  // namespace

ByteStream::ByteStream(const std::string& path) : path_(path) {
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) fail(Exit::no_input, path, "", fmt::format("cannot open for reading: {}", std::strerror(errno)));
  struct stat st {};
  if (::fstat(fd_, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd_);
    fd_ = -1;
    fail(Exit::no_input, path, "", "not a regular file");
  }
  file_size_ = static_cast<std::uint64_t>(st.st_size);
  unsigned char magic[2] = {0, 0};
  gzip_ = ::pread(fd_, magic, 2, 0) == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
  // A .gz file decodes to more than its size: start at 4x and let more() grow the buffer.
  cap_ = block_for(gzip_ ? file_size_ * 4 : file_size_, kBlock);
  buf_ = std::make_unique_for_overwrite<char[]>(cap_);
  if (gzip_) {
    raw_cap_ = block_for(file_size_, kRawBlock);
    raw_ = std::make_unique_for_overwrite<char[]>(raw_cap_);
    // 16 + MAX_WBITS: gzip wrapper only (the magic said so).
    if (inflateInit2(&zs_, 16 + MAX_WBITS) != Z_OK) fail(Exit::software, path, "", "cannot initialise zlib");
    zs_live_ = true;
  }
}

ByteStream::~ByteStream() {
  if (zs_live_) inflateEnd(&zs_);
  if (fd_ >= 0) ::close(fd_);
}

std::size_t ByteStream::read_raw(char* dst, std::size_t cap) {
  for (;;) {
    const ssize_t got = ::read(fd_, dst, cap);
    if (got >= 0) {
      hash_.update(dst, static_cast<std::size_t>(got));
      return static_cast<std::size_t>(got);
    }
    if (errno != EINTR) fail(Exit::no_input, path_, "", fmt::format("read error: {}", std::strerror(errno)));
  }
}

std::size_t ByteStream::produce(char* dst, std::size_t cap) {
  if (!gzip_) return read_raw(dst, cap);
  for (;;) {
    if (zs_.avail_in == 0 && !raw_eof_) {
      const std::size_t got = read_raw(raw_.get(), raw_cap_);
      if (got == 0) raw_eof_ = true;
      zs_.next_in = reinterpret_cast<Bytef*>(raw_.get());
      zs_.avail_in = static_cast<uInt>(got);
    }
    if (member_done_) {
      if (zs_.avail_in == 0 && raw_eof_) return 0;
      // Another gzip member follows (as `cat a.gz b.gz` makes).
      inflateReset(&zs_);
      member_done_ = false;
    }
    zs_.next_out = reinterpret_cast<Bytef*>(dst);
    zs_.avail_out = static_cast<uInt>(cap);
    const int rc = inflate(&zs_, Z_NO_FLUSH);
    const std::size_t produced = cap - zs_.avail_out;
    if (rc == Z_STREAM_END) {
      member_done_ = true;
    } else if (rc == Z_BUF_ERROR || (rc == Z_OK && produced == 0 && zs_.avail_in == 0 && raw_eof_)) {
      if (raw_eof_ && zs_.avail_in == 0) data_error(path_, "", "gzip stream ends early (truncated .gz file)");
    } else if (rc != Z_OK) {
      data_error(path_, "", fmt::format("gzip: {}", zs_.msg != nullptr ? zs_.msg : "corrupt data"));
    }
    if (produced > 0) return produced;
  }
}

void ByteStream::consume(std::size_t n) {
  begin_ += n;
  consumed_ += n;
}

bool ByteStream::more() {
  if (eof_) return false;
  if (begin_ > 0 && cap_ - end_ < cap_ / 4) {
    std::memmove(buf_.get(), buf_.get() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  if (end_ == cap_) {
    // The unread part fills the whole buffer (a very long line): grow by doubling, so memory is
    // bounded by bytes actually present in the stream.
    auto bigger = std::make_unique_for_overwrite<char[]>(cap_ * 2);
    std::memcpy(bigger.get(), buf_.get() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
    cap_ *= 2;
    buf_ = std::move(bigger);
  }
  const std::size_t got = produce(buf_.get() + end_, cap_ - end_);
  if (got == 0) {
    eof_ = true;
    return false;
  }
  end_ += got;
  return true;
}

bool ByteStream::fill(std::size_t n) {
  while (end_ - begin_ < n && more()) {
  }
  return end_ - begin_ >= n;
}

std::string ByteStream::sha256() {
  // The rest of the file goes through the raw block (gzip) or the decode buffer: nothing read
  // from either is needed any more.
  char* tmp = gzip_ ? raw_.get() : buf_.get();
  const std::size_t cap = gzip_ ? raw_cap_ : cap_;
  begin_ = end_ = 0;
  while (read_raw(tmp, cap) > 0) {
  }
  return hash_.hex();
}

TokenIndex::TokenIndex(const std::vector<std::string>& tokens) : tokens_(&tokens) { rehash(64); }

void TokenIndex::reserve(std::uint64_t n) {
  std::size_t slots = slots_.size();
  while (slots / 2 < n && slots < (std::size_t{1} << 33)) slots *= 2;
  if (slots != slots_.size()) rehash(slots);
}

void TokenIndex::rehash(std::size_t slots) {
  std::vector<std::uint32_t> old(slots, 0);
  old.swap(slots_);
  const std::size_t mask = slots_.size() - 1;
  for (const std::uint32_t v : old) {
    if (v == 0) continue;
    std::size_t i = std::hash<std::string_view>{}((*tokens_)[v - 1]) & mask;
    while (slots_[i] != 0) i = (i + 1) & mask;
    slots_[i] = v;
  }
}

std::uint64_t TokenIndex::insert(std::uint64_t row) {
  if (row >= max_rows) std::abort();  // callers refuse files with more rows first
  if ((used_ + 1) * 2 > slots_.size()) rehash(slots_.size() * 2);
  const std::string& t = (*tokens_)[row];
  const std::size_t mask = slots_.size() - 1;
  std::size_t i = std::hash<std::string_view>{}(t)&mask;
  while (slots_[i] != 0) {
    if ((*tokens_)[slots_[i] - 1] == t) return slots_[i] - 1;
    i = (i + 1) & mask;
  }
  slots_[i] = static_cast<std::uint32_t>(row + 1);
  ++used_;
  return npos;
}

std::uint64_t count_lines(const std::string& path, bool gzip) {
  // Errors of the file itself (unreadable, corrupt or truncated gzip) are left to the reading
  // pass, which names them; this pass only counts what it can decode.
  std::uint64_t lines = 0;
  char last = '\n';
  struct stat st {};
  const std::uint64_t size = ::stat(path.c_str(), &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
  const std::size_t cap = block_for(gzip ? size * 4 : size, kBlock);
  const auto buf = std::make_unique_for_overwrite<char[]>(cap);
  auto scan = [&](std::size_t n) {
    const char* const end = buf.get() + n;
    for (const char* p = buf.get(); (p = static_cast<const char*>(std::memchr(p, '\n', end - p))) != nullptr; ++p)
      ++lines;
    if (n > 0) last = end[-1];
  };
  if (gzip) {
    gzFile f = gzopen(path.c_str(), "rb");
    if (f == nullptr) return 0;
    for (;;) {
      const int got = gzread(f, buf.get(), static_cast<unsigned>(cap));
      if (got <= 0) break;
      scan(static_cast<std::size_t>(got));
    }
    gzclose(f);
  } else {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    for (;;) {
      const ssize_t got = ::read(fd, buf.get(), cap);
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) break;
      scan(static_cast<std::size_t>(got));
    }
    ::close(fd);
  }
  return lines + (last != '\n' ? 1 : 0);
}

void DuplicateLog::dropped(std::string_view token, std::uint64_t record, std::uint64_t first_row) {
  list_.push_back(DuplicateToken{std::string(token), record, record_of_row(first_row)});
  records_.push_back(record);
}

std::uint64_t DuplicateLog::record_of_row(std::uint64_t row) const {
  // record = row + (dropped records at or before it): a fixed point reached from below.
  std::uint64_t k = 0;
  for (;;) {
    const auto next =
        static_cast<std::uint64_t>(std::upper_bound(records_.begin(), records_.end(), row + k) - records_.begin());
    if (next == k) return row + k;
    k = next;
  }
}

std::vector<DuplicateToken> DuplicateLog::take(std::uint64_t base) {
  for (auto& d : list_) {
    d.at += base;
    d.first_at += base;
  }
  records_.clear();
  return std::move(list_);
}

void keep_first_columns(arma::fmat& m, arma::uword cols) {
  if (cols >= m.n_cols) return;
  const arma::uword elems = m.n_rows * cols;
  if (elems <= arma::arma_config::mat_prealloc || elems * sizeof(float) < (std::size_t{1} << 20)) {
    m = arma::fmat(m.cols(0, cols - 1));  // small: a copy costs nothing
    return;
  }
  const float* before = m.memptr();
  m.set_size(m.n_rows, cols);
  // Armadillo (>= 10) keeps the allocation when the element count shrinks; anything else would
  // have lost the data, which must never pass silently.
  if (m.memptr() != before) fail(Exit::software, "keep_first_columns", "", "Armadillo moved a shrinking matrix");
}

const char* parse_decimal(const char* first, const char* last, float& out) {
  const char* p = first;
  if (p != last && *p == '+') {
    ++p;
    if (p != last && (*p == '-' || *p == '+')) return nullptr;
  }
  double d = 0;
  const auto [end, ec] = std::from_chars(p, last, d, std::chars_format::general);
  if (ec == std::errc::invalid_argument) return nullptr;
  if (ec == std::errc::result_out_of_range) {
    // from_chars leaves d unset on underflow/overflow; strtod gives ±0 / ±HUGE_VAL like Python.
    const std::string copy(p, end);
    d = std::strtod(copy.c_str(), nullptr);
  }
  // A double at or beyond the midpoint between FLT_MAX and 2^128 rounds to infinity; casting it
  // directly would be undefined behaviour.
  if (std::isfinite(d) && std::fabs(d) >= 0x1.ffffffp127)
    out = d > 0 ? std::numeric_limits<float>::infinity() : -std::numeric_limits<float>::infinity();
  else
    out = static_cast<float>(d);
  return end;
}

std::string show_dq(std::string_view s, std::size_t max) {
  std::string q = show(s, max);
  q.front() = '"';
  q.back() = '"';
  return q;
}

std::string show(std::string_view s, std::size_t max) {
  std::string out = "'";
  for (std::size_t i = 0; i < s.size() && i < max; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7f)
      out += fmt::format("\\x{:02x}", c);
    else
      out += static_cast<char>(c);
  }
  if (s.size() > max) out += "…";
  return out + "'";
}

}  // namespace embedlab::io::detail
