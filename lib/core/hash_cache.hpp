#pragma once
// An opt-in cache of whole-file SHA-256 digests, so that loading an unchanged file again need not
// hash it again. Off unless EMBEDLAB_HASH_CACHE names a directory (created when missing). An entry is
// keyed by the file's device, inode, size and modification time (nanoseconds): a file replaced,
// rewritten or touched gets a new key, so its digest is computed afresh. A file changed in place with
// its size and mtime restored by hand (touch -d) would keep a stale entry: the cache trusts the stamp,
// which is why it is opt-in and why provenance records a digest taken from it as cached.
// Entries are sha256sum lines ("<64 hex>  <path>") in DIR/<dev>-<ino>-<size>-<mtime_ns>.sha256,
// written atomically; an unreadable or malformed entry is a miss and is rewritten.
#include <cstdint>
#include <optional>
#include <string>

namespace embedlab {

// The identity of an open file as the cache keys it.
struct FileStamp {
  std::uint64_t dev = 0, ino = 0, size = 0;
  std::int64_t mtime_ns = 0;
  bool operator==(const FileStamp&) const = default;
  std::string key() const;  // "<dev>-<ino>-<size>-<mtime_ns>"
};
FileStamp file_stamp(int fd, const std::string& path);  // fstat (Exit::no_input on failure)

// A digest and where it came from.
struct FileDigest {
  std::string sha256;
  bool cached = false;  // read from the hash cache, not computed from the bytes in this run
};

class HashCache {
 public:
  // The cache EMBEDLAB_HASH_CACHE names, or none when it is unset or empty. A path that exists and
  // is not a directory, or cannot be created, is an error naming the variable.
  static std::optional<HashCache> from_env();
  explicit HashCache(std::string dir);

  const std::string& dir() const { return dir_; }
  std::optional<std::string> find(const FileStamp& s) const;
  // Records the digest of `path` computed while the file had stamp `s`. A failure to write is an
  // error naming the entry (the user asked for the cache; a silent miss every run would hide it).
  void store(const FileStamp& s, const std::string& path, const std::string& sha256) const;

 private:
  std::string entry(const FileStamp& s) const;
  std::string dir_;
};

}  // namespace embedlab
