#include "io/text_util.hpp"

#include "core/error.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>

namespace embedlab::io::detail {

namespace {
constexpr std::size_t kBlock = std::size_t{4} << 20;  // decoded bytes buffered at a time
constexpr std::size_t kRawBlock = std::size_t{1} << 20;
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
  cap_ = kBlock;
  buf_ = std::make_unique<char[]>(cap_);
  if (gzip_) {
    raw_cap_ = kRawBlock;
    raw_ = std::make_unique<char[]>(raw_cap_);
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
    auto bigger = std::make_unique<char[]>(cap_ * 2);
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
  std::unique_ptr<char[]> tmp = std::make_unique<char[]>(kRawBlock);
  while (read_raw(tmp.get(), kRawBlock) > 0) {
  }
  return hash_.hex();
}

TokenIndex::TokenIndex(const std::vector<std::string>& tokens) : set_(64, Hash{&tokens}, Eq{&tokens}) {}

std::uint64_t TokenIndex::insert(std::uint64_t row) {
  const auto [it, fresh] = set_.insert(row);
  return fresh ? npos : *it;
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
