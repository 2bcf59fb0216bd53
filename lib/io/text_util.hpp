#pragma once
// Helpers shared by the word-vector readers (word_text.cpp, word2vec_bin.cpp): a buffered byte
// stream that gunzips transparently, duplicate-token detection and exact decimal parsing.
#include "core/sha256.hpp"
#include "io/embedding.hpp"

#include <armadillo>

#include <zlib.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace embedlab::io::detail {

// Reads a file front to back in big blocks. A file starting with the gzip magic 1f 8b is inflated
// on the fly (concatenated members too); positions and window() are then in decompressed bytes.
// The raw file bytes are hashed as they are read, so sha256() is the digest of the whole file as
// stored on disk (what `sha256sum` prints), also when the caller stops early.
class ByteStream {
 public:
  explicit ByteStream(const std::string& path);  // missing/unreadable → Error(no_input)
  ~ByteStream();
  ByteStream(const ByteStream&) = delete;
  ByteStream& operator=(const ByteStream&) = delete;

  const std::string& path() const { return path_; }
  bool gzip() const { return gzip_; }
  std::uint64_t file_size() const { return file_size_; }  // on disk (compressed when gzip)

  // Unread bytes currently buffered.
  std::string_view window() const { return {buf_.get() + begin_, end_ - begin_}; }
  // Offset of window().data() in the (decompressed) stream.
  std::uint64_t offset() const { return consumed_; }
  void consume(std::size_t n);
  // Buffers at least n unread bytes unless the stream ends first; returns window().size() >= n.
  bool fill(std::size_t n);
  // Reads at least one more block; false at end of stream.
  bool more();
  bool at_end() const { return eof_; }
  // Hashes the rest of the file without decoding it and returns the digest of all its bytes.
  std::string sha256();

 private:
  std::size_t read_raw(char* dst, std::size_t cap);  // hashes what it reads; 0 at end of file
  std::size_t produce(char* dst, std::size_t cap);   // decoded bytes; 0 at end of stream

  std::string path_;
  int fd_ = -1;
  std::uint64_t file_size_ = 0;
  bool gzip_ = false;
  bool eof_ = false;
  Sha256 hash_;
  std::unique_ptr<char[]> buf_;
  std::size_t cap_ = 0, begin_ = 0, end_ = 0;
  std::uint64_t consumed_ = 0;
  // gzip state: raw input block and inflate stream.
  std::unique_ptr<char[]> raw_;
  std::size_t raw_cap_ = 0;
  bool raw_eof_ = false, member_done_ = false;
  z_stream zs_{};
  bool zs_live_ = false;
};

// Duplicate detection over a growing token vector without copying tokens: an open-addressing
// table of 32-bit row indices (4 bytes per slot, at most half full: about 8 bytes per row, where a
// node-based set costs about 40), hashing and comparing the strings the rows name.
class TokenIndex {
 public:
  explicit TokenIndex(const std::vector<std::string>& tokens);
  // Registers row `row` (tokens[row] must already be stored); returns the earlier row holding
  // the same token (then `row` is not registered), or npos.
  std::uint64_t insert(std::uint64_t row);
  void reserve(std::uint64_t n);
  static constexpr std::uint64_t npos = ~std::uint64_t{0};
  // Rows the table can index (row numbers are stored in 32 bits).
  static constexpr std::uint64_t max_rows = 0xFFFFFFFEu;

 private:
  void rehash(std::size_t slots);
  const std::vector<std::string>* tokens_;
  std::vector<std::uint32_t> slots_;  // row + 1, 0 = empty; size a power of two
  std::uint64_t used_ = 0;
};

// Number of lines of a file ('\n' count, plus one for a last line without '\n'), decompressing a
// gzip file on the fly. A first pass that lets a header-less reader size its matrix exactly.
std::uint64_t count_lines(const std::string& path, bool gzip);

// Bytes a gzip file of `compressed` bytes can decompress to at most (deflate's ratio is below
// 1032:1): a header promising more is a lie, caught before allocating.
inline constexpr std::uint64_t kMaxGzipExpansion = 1100;

// The duplicate-token bookkeeping of a word reader. Records are numbered 0, 1, ... in file order
// (data lines / binary records, dropped ones included); rows are the kept records.
class DuplicateLog {
 public:
  // Record `record` repeats kept row `first_row`: keep it listed (policy first).
  void dropped(std::string_view token, std::uint64_t record, std::uint64_t first_row);
  // The record holding kept row `row`.
  std::uint64_t record_of_row(std::uint64_t row) const;
  // The list with positions made 1-based file positions: position = base + record.
  std::vector<DuplicateToken> take(std::uint64_t base);
  std::uint64_t count() const { return records_.size(); }

 private:
  std::vector<std::uint64_t> records_;  // ascending
  std::vector<DuplicateToken> list_;    // at / first_at hold records until take()
};

// Keeps the first `cols` columns of m. A large matrix is shrunk in place (Armadillo reuses the
// allocation when a matrix gets smaller, and column-major storage keeps the first columns where
// they are), so a reader that reserved for more rows than it found never holds two copies.
void keep_first_columns(arma::fmat& m, arma::uword cols);

// Parses the decimal number starting at `first` the way Python's float() followed by a float32
// cast does (gensim's text reader): correctly rounded to double, then rounded to float. An optional
// leading '+' is accepted; underflow gives ±0, overflow ±inf, "nan"/"inf" parse (callers refuse
// them). Returns the end of the number, or nullptr when no number starts at `first`.
const char* parse_decimal(const char* first, const char* last, float& out);

// "'abc'" with non-printable bytes escaped and long text cut, for error messages.
std::string show(std::string_view s, std::size_t max = 40);
// The same in double quotes (`"cat"`), for duplicate-token messages.
std::string show_dq(std::string_view s, std::size_t max = 40);

}  // namespace embedlab::io::detail
