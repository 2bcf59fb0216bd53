#pragma once
// Shared test helpers: the one tolerance table, reference-data lookup, temporary directories.
#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <filesystem>
#include <string>

namespace embedlab::test {

inline constexpr std::uint64_t kSeed = 20261126;

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

// Path under ../shared/data, or "" when the folder is absent.
inline std::string shared_data(const std::string& rel) {
  const std::filesystem::path p = std::filesystem::path(EMBEDLAB_SHARED_DATA) / rel;
  return std::filesystem::exists(p) ? p.string() : std::string();
}

// Skip the current test with a visible message when reference data is absent.
#define EMBEDLAB_REQUIRE_DATA(var, rel)                                                   \
  const std::string var = ::embedlab::test::shared_data(rel);                             \
  if (var.empty()) {                                                                      \
    BOOST_TEST_MESSAGE("SKIPPED: reference data ../shared/data/" << rel << " is absent"); \
    return;                                                                               \
  }

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
