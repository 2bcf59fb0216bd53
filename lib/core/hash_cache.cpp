#include "core/hash_cache.hpp"

#include "core/atomic_file.hpp"
#include "core/error.hpp"

#include <fmt/format.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

namespace embedlab {

namespace fs = std::filesystem;

namespace {
constexpr const char* kVariable = "EMBEDLAB_HASH_CACHE";

bool is_hex_digest(const std::string& s) {
  if (s.size() != 64) return false;
  for (const char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}
}  // namespace

std::string FileStamp::key() const { return fmt::format("{}-{}-{}-{}", dev, ino, size, mtime_ns); }

FileStamp file_stamp(int fd, const std::string& path) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) fail(Exit::no_input, path, "", fmt::format("cannot stat ({})", std::strerror(errno)));
  FileStamp s;
  s.dev = static_cast<std::uint64_t>(st.st_dev);
  s.ino = static_cast<std::uint64_t>(st.st_ino);
  s.size = static_cast<std::uint64_t>(st.st_size);
  s.mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  return s;
}

std::optional<HashCache> HashCache::from_env() {
  const char* v = std::getenv(kVariable);
  if (v == nullptr || *v == '\0') return std::nullopt;
  return HashCache(v);
}

HashCache::HashCache(std::string dir) : dir_(std::move(dir)) {
  std::error_code ec;
  if (fs::exists(dir_, ec) && !fs::is_directory(dir_, ec))
    fail(Exit::usage, kVariable, "", fmt::format("not a directory (got '{}')", dir_));
  fs::create_directories(dir_, ec);
  if (ec) fail(Exit::cant_create, kVariable, "", fmt::format("cannot create '{}' ({})", dir_, ec.message()));
}

std::string HashCache::entry(const FileStamp& s) const { return (fs::path(dir_) / (s.key() + ".sha256")).string(); }

std::optional<std::string> HashCache::find(const FileStamp& s) const {
  std::ifstream in(entry(s));
  std::string digest;
  if (!(in >> digest) || !is_hex_digest(digest)) return std::nullopt;
  return digest;
}

void HashCache::store(const FileStamp& s, const std::string& path, const std::string& sha256) const {
  if (!is_hex_digest(sha256))
    fail(Exit::software, "hash cache", path, fmt::format("not a SHA-256 hex digest (got '{}')", sha256));
  std::error_code ec;
  const std::string absolute = fs::absolute(path, ec).string();
  write_file_atomic(entry(s), fmt::format("{}  {}\n", sha256, ec ? path : absolute));
}

}  // namespace embedlab
