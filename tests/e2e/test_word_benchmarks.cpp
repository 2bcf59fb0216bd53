// word_benchmarks end to end on the GloVe subset: numbers equal gensim's (tests/data/gensim_reference.json).
#include <boost/test/unit_test.hpp>

#include "e2e_util.hpp"
#include "io/h5_results.hpp"

#include <nlohmann/json.hpp>

using namespace embedlab;
using namespace embedlab::test;
namespace fs = std::filesystem;

BOOST_AUTO_TEST_SUITE(word_benchmarks_e2e)

BOOST_AUTO_TEST_CASE(glove_subset_matches_gensim) {
  EMBEDLAB_FIXTURE(glove, "glove-6B-50d-subset/glove.6B.50d.subset3091.txt");
  EMBEDLAB_FIXTURE(ws, "peer-files/wordsim353.tsv");
  EMBEDLAB_FIXTURE(sl, "peer-files/simlex999.txt");
  EMBEDLAB_FIXTURE(qw, "peer-files/questions-words.txt");
  const auto ref = nlohmann::json::parse(read_file(source("tests/data/gensim_reference.json")))["cases"]["glove"];
  TempDir dir;
  const std::string results = dir.file("results");
  const auto r = run_command(
      fmt::format("{} {} --results '{}' --quiet --set embeddings.path='{}' --set embeddings.format=glove "
                  "--set benchmarks.word_pairs='{},{}' --set benchmarks.analogies='{}' --set report.plots=false",
                  bin("run_experiment"), source("configs/word_benchmarks.ini"), results, glove, ws, sl, qw),
      dir);
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  io::H5ResultReader h((fs::path(only_run_dir(results, "word_benchmarks")) / "results.h5").string());
  for (const char* b : {"wordsim353", "simlex999"}) {
    const std::string g = std::string("/pairs/") + b;
    BOOST_TEST(h.attr_double(g, "pearson") == ref["pairs"][b]["pearson"].get<double>(),
               boost::test_tools::tolerance(1e-6));
    BOOST_TEST(h.attr_double(g, "spearman") == ref["pairs"][b]["spearman"].get<double>(),
               boost::test_tools::tolerance(1e-6));
    BOOST_TEST(h.attr_double(g, "oov_ratio_percent") == ref["pairs"][b]["oov_ratio"].get<double>(),
               boost::test_tools::tolerance(1e-9));
  }
  const auto correct = h.read_doubles("/analogies/3cosadd/correct");
  const auto incorrect = h.read_doubles("/analogies/3cosadd/incorrect");
  const auto& sections = ref["analogies"]["sections"];
  std::size_t matched = 0;
  const auto names = h.read_strings("/analogies/3cosadd/section");
  for (const auto& s : sections) {
    const auto it = std::find(names.begin(), names.end(), s["name"].get<std::string>());
    if (it == names.end()) continue;  // gensim's extra "Total accuracy" section
    const auto i = static_cast<std::size_t>(it - names.begin());
    BOOST_TEST(correct[i] == s["correct"].get<double>(), s["name"]);
    BOOST_TEST(incorrect[i] == s["incorrect"].get<double>(), s["name"]);
    ++matched;
  }
  BOOST_TEST(matched == names.size());
  BOOST_TEST(h.attr_double("/analogies/3cosadd", "accuracy") == ref["analogies"]["score"].get<double>(),
             boost::test_tools::tolerance(1e-12));
  BOOST_TEST(h.exists("/analogies/3cosmul/correct"));
}

BOOST_AUTO_TEST_SUITE_END()
