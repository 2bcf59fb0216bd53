#include "io/row_range.hpp"

#include "core/checked.hpp"
#include "core/error.hpp"
#include "core/sha256.hpp"
#include "io/binary_util.hpp"
#include "io/readers.hpp"
#include "io/text_util.hpp"

#include <fmt/format.h>

#include <bit>
#include <charconv>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <unordered_map>

namespace embedlab::io {

namespace {

constexpr std::uint64_t kChunk = 4u << 20;  // bytes per read when converting or hashing

FloatKind st_kind(const std::string& d) {
  if (d == "F16") return FloatKind::f16;
  if (d == "BF16") return FloatKind::bf16;
  if (d == "F32") return FloatKind::f32;
  return FloatKind::f64;
}

// n elements at `offset` into dst as float32 (the whole-file readers' conversion, without a hash).
void read_block(const BinaryFile& f, std::uint64_t offset, std::uint64_t n, FloatKind kind, bool big_endian, float* dst,
                const std::string& where) {
  const std::uint64_t width = float_kind_size(kind);
  const std::uint64_t total = n * width;
  const bool native = std::endian::native == (big_endian ? std::endian::big : std::endian::little);
  if (kind == FloatKind::f32 && native) {
    f.read_at(offset, dst, total, where);
    return;
  }
  std::vector<unsigned char> buf(static_cast<std::size_t>(std::min(kChunk, total)));
  for (std::uint64_t off = 0; off < total; off += kChunk) {
    const std::uint64_t len = std::min(kChunk, total - off);
    f.read_at(offset + off, buf.data(), len, where);
    decode_floats(buf.data(), len / width, kind, big_endian, dst + off / width);
  }
}

std::string hash_range(const BinaryFile& f, std::uint64_t offset, std::uint64_t size, const std::string& where) {
  Sha256 h;
  std::vector<unsigned char> buf(static_cast<std::size_t>(std::min(kChunk, std::max<std::uint64_t>(size, 1))));
  for (std::uint64_t off = 0; off < size; off += kChunk) {
    const std::uint64_t len = std::min(kChunk, size - off);
    f.read_at(offset + off, buf.data(), len, where);
    h.update(buf.data(), len);
  }
  return h.hex();
}

// Sequential buffered reads of an uncompressed file, with skips that never read the skipped bytes.
class Scanner {
 public:
  explicit Scanner(const BinaryFile& f) : f_(f), buf_(1u << 20) {}
  std::uint64_t offset() const { return pos_; }
  bool at_end() const { return pos_ >= f_.size(); }
  // Byte at the current position (call only when !at_end()).
  unsigned char peek() {
    ensure(1);
    return static_cast<unsigned char>(buf_[pos_ - buf_at_]);
  }
  void skip(std::uint64_t n) { pos_ += n; }
  // Bytes from the current position up to (not including) the next `c`, at most `max`; npos when
  // the file ends first or `max` is exceeded (found = false).
  std::string until(char c, std::size_t max, bool& found) {
    std::string out;
    found = false;
    while (!at_end() && out.size() <= max) {
      ensure(1);
      const char* p = buf_.data() + (pos_ - buf_at_);
      const std::size_t avail = static_cast<std::size_t>(buf_len_ - (pos_ - buf_at_));
      const void* hit = std::memchr(p, c, avail);
      if (hit != nullptr) {
        const std::size_t len = static_cast<std::size_t>(static_cast<const char*>(hit) - p);
        out.append(p, len);
        pos_ += len;
        found = true;
        return out;
      }
      out.append(p, avail);
      pos_ += avail;
    }
    return out;
  }

 private:
  void ensure(std::uint64_t n) {
    if (pos_ >= buf_at_ && pos_ + n <= buf_at_ + buf_len_) return;
    buf_at_ = pos_;
    buf_len_ = std::min<std::uint64_t>(buf_.size(), f_.size() - pos_);
    f_.read_at(pos_, buf_.data(), buf_len_, "records");
  }
  const BinaryFile& f_;
  std::vector<char> buf_;
  std::uint64_t pos_ = 0, buf_at_ = 0, buf_len_ = 0;
};

constexpr std::size_t kMaxToken = std::size_t{1} << 20;

}  // namespace

struct RowReader::Impl {
  std::string path, format, tensor, dtype;
  std::uint64_t n = 0, d = 0;        // rows read (limit applied) and dimension
  std::uint64_t file_rows = 0;       // rows in the file (row stride of Fortran-order npy)
  std::vector<std::uint64_t> shape;  // as the whole-file reader reports it
  // safetensors / npy
  std::uint64_t data_offset = 0, data_bytes = 0;
  FloatKind kind = FloatKind::f32;
  bool big_endian = false, fortran = false;
  // word2vec binary: per kept row, the token's offset and length (the vector follows the space)
  std::vector<std::uint64_t> tok_at;
  std::vector<std::uint32_t> tok_len;
  std::uint64_t file_size = 0;

  void open_word2vec(const LoadOptions& o);
};

void RowReader::Impl::open_word2vec(const LoadOptions& o) {
  const BinaryFile f(path);
  file_size = f.size();
  if (f.size() == 0) data_error(path, "", "empty file");
  {
    unsigned char magic[2] = {0, 0};
    if (f.size() >= 2) f.read_at(0, magic, 2, "magic");
    if (magic[0] == 0x1f && magic[1] == 0x8b)
      fail(Exit::usage, path, "",
           "row-range reads (--distribute rows) need an uncompressed word2vec binary (got gzip)");
  }
  const std::string head = f.read_string_at(0, std::min<std::uint64_t>(256, f.size()), "header");
  const std::size_t nl = head.find('\n');
  if (nl == std::string::npos) data_error(path, "byte 0", "no header line 'count dim' in the first 256 bytes");
  std::string_view h(head.data(), nl);
  while (!h.empty() && (h.back() == '\r' || h.back() == ' ')) h.remove_suffix(1);
  std::uint64_t count = 0;
  {
    const char* end = h.data() + h.size();
    auto [p, ec] = std::from_chars(h.data(), end, count);
    bool ok = ec == std::errc() && p != end && *p == ' ';
    if (ok) {
      while (p != end && *p == ' ') ++p;
      auto [q, ec2] = std::from_chars(p, end, d);
      ok = ec2 == std::errc() && q == end;
    }
    if (!ok) data_error(path, "byte 0", fmt::format("header '{}' is not 'count dim'", std::string(h)));
  }
  if (count == 0 || d == 0)
    data_error(path, "byte 0", fmt::format("header says {} x {} (both must be at least 1)", count, d));
  const std::uint64_t vec_bytes = checked_mul(d, 4, path, "header");
  const std::uint64_t need = checked_mul(count, checked_add(vec_bytes, 2, path, "header"), path, "header");
  if (need > f.size() - (nl + 1))
    data_error(path, "header",
               fmt::format("{} records of {} float32 need at least {} bytes after the header (got {})", count, d, need,
                           f.size() - (nl + 1)));
  const std::uint64_t n_read = std::min(count, o.limit.value_or(std::numeric_limits<std::uint64_t>::max()));
  Scanner in(f);
  in.skip(nl + 1);
  std::unordered_map<std::string, std::uint64_t> seen;  // token → record (1-based), only while scanning
  seen.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(n_read, 1u << 24)));
  tok_at.reserve(static_cast<std::size_t>(n_read));
  tok_len.reserve(static_cast<std::size_t>(n_read));
  for (std::uint64_t r = 0; r < n_read; ++r) {
    while (!in.at_end() && in.peek() == '\n') in.skip(1);
    const std::uint64_t at = in.offset();
    bool found = false;
    std::string token = in.until(' ', kMaxToken, found);
    if (!found) {
      if (token.size() > kMaxToken)
        data_error(path, fmt::format("byte {}", at),
                   fmt::format("record {}: no ' ' after the token within 1 MiB", r + 1));
      if (token.empty())
        data_error(path, fmt::format("byte {}", at),
                   fmt::format("the file ends after {} records but the header says {} (truncated?)", r, count));
      data_error(path, fmt::format("byte {}", at),
                 fmt::format("record {} of {}: truncated inside the token", r + 1, count));
    }
    if (token.empty()) data_error(path, fmt::format("byte {}", at), fmt::format("record {}: empty token", r + 1));
    if (const std::size_t off = invalid_utf8_offset(token); off != std::string::npos)
      data_error(path, fmt::format("byte {}", at),
                 fmt::format("record {}: token is not valid UTF-8 (byte {} of the token)", r + 1, off));
    in.skip(1);
    if (in.offset() + vec_bytes > f.size())
      data_error(path, fmt::format("byte {}", in.offset()),
                 fmt::format("record {} of {}: truncated: {} of {} vector bytes present", r + 1, count,
                             f.size() - in.offset(), vec_bytes));
    in.skip(vec_bytes);
    const auto [it, fresh] = seen.emplace(std::move(token), r + 1);
    if (!fresh) {
      if (o.duplicates == DuplicatePolicy::error)
        data_error(path, fmt::format("byte {}", at),
                   fmt::format("record {}: duplicate token \"{}\" (first at record {}) [embeddings.duplicates = first "
                               "keeps the first, as gensim]",
                               r + 1, it->first, it->second));
      continue;
    }
    tok_at.push_back(at);
    tok_len.push_back(static_cast<std::uint32_t>(it->first.size()));
  }
  if (n_read == count) {
    while (!in.at_end() && (in.peek() == '\n' || in.peek() == '\r')) in.skip(1);
    if (!in.at_end())
      data_error(path, fmt::format("byte {}", in.offset()),
                 fmt::format("bytes after the {} records the header declares", count));
  }
  n = tok_at.size();
  dtype = "F32";
  shape = {n, d};
}

RowReader::RowReader(const LoadOptions& o) : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  m.path = o.path;
  if (o.path.empty()) fail(Exit::usage, "(no path)", "", "no embedding file given");
  if (o.limit && *o.limit == 0) fail(Exit::usage, o.path, "limit", "must be at least 1");
  if (!std::filesystem::exists(o.path)) fail(Exit::no_input, o.path, "", "no such file or directory");
  m.format = o.format == "auto" ? detect_format(o.path) : o.format;
  if (m.format == "safetensors") {
    const SafetensorsIndex index = read_safetensors_index(o.path);
    std::string name = o.tensor;
    if (name.empty()) {
      std::vector<std::string> matrices;
      for (const auto& t : index.tensors)
        if (t.shape.size() == 2) matrices.push_back(t.name);
      if (matrices.size() != 1)
        data_error(o.path, "tensor",
                   fmt::format("{} rank-2 tensors ({}); name the one to load", matrices.size(), list_names(matrices)));
      name = matrices.front();
    }
    const SafetensorsEntry* e = index.find(name);
    if (e == nullptr) {
      std::vector<std::string> names;
      for (const auto& t : index.tensors) names.push_back(t.name);
      data_error(o.path, fmt::format("tensor '{}'", name), fmt::format("not found (file has: {})", list_names(names)));
    }
    const std::string where = fmt::format("tensor '{}'", name);
    if (e->shape.size() != 2)
      data_error(o.path, where, fmt::format("rank {} (expected 2), shape {}", e->shape.size(), format_shape(e->shape)));
    if (e->shape[0] == 0 || e->shape[1] == 0)
      data_error(o.path, where, "zero rows or columns (shape " + format_shape(e->shape) + ")");
    if (!safetensors_dtype_readable(e->dtype))
      data_error(o.path, where, fmt::format("dtype {} is not supported (supported: F32, F16, BF16, F64)", e->dtype));
    m.tensor = name;
    m.dtype = e->dtype;
    m.kind = st_kind(e->dtype);
    m.file_rows = e->shape[0];
    m.d = e->shape[1];
    m.shape = e->shape;
    m.data_offset = index.data_start() + e->begin;
    m.data_bytes = e->end - e->begin;
    m.file_size = index.file_size;
  } else if (m.format == "npy") {
    const NpyHeader h = read_npy_header(o.path);
    m.kind = h.kind;
    m.big_endian = h.big_endian;
    m.dtype = h.descr;
    m.fortran = h.fortran_order;
    m.file_rows = h.shape[0];
    m.d = h.shape[1];
    m.shape = h.shape;
    m.data_offset = h.data_offset;
    m.file_size = h.file_size;
  } else if (m.format == "hdf5") {
    const Hdf5Shape s = hdf5_shape(o.path, o.tensor);
    m.tensor = o.tensor;
    m.dtype = s.dtype;
    m.file_rows = s.rows;
    m.d = s.dim;
    m.shape = {s.rows, s.dim};
  } else if (m.format == "word2vec-bin") {
    m.open_word2vec(o);
    return;
  } else {
    fail(Exit::usage, o.path, "format",
         fmt::format("row-range reads (--distribute rows) support safetensors, npy, hdf5 and word2vec-bin (got {})",
                     m.format));
  }
  m.n = std::min(m.file_rows, o.limit.value_or(std::numeric_limits<std::uint64_t>::max()));
}

RowReader::~RowReader() = default;

std::uint64_t RowReader::rows() const { return impl_->n; }
std::uint64_t RowReader::dim() const { return impl_->d; }
const std::string& RowReader::format() const { return impl_->format; }

Embeddings RowReader::read(std::uint64_t r0, std::uint64_t r1) const {
  const Impl& m = *impl_;
  if (r0 > r1 || r1 > m.n)
    fail(Exit::usage, m.path, "rows",
         fmt::format("range [{}, {}) is outside the rows (expected within [0, {}))", r0, r1, m.n));
  const std::uint64_t rows = r1 - r0, d = m.d;
  Embeddings e;
  e.source = InputFile{m.path, m.format, m.dtype, m.shape, ""};
  e.vectors.set_size(static_cast<arma::uword>(d), static_cast<arma::uword>(rows));
  if (rows == 0) return e;
  if (m.format == "hdf5") {
    e.vectors = read_hdf5_rows(m.path, m.tensor, r0, r1);
    return e;
  }
  const BinaryFile f(m.path);
  if (f.size() != m.file_size)
    data_error(m.path, "",
               fmt::format("file size changed since its header was read (got {}, expected {})", f.size(), m.file_size));
  const std::uint64_t w = float_kind_size(m.kind);
  if (m.format == "safetensors" || (m.format == "npy" && !m.fortran)) {
    // Row-major: the block is one contiguous run of bytes.
    read_block(f, m.data_offset + r0 * d * w, rows * d, m.kind, m.big_endian, e.vectors.memptr(),
               fmt::format("rows [{}, {})", r0, r1));
  } else if (m.format == "npy") {
    // Fortran order: column c of the n×d array is contiguous; rows [r0, r1) of it are one read.
    arma::fmat tmp(static_cast<arma::uword>(rows), static_cast<arma::uword>(d));
    for (std::uint64_t c = 0; c < d; ++c)
      read_block(f, m.data_offset + (c * m.file_rows + r0) * w, rows, m.kind, m.big_endian, tmp.colptr(c),
                 fmt::format("column {}, rows [{}, {})", c, r0, r1));
    e.vectors = tmp.t();
  } else {  // word2vec-bin
    e.tokens.reserve(static_cast<std::size_t>(rows));
    std::string token;
    for (std::uint64_t r = r0; r < r1; ++r) {
      const std::uint64_t at = m.tok_at[r], len = m.tok_len[r];
      token = f.read_string_at(at, len, fmt::format("row {}", r));
      float* dst = e.vectors.colptr(static_cast<arma::uword>(r - r0));
      f.read_at(at + len + 1, dst, d * 4, fmt::format("row {}", r));
      if constexpr (std::endian::native == std::endian::big) {
        for (std::uint64_t k = 0; k < d; ++k)
          dst[k] = std::bit_cast<float>(__builtin_bswap32(std::bit_cast<std::uint32_t>(dst[k])));
      }
      for (std::uint64_t k = 0; k < d; ++k)
        if (!std::isfinite(dst[k]))
          data_error(m.path, fmt::format("byte {}", at + len + 1 + 4 * k),
                     fmt::format("row {} (token '{}'): value {} is not finite ({})", r, token, k + 1, dst[k]));
      e.tokens.push_back(token);
    }
  }
  return e;
}

std::string RowReader::source_sha256() const {
  const Impl& m = *impl_;
  if (m.format == "safetensors") {
    const BinaryFile f(m.path);
    return hash_range(f, m.data_offset, m.data_bytes, fmt::format("tensor '{}'", m.tensor));
  }
  return sha256_file(m.path);
}

}  // namespace embedlab::io
