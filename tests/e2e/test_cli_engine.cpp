// embedlab similar / neighbors / stats through the real binary.
#include <boost/test/unit_test.hpp>

#include "e2e_util.hpp"
#include "io/h5_results.hpp"

#include <nlohmann/json.hpp>

using namespace embedlab;
using namespace embedlab::test;

BOOST_AUTO_TEST_SUITE(cli_engine)

// Same neighbours and cosines (±1e-4) as gensim's most_similar (tests/data/similar_reference.json,
// made by scripts/gen_similar_reference.py).
BOOST_AUTO_TEST_CASE(similar_matches_gensim_most_similar) {
  EMBEDLAB_FIXTURE(glove, "glove-6B-50d-subset/glove.6B.50d.subset3091.txt");
  const auto ref = nlohmann::json::parse(read_file(source("tests/data/similar_reference.json")));
  std::string words;
  for (const auto& [w, _] : ref["cases"].items()) words += " " + w;
  TempDir dir;
  const auto r = run_command(fmt::format("{} similar '{}'{} --k 10 --json", bin("embedlab"), glove, words), dir);
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  const auto got = nlohmann::json::parse(r.out);
  for (const auto& [w, expected] : ref["cases"].items()) {
    BOOST_REQUIRE_EQUAL(got[w].size(), expected.size());
    for (std::size_t i = 0; i < expected.size(); ++i) {
      BOOST_TEST(got[w][i][0].get<std::string>() == expected[i][0].get<std::string>(), w << " #" << i);
      BOOST_TEST(std::abs(got[w][i][1].get<double>() - expected[i][1].get<double>()) <= Tol<float>::loose);
    }
  }
}

BOOST_AUTO_TEST_CASE(similar_unknown_word_is_one_line_exit_65) {
  EMBEDLAB_FIXTURE(glove, "glove-6B-50d-subset/glove.6B.50d.subset3091.txt");
  TempDir dir;
  const auto r = run_command(fmt::format("{} similar '{}' qwzxv", bin("embedlab"), glove), dir);
  BOOST_TEST(r.exit_code == 65);
  BOOST_TEST(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  BOOST_TEST(r.err.find("qwzxv") != std::string::npos, r.err);
}

BOOST_AUTO_TEST_CASE(neighbors_all_writes_ids_and_cos) {
  EMBEDLAB_FIXTURE(glove, "glove-6B-50d-subset/glove.6B.50d.subset3091.txt");
  TempDir dir;
  const std::string out = dir.file("nb.h5");
  const auto r = run_command(fmt::format("{} neighbors '{}' --all --k 5 --out '{}'", bin("embedlab"), glove, out), dir);
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  io::H5ResultReader h(out);
  BOOST_TEST(h.shape("/ids") == (std::vector<std::uint64_t>{3091, 5}));
  BOOST_TEST(h.shape("/cos") == (std::vector<std::uint64_t>{3091, 5}));
  const auto tokens = h.read_strings("/tokens");
  const auto ids = h.read_doubles("/ids");
  const auto cos = h.read_doubles("/cos");
  const auto cat = std::find(tokens.begin(), tokens.end(), "cat") - tokens.begin();
  BOOST_TEST(tokens[static_cast<std::size_t>(ids[static_cast<std::size_t>(cat) * 5])] == "dog");
  BOOST_TEST(cos[static_cast<std::size_t>(cat) * 5] == 0.9218, boost::test_tools::tolerance(1e-4));
  // An existing output file is never overwritten.
  const auto again =
      run_command(fmt::format("{} neighbors '{}' --all --k 5 --out '{}'", bin("embedlab"), glove, out), dir);
  BOOST_TEST(again.exit_code == 73);
  BOOST_TEST(again.err.find("output file exists") != std::string::npos, again.err);
}

BOOST_AUTO_TEST_CASE(stats_json_moments) {
  EMBEDLAB_FIXTURE(glove, "glove-6B-50d-subset/glove.6B.50d.subset3091.txt");
  TempDir dir;
  const auto r = run_command(fmt::format("{} stats '{}' --json", bin("embedlab"), glove), dir);
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  const auto j = nlohmann::json::parse(r.out);
  BOOST_TEST(j["rows"] == 3091);
  BOOST_TEST(j["pairs"] == 3091ull * 3090 / 2);
  BOOST_TEST(j["anisotropy"]["mean_cosine"].get<double>() == j["mean"].get<double>(),
             boost::test_tools::tolerance(1e-12));
  BOOST_TEST(j["min"]["cos"].get<double>() < j["quantiles"]["median"].get<double>());
  BOOST_TEST(j["max"]["cos"].get<double>() <= 1.0);
}

BOOST_AUTO_TEST_SUITE_END()
