// The vendored fixtures (tests/data/README.md): every file listed is present with its size and sha256,
// and every file present is listed, so a fixture cannot change or appear without its provenance.
#include <boost/test/unit_test.hpp>

#include "core/sha256.hpp"
#include "testing.hpp"

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <string>

namespace fs = std::filesystem;

namespace {

struct Row {
  std::uintmax_t bytes;
  std::string sha256;
};

// Rows `| `path` | origin | licence | bytes | `sha256` |` of the manifest.
std::map<std::string, Row> manifest() {
  std::ifstream in(fs::path(EMBEDLAB_TEST_DATA) / "README.md");
  BOOST_TEST_REQUIRE(in.good(), "tests/data/README.md is missing");
  const std::regex row(R"(^\| `([^`]+)` \|.*\| (\d+) \| `([0-9a-f]{64})` \|$)");
  std::map<std::string, Row> out;
  for (std::string line; std::getline(in, line);) {
    std::smatch m;
    if (std::regex_match(line, m, row)) out[m[1]] = Row{std::stoull(m[2]), m[3]};
  }
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(fixtures)

BOOST_AUTO_TEST_CASE(every_listed_file_has_its_size_and_hash) {
  const auto rows = manifest();
  BOOST_TEST_REQUIRE(rows.size() >= 30u);
  for (const auto& [rel, row] : rows) {
    BOOST_TEST_CONTEXT(rel) {
      const std::string path = embedlab::test::fixture(rel);
      BOOST_TEST(fs::file_size(path) == row.bytes);
      BOOST_TEST(embedlab::sha256_file(path) == row.sha256);
    }
  }
}

BOOST_AUTO_TEST_CASE(every_file_present_is_listed) {
  const auto rows = manifest();
  const fs::path root(EMBEDLAB_TEST_DATA);
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    if (!e.is_regular_file()) continue;
    const std::string rel = e.path().lexically_relative(root).generic_string();
    if (rel == "README.md") continue;
    BOOST_TEST(rows.count(rel) == 1u, rel << " is in tests/data but not in its README");
  }
}

BOOST_AUTO_TEST_SUITE_END()
