// core: the opt-in hash cache (EMBEDLAB_HASH_CACHE) and sha256_file through it.
#include <boost/test/unit_test.hpp>

#include "core/error.hpp"
#include "core/hash_cache.hpp"
#include "core/sha256.hpp"
#include "testing.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

using namespace embedlab;
namespace fs = std::filesystem;

namespace {

void write(const fs::path& p, const std::string& bytes) { test::write_file(p.string(), bytes); }

FileStamp stamp_of(const fs::path& p) {
  const int fd = ::open(p.c_str(), O_RDONLY);
  BOOST_REQUIRE(fd >= 0);
  const FileStamp s = file_stamp(fd, p.string());
  ::close(fd);
  return s;
}

// Sets EMBEDLAB_HASH_CACHE for one test case and restores it after.
struct CacheEnv {
  explicit CacheEnv(const std::string& dir) {
    if (const char* v = std::getenv("EMBEDLAB_HASH_CACHE")) saved = v, had = true;
    ::setenv("EMBEDLAB_HASH_CACHE", dir.c_str(), 1);
  }
  ~CacheEnv() {
    if (had)
      ::setenv("EMBEDLAB_HASH_CACHE", saved.c_str(), 1);
    else
      ::unsetenv("EMBEDLAB_HASH_CACHE");
  }
  std::string saved;
  bool had = false;
};

}  // namespace

BOOST_AUTO_TEST_SUITE(hash_cache)

BOOST_AUTO_TEST_CASE(off_unless_the_variable_names_a_directory) {
  {
    const CacheEnv env("");
    BOOST_TEST(!HashCache::from_env().has_value());
  }
  test::TempDir dir;
  write(dir.path() / "plain", "x");
  const CacheEnv env((dir.path() / "plain").string());
  try {
    HashCache::from_env();
    BOOST_FAIL("expected an error");
  } catch (const Error& e) {
    BOOST_TEST(std::string(e.what()).starts_with("EMBEDLAB_HASH_CACHE: not a directory (got '"));
    BOOST_TEST(e.exit_code() == 64);
  }
}

BOOST_AUTO_TEST_CASE(entries_are_keyed_by_the_stamp) {
  test::TempDir dir;
  const HashCache cache((dir.path() / "cache" / "nested").string());  // created
  BOOST_TEST(fs::is_directory(dir.path() / "cache" / "nested"));
  const fs::path f = dir.path() / "data.bin";
  write(f, "abc");
  const FileStamp s = stamp_of(f);
  BOOST_TEST(s.size == 3u);
  BOOST_TEST(!cache.find(s).has_value());
  const std::string abc = sha256_hex("abc");
  cache.store(s, f.string(), abc);
  BOOST_TEST(cache.find(s).value() == abc);
  // The entry is a sha256sum line naming the file.
  std::ifstream in(fs::path(cache.dir()) / (s.key() + ".sha256"));
  std::string line;
  std::getline(in, line);
  BOOST_TEST(line == abc + "  " + fs::absolute(f).string());
  // Any part of the stamp differing is another key.
  for (int part = 0; part < 4; ++part) {
    FileStamp t = s;
    if (part == 0) t.dev += 1;
    if (part == 1) t.ino += 1;
    if (part == 2) t.size += 1;
    if (part == 3) t.mtime_ns += 1;
    BOOST_TEST(!cache.find(t).has_value(), "stamp part " << part);
  }
  // A malformed entry is a miss, and storing rewrites it.
  write(fs::path(cache.dir()) / (s.key() + ".sha256"), "not-a-digest  x\n");
  BOOST_TEST(!cache.find(s).has_value());
  cache.store(s, f.string(), abc);
  BOOST_TEST(cache.find(s).value() == abc);
  BOOST_CHECK_THROW(cache.store(s, f.string(), "ABC"), Error);
}

// sha256_file through the cache: computed and stored the first time, read from the cache while the
// file is unchanged, computed afresh once its contents (and so its size or mtime) change.
BOOST_AUTO_TEST_CASE(sha256_file_uses_the_cache_while_the_file_is_unchanged) {
  test::TempDir dir;
  const fs::path f = dir.path() / "data.bin";
  write(f, "abc");
  bool cached = true;
  BOOST_TEST(sha256_file(f.string(), &cached) == sha256_hex("abc"));  // no cache configured
  BOOST_TEST(!cached);
  const CacheEnv env((dir.path() / "cache").string());
  BOOST_TEST(sha256_file(f.string(), &cached) == sha256_hex("abc"));
  BOOST_TEST(!cached);
  BOOST_TEST(sha256_file(f.string(), &cached) == sha256_hex("abc"));
  BOOST_TEST(cached);
  // Same size, new contents and a new mtime: a miss.
  write(f, "abd");
  const struct timespec times[2] = {{0, UTIME_OMIT}, {stamp_of(f).mtime_ns / 1000000000 + 5, 0}};
  BOOST_REQUIRE(::utimensat(AT_FDCWD, f.c_str(), times, 0) == 0);
  BOOST_TEST(sha256_file(f.string(), &cached) == sha256_hex("abd"));
  BOOST_TEST(!cached);
  BOOST_TEST(sha256_file(f.string(), &cached) == sha256_hex("abd"));
  BOOST_TEST(cached);
  // Longer: a miss whatever the mtime.
  write(f, "abcd");
  BOOST_TEST(sha256_file(f.string(), &cached) == sha256_hex("abcd"));
  BOOST_TEST(!cached);
}

BOOST_AUTO_TEST_SUITE_END()
