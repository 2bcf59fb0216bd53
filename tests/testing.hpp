#pragma once
// Shared test helpers: the one tolerance table, reference-data lookup, temporary directories.
#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <filesystem>
#include <string>

namespace embedlab::test {

inline constexpr std::uint64_t kSeed = 20261126;

// Whether this build runs under AddressSanitizer (make asan): its redzones, quarantine and shadow
// memory inflate every memory measurement, so memory bounds are scaled where they are checked.
#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool kAddressSanitizer = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
inline constexpr bool kAddressSanitizer = true;
#else
inline constexpr bool kAddressSanitizer = false;
#endif
#else
inline constexpr bool kAddressSanitizer = false;
#endif

// One tolerance table (ensmallen style): scale at call sites, never invent literals.
template <class T>
struct Tol;
template <>
struct Tol<float> {
  static constexpr double eps = 1e-6;    // unit-vector dot products, cos(x,x) = 1
  static constexpr double sum = 1e-5;    // reductions over thousands of floats
  static constexpr double loose = 1e-4;  // float32 pipeline vs float64 reference
};
template <>
struct Tol<double> {
  static constexpr double eps = 1e-12;
  static constexpr double sum = 1e-10;
  static constexpr double loose = 1e-8;
};

// Path of a vendored fixture under tests/data (see tests/data/README.md). A missing fixture fails the
// test that asked for it: there is no skip path.
inline std::string fixture(const std::string& rel) {
  const std::filesystem::path p = std::filesystem::path(EMBEDLAB_TEST_DATA) / rel;
  BOOST_REQUIRE_MESSAGE(std::filesystem::exists(p), "fixture tests/data/" << rel << " is missing");
  return p.string();
}

#define EMBEDLAB_FIXTURE(var, rel) const std::string var = ::embedlab::test::fixture(rel)

// A fresh temporary directory removed at scope exit.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// Write bytes to a file (test fixtures).
void write_file(const std::string& path, const std::string& bytes);
std::string read_file(const std::string& path);

}  // namespace embedlab::test
