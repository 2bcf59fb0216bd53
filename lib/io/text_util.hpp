#pragma once
// Helpers shared by the word-vector readers (word_text.cpp, word2vec_bin.cpp): a buffered byte
// stream that gunzips transparently, duplicate-token detection and exact decimal parsing.
#include "core/sha256.hpp"

#include <zlib.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_set>
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

// Duplicate detection over a growing token vector without copying tokens: the set holds row
// indices and hashes/compares the strings they name.
class TokenIndex {
 public:
  explicit TokenIndex(const std::vector<std::string>& tokens);
  // Registers row `row` (tokens[row] must already be stored); returns the earlier row holding
  // the same token, or npos.
  std::uint64_t insert(std::uint64_t row);
  void reserve(std::uint64_t n) { set_.reserve(n); }
  static constexpr std::uint64_t npos = ~std::uint64_t{0};

 private:
  struct Hash {
    const std::vector<std::string>* t;
    std::size_t operator()(std::uint64_t i) const { return std::hash<std::string>{}((*t)[i]); }
  };
  struct Eq {
    const std::vector<std::string>* t;
    bool operator()(std::uint64_t a, std::uint64_t b) const { return (*t)[a] == (*t)[b]; }
  };
  std::unordered_set<std::uint64_t, Hash, Eq> set_;
};

// Parses the decimal number starting at `first` the way Python's float() followed by a float32
// cast does (gensim's text reader): correctly rounded to double, then rounded to float. An optional
// leading '+' is accepted; underflow gives ±0, overflow ±inf, "nan"/"inf" parse (callers refuse
// them). Returns the end of the number, or nullptr when no number starts at `first`.
const char* parse_decimal(const char* first, const char* last, float& out);

// "'abc'" with non-printable bytes escaped and long text cut, for error messages.
std::string show(std::string_view s, std::size_t max = 40);

}  // namespace embedlab::io::detail
