// End to end: configs/rsa_halves.ini offline on the GloVe subset.
#include <boost/test/unit_test.hpp>

#include "e2e_util.hpp"
#include "io/h5_results.hpp"

#include <sstream>

using namespace embedlab;
using namespace embedlab::test;
namespace fs = std::filesystem;
namespace tt = boost::test_tools;

namespace {

const std::string kFast =
    " --quiet --set report.plots=false --set compare.permutations=199 --set compare.bootstrap=100";

}  // namespace

BOOST_AUTO_TEST_SUITE(rsa_e2e)

BOOST_AUTO_TEST_CASE(halves_of_glove_subset) {
  EMBEDLAB_FIXTURE(glove, "glove-6B-50d-subset/glove.6B.50d.subset3091.txt");
  TempDir dir;
  const std::string results = dir.file("results");
  // 60 words of the file, then one missing word, one repeat and one that is not a-z only.
  std::string list;
  {
    std::istringstream in(read_file(glove));
    std::string line;
    for (int i = 0; i < 60 && std::getline(in, line); ++i) list += line.substr(0, line.find(' ')) + ",";
  }
  list += "qwzxv,dog,new-york";
  const auto rc =
      run_command(fmt::format("{} {} --results '{}'{} --set space_a.path='{}' --set words.from=list "
                              "--set words.list={} --set compare.methods=spearman,pearson,kendall_tau_a",
                              bin("run_experiment"), source("configs/rsa_halves.ini"), results, kFast, glove, list),
                  dir);
  BOOST_REQUIRE_MESSAGE(rc.exit_code == 0, rc.err);
  const std::string run = only_run_dir(results, "rsa");
  io::H5ResultReader r((fs::path(run) / "results.h5").string());

  const auto stat = r.read_doubles("/compare/statistic"), p = r.read_doubles("/compare/p_value");
  const auto lo = r.read_doubles("/compare/ci_low"), hi = r.read_doubles("/compare/ci_high");
  BOOST_REQUIRE_EQUAL(stat.size(), 3u);  // spearman, pearson, kendall_tau_a
  for (std::size_t i = 0; i < stat.size(); ++i) {
    BOOST_TEST((stat[i] >= -1.0 && stat[i] <= 1.0));
    BOOST_TEST((p[i] > 0.0 && p[i] <= 1.0));
    BOOST_TEST(p[i] >= 1.0 / 200.0);  // observed counted once among 199 permutations
    BOOST_TEST(lo[i] <= hi[i]);
  }
  // Coverage: kept + dropped = candidates; dropped words carry a reason, kept ones none.
  const double kept = r.attr_double("/coverage", "kept"), dropped = r.attr_double("/coverage", "dropped");
  BOOST_TEST(r.attr_double("/coverage", "candidates") == 63.0);
  BOOST_TEST(kept == 60.0);
  BOOST_TEST(dropped == 3.0);
  const auto status = r.read_strings("/coverage/status_a");
  BOOST_TEST(status[60] == "not_in_vocabulary");
  const auto flag = r.read_doubles("/coverage/kept");
  const auto why = r.read_strings("/coverage/reason");
  for (std::size_t i = 0; i < flag.size(); ++i) BOOST_TEST((flag[i] == 1.0) == why[i].empty());
  const auto shape = r.shape("/rdm/a");
  BOOST_TEST(shape[0] == static_cast<std::uint64_t>(kept));
  BOOST_TEST(r.shape("/rdm/b") == shape, tt::per_element());
  BOOST_TEST(r.attr_string("/rdm", "space_a") == "dimensions 0..24");
  const std::string report = read_file((fs::path(run) / "report.md").string());
  BOOST_TEST(report.find("Coverage") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(two_spaces_need_space_b) {
  EMBEDLAB_FIXTURE(glove, "glove-6B-50d-subset/glove.6B.50d.subset3091.txt");
  TempDir dir;
  const auto rc = run_command(
      fmt::format("{} {} --results '{}'{} --set space_a.path='{}' --set rsa.halves=false", bin("run_experiment"),
                  source("configs/rsa_halves.ini"), dir.file("results"), kFast, glove),
      dir);
  BOOST_TEST(rc.exit_code == 78);
  BOOST_TEST(rc.err.find("space_b.path: required unless rsa.halves = true") != std::string::npos, rc.err);
  // the same problems are found by --dry-run, before anything is read, all at once
  const auto dry = run_command(
      fmt::format("{} {} --dry-run --results '{}' --set space_a.path='{}' --set rsa.halves=false --set words.from=list "
                  "--set words.list=cat,dog",
                  bin("run_experiment"), source("configs/rsa_halves.ini"), dir.file("results"), glove),
      dir);
  BOOST_TEST(dry.exit_code == 78);
  BOOST_TEST(dry.err.find("space_b.path: required unless") != std::string::npos, dry.err);
  BOOST_TEST(dry.err.find("--set: words.list: words.from = list needs at least 3 words (got 2)") != std::string::npos,
             dry.err);
}

BOOST_AUTO_TEST_SUITE_END()
