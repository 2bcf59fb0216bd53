// End to end: word-vector files with repeated tokens through run_experiment (embeddings.duplicates,
// the list in /embeddings of results.h5 and in report.md) and embedlab inspect.
#include <boost/test/unit_test.hpp>

#include "e2e_util.hpp"
#include "io/h5_results.hpp"

using namespace embedlab;
using namespace embedlab::test;
namespace fs = std::filesystem;

namespace {

// "cat" on lines 1 and 4, "dog" on lines 2 and 6 (header-less GloVe, d = 3).
const char* kDuplicated =
    "cat 0.1 0.2 0.3\n"
    "dog 0.3 0.1 0.2\n"
    "emu 0.2 0.3 0.1\n"
    "cat 9 9 9\n"
    "fox 0.5 0.1 0.1\n"
    "dog 8 8 8\n"
    "gnu 0.1 0.5 0.1\n";

std::string run_rv(const TempDir& dir, const std::string& vectors, const std::string& extra, int expect_exit) {
  const auto r = run_command(
      fmt::format("{} {} --quiet --results '{}' --set sweep.pairs=20000 --set sweep.dims=2,16,128,768 "
                  "--set report.plots=false --set embeddings.path='{}'{}",
                  bin("run_experiment"), source("configs/random_variance.ini"), dir.file("results"), vectors, extra),
      dir);
  BOOST_TEST(r.exit_code == expect_exit, r.err);
  return r.err;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(word_files_e2e)

BOOST_AUTO_TEST_CASE(duplicates_first_are_listed_in_results_and_report) {
  TempDir dir;
  write_file(dir.file("d.txt"), kDuplicated);
  run_rv(dir, dir.file("d.txt"), "", 0);
  const std::string run = only_run_dir(dir.file("results"), "random_variance");
  io::H5ResultReader r((fs::path(run) / "results.h5").string());
  BOOST_TEST(r.attr_double("/embeddings", "rows") == 5.0);
  BOOST_TEST(r.attr_string("/embeddings", "duplicates_policy") == "first");
  BOOST_TEST(r.attr_double("/embeddings", "duplicate_tokens") == 2.0);
  BOOST_TEST(r.read_strings("/embeddings/duplicates/token") == (std::vector<std::string>{"cat", "dog"}),
             boost::test_tools::per_element());
  BOOST_TEST(r.read_doubles("/embeddings/duplicates/line") == (std::vector<double>{4, 6}),
             boost::test_tools::per_element());
  BOOST_TEST(r.read_doubles("/embeddings/duplicates/first_line") == (std::vector<double>{1, 2}),
             boost::test_tools::per_element());
  const std::string report = read_file((fs::path(run) / "report.md").string());
  BOOST_TEST(report.find("Duplicate tokens: 2 later occurrence(s) dropped") != std::string::npos);
  BOOST_TEST(report.find("| 'cat' | 4 | 1 |") != std::string::npos, report);
}

BOOST_AUTO_TEST_CASE(duplicates_error_exits_65_naming_both_lines) {
  TempDir dir;
  write_file(dir.file("d.txt"), kDuplicated);
  const std::string err = run_rv(dir, dir.file("d.txt"), " --set embeddings.duplicates=error", 65);
  BOOST_TEST(err.find("d.txt: line 4: duplicate token \"cat\" (first at line 1)") != std::string::npos, err);
  // The key is declared with its allowed values.
  const std::string bad = run_rv(dir, dir.file("d.txt"), " --set embeddings.duplicates=last", 78);
  BOOST_TEST(bad.find("embeddings.duplicates") != std::string::npos, bad);
}

BOOST_AUTO_TEST_CASE(inspect_lists_duplicates) {
  TempDir dir;
  write_file(dir.file("d.txt"), kDuplicated);
  const auto r = run_command(fmt::format("{} inspect '{}'", bin("embedlab"), dir.file("d.txt")), dir);
  BOOST_TEST(r.exit_code == 0, r.err);
  BOOST_TEST(r.out.find("duplicate tokens: 2 later occurrence(s) dropped, the first kept") != std::string::npos, r.out);
  BOOST_TEST(r.out.find("line 4: duplicate token \"cat\" (first at line 1)") != std::string::npos, r.out);
  BOOST_TEST(r.out.find("line 6: duplicate token \"dog\" (first at line 2)") != std::string::npos, r.out);
  BOOST_TEST(r.out.find("matrix vectors: rows 5, dim 3") != std::string::npos, r.out);
  const auto e =
      run_command(fmt::format("{} inspect --duplicates error '{}'", bin("embedlab"), dir.file("d.txt")), dir);
  BOOST_TEST(e.exit_code == 65);
  BOOST_TEST(e.err.find("line 4: duplicate token \"cat\" (first at line 1)") != std::string::npos, e.err);
}

BOOST_AUTO_TEST_SUITE_END()
