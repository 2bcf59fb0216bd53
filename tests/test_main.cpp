// Boost.Test main: prints library versions and the seed so any failure can be replayed.
#define BOOST_TEST_MODULE embedlab
#include <boost/test/unit_test.hpp>

#include "core/provenance.hpp"
#include "testing.hpp"

#include <fmt/format.h>

struct PrintVersions {
  PrintVersions() {
    const auto v = embedlab::library_versions();
    fmt::print("embedlab {} | Armadillo {} | HDF5 {} | Boost {} | fmt {} | seed {}\n", v.embedlab, v.armadillo, v.hdf5,
               v.boost, v.fmt, embedlab::test::kSeed);
  }
};
BOOST_TEST_GLOBAL_FIXTURE(PrintVersions);

#include <unistd.h>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace embedlab::test {

TempDir::TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "embedlab-test-XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}
TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + path);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace embedlab::test
