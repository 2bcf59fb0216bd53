// End to end: the compare experiment and `embedlab compare` on GloVe text, word2vec binary and a
// GPT-2 checkpoint, checked against the NumPy reference (tests/data/compare_reference.json).
#include <boost/test/unit_test.hpp>

#include "e2e_util.hpp"
#include "io/h5_results.hpp"

#include <nlohmann/json.hpp>

#include <fstream>

using namespace embedlab;
using namespace embedlab::test;
namespace fs = std::filesystem;
namespace tt = boost::test_tools;

namespace {

const char* kGlove = "glove-6B-50d-subset/glove.6B.50d.subset3091.txt";
const char* kW2v = "peer-files/euclidean_vectors.bin";
const char* kNames[] = {"linear_cka",         "linear_cka_debiased", "rbf_cka", "mutual_knn",  "jaccard_knn",
                        "procrustes_angular", "procrustes_residual", "svcca",   "rsa_spearman"};

nlohmann::json reference_case(const std::string& name) {
  std::ifstream in(fixture("compare_reference.json"));
  return nlohmann::json::parse(in)["cases"][name];
}

}  // namespace

BOOST_AUTO_TEST_SUITE(compare_e2e)

BOOST_AUTO_TEST_CASE(halves_of_glove_text_match_the_reference) {
  EMBEDLAB_FIXTURE(glove, kGlove);
  TempDir dir;
  const std::string results = dir.file("results");
  const auto rc = run_command(
      fmt::format("{} {} --quiet --results '{}' --set space_a.path='{}' --set words.count=0 --set report.plots=false "
                  "--set compare.permutations=19 --set compare.bootstrap=0",
                  bin("run_experiment"), source("configs/compare_halves.ini"), results, glove),
      dir);
  BOOST_REQUIRE_MESSAGE(rc.exit_code == 0, rc.err);
  io::H5ResultReader r((fs::path(only_run_dir(results, "compare")) / "results.h5").string());
  const auto ref = reference_case("glove_halves");
  BOOST_TEST(r.attr_double("/metrics", "rows") == 3091.0);
  BOOST_TEST(r.attr_double("/coverage", "kept") == 3091.0);
  for (const char* m : kNames) {
    BOOST_TEST_CONTEXT(m) {
      const std::string g = std::string("/metrics/") + m;
      BOOST_TEST(std::abs(r.read_doubles(g + "/value")[0] - ref["metrics"][m].get<double>()) <= 1e-6);
      const double p = r.read_doubles(g + "/p_value")[0];
      BOOST_TEST((p >= 1.0 / 20.0 && p <= 1.0));
      BOOST_TEST(r.read_doubles(g + "/null").size() == 19u);
      BOOST_TEST(std::isfinite(r.read_doubles(g + "/null_sd")[0]));
      BOOST_TEST(std::isnan(r.read_doubles(g + "/ci_low")[0]));  // no bootstrap asked for
    }
  }
  BOOST_TEST(r.read_strings("/procrustes/most_moved")[0] == ref["procrustes_most_moved"][0]["word"].get<std::string>());
  BOOST_TEST(r.attr_double("/svcca", "kept_a") == ref["svcca_kept"][0].get<double>());
}

BOOST_AUTO_TEST_CASE(glove_text_against_word2vec_binary_matches_the_reference) {
  EMBEDLAB_FIXTURE(glove, kGlove);
  EMBEDLAB_FIXTURE(w2v, kW2v);
  TempDir dir;
  const std::string results = dir.file("results");
  const auto rc = run_command(
      fmt::format("{} {} --quiet --results '{}' --set space_a.path='{}' --set space_a.limit=0 --set space_b.path='{}' "
                  "--set space_b.format=word2vec-bin --set space_b.limit=0 --set words.count=0 "
                  "--set words.alpha_only=false --set report.plots=false --set compare.permutations=9 "
                  "--set compare.bootstrap=5",
                  bin("run_experiment"), source("configs/compare_wiki_twitter.ini"), results, glove, w2v),
      dir);
  BOOST_REQUIRE_MESSAGE(rc.exit_code == 0, rc.err);
  io::H5ResultReader r((fs::path(only_run_dir(results, "compare")) / "results.h5").string());
  const auto ref = reference_case("glove_vs_euclidean");
  BOOST_TEST(r.attr_double("/coverage", "kept") == ref["rows"].get<double>());
  BOOST_TEST(r.attr_double("/coverage", "candidates") == 3091.0);
  for (const char* m : kNames) {
    BOOST_TEST_CONTEXT(m) {
      const std::string g = std::string("/metrics/") + m;
      BOOST_TEST(std::abs(r.read_doubles(g + "/value")[0] - ref["metrics"][m].get<double>()) <= 1e-6);
      BOOST_TEST(r.read_doubles(g + "/ci_low")[0] <= r.read_doubles(g + "/ci_high")[0]);
    }
  }
  // different dimensions: no rotation, no most-moved words
  BOOST_TEST(!r.exists("/procrustes/displacement"));
}

BOOST_AUTO_TEST_CASE(gpt2_wte_against_its_untied_lm_head) {
  EMBEDLAB_FIXTURE(model, "gpt2-golden/micro-gpt2-untied");
  TempDir dir;
  const std::string results = dir.file("results");
  const auto rc = run_command(
      fmt::format("{} {} --quiet --results '{}' --set space_a.path='{}' --set space_a.format=gpt2 "
                  "--set space_a.tensor=wte --set space_a.limit=0 --set space_b.path='{}' --set space_b.format=gpt2 "
                  "--set space_b.tensor=lm_head --set space_b.limit=0 --set words.count=0 --set words.alpha_only=false "
                  "--set compare.permutations=19 --set compare.bootstrap=5 --set report.plots=false",
                  bin("run_experiment"), source("configs/compare_wiki_twitter.ini"), results, model, model),
      dir);
  BOOST_REQUIRE_MESSAGE(rc.exit_code == 0, rc.err);
  io::H5ResultReader r((fs::path(only_run_dir(results, "compare")) / "results.h5").string());
  BOOST_TEST(r.attr_double("/metrics", "rows") == 512.0);
  BOOST_TEST(r.attr_double("/metrics", "dim_a") == 48.0);
  BOOST_TEST(r.read_doubles("/procrustes/displacement").size() == 512u);
  for (const char* m : kNames) BOOST_TEST(std::isfinite(r.read_doubles(std::string("/metrics/") + m + "/value")[0]));
}

BOOST_AUTO_TEST_CASE(pairwise_metrics_above_the_bound_fail_naming_the_key) {
  EMBEDLAB_FIXTURE(glove, kGlove);
  TempDir dir;
  const auto rc =
      run_command(fmt::format("{} {} --quiet --results '{}' --set space_a.path='{}' --set words.count=0 "
                              "--set compare.max_pairwise_rows=1000 --set report.plots=false",
                              bin("run_experiment"), source("configs/compare_halves.ini"), dir.file("results"), glove),
                  dir);
  BOOST_TEST(rc.exit_code == 78);
  BOOST_TEST(rc.err.find("compare.max_pairwise_rows") != std::string::npos, rc.err);
}

BOOST_AUTO_TEST_CASE(cli_compare_json_shape_and_values) {
  EMBEDLAB_FIXTURE(glove, kGlove);
  EMBEDLAB_FIXTURE(w2v, kW2v);
  TempDir dir;
  {
    const auto rc = run_command(fmt::format("{} compare '{}' --halves --json", bin("embedlab"), glove), dir);
    BOOST_REQUIRE_MESSAGE(rc.exit_code == 0, rc.err);
    const auto j = nlohmann::json::parse(rc.out);
    const auto ref = reference_case("glove_halves");
    BOOST_TEST(j["rows"].get<int>() == 3091);
    BOOST_TEST(j["dims"][0].get<int>() == 25);
    BOOST_TEST(j["dims"][1].get<int>() == 25);
    BOOST_TEST(j["metrics"].size() == 9u);
    for (const char* m : kNames) BOOST_TEST_CONTEXT(m) {
        BOOST_TEST(std::abs(j["metrics"][m].get<double>() - ref["metrics"][m].get<double>()) <= 1e-6);
      }
  }
  {
    const auto rc = run_command(fmt::format("{} compare '{}' '{}' --vectors unit --permutations 19 --json "
                                            "--metrics linear_cka,mutual_knn,svcca",
                                            bin("embedlab"), glove, w2v),
                                dir);
    BOOST_REQUIRE_MESSAGE(rc.exit_code == 0, rc.err);
    const auto j = nlohmann::json::parse(rc.out);
    BOOST_TEST(j["rows"].get<int>() == 1217);
    BOOST_TEST(j["dims"][1].get<int>() == 10);
    for (const char* m : {"linear_cka", "mutual_knn", "svcca"})
      for (const char* f : {"value", "p_value", "null_mean", "null_sd", "z", "excess", "ci_low", "ci_high"})
        BOOST_TEST(j["metrics"][m].contains(f), m << "." << f);
    const double p = j["metrics"]["linear_cka"]["p_value"].get<double>();
    BOOST_TEST((p >= 0.05 && p <= 1.0));
  }
  {
    // a GPT-2 checkpoint without tokenizer files: wte against lm_head, row by row
    EMBEDLAB_FIXTURE(model, "gpt2-golden/micro-gpt2-untied");
    const auto rc = run_command(
        fmt::format("{} compare '{}' '{}' --tensor wte --tensor-b lm_head --json", bin("embedlab"), model, model), dir);
    BOOST_REQUIRE_MESSAGE(rc.exit_code == 0, rc.err);
    const auto j = nlohmann::json::parse(rc.out);
    BOOST_TEST(j["rows"].get<int>() == 512);
    BOOST_TEST(j["metrics"]["linear_cka"].is_number());
  }
  {
    // --gram float and --gram double agree to float32 rounding; --matrix picks a model directory's matrix
    // (lm_head of the untied micro model against its wte: the same pair as --tensor above).
    EMBEDLAB_FIXTURE(model, "gpt2-golden/micro-gpt2-untied");
    double cka[2];
    int i = 0;
    for (const char* gram : {"float", "double"}) {
      const auto rc = run_command(fmt::format("{} compare '{}' '{}' --matrix-b output --gram {} --json "
                                              "--metrics linear_cka,procrustes_angular",
                                              bin("embedlab"), model, model, gram),
                                  dir);
      BOOST_REQUIRE_MESSAGE(rc.exit_code == 0, rc.err);
      cka[i++] = nlohmann::json::parse(rc.out)["metrics"]["linear_cka"].get<double>();
    }
    BOOST_TEST(std::abs(cka[0] - cka[1]) <= 1e-5);
    const auto by_tensor = run_command(
        fmt::format("{} compare '{}' '{}' --tensor wte --tensor-b lm_head --gram double --json --metrics linear_cka",
                    bin("embedlab"), model, model),
        dir);
    BOOST_REQUIRE_MESSAGE(by_tensor.exit_code == 0, by_tensor.err);
    BOOST_TEST(nlohmann::json::parse(by_tensor.out)["metrics"]["linear_cka"].get<double>() == cka[1]);
  }
  for (const char* bad : {"--vectors cosine", "--gram half", "--matrix logits"}) {
    const auto rc = run_command(fmt::format("{} compare '{}' --halves {}", bin("embedlab"), glove, bad), dir);
    BOOST_TEST(rc.exit_code == 64, bad);
    BOOST_TEST(rc.err.find('\n') == rc.err.size() - 1, bad);
  }
}

BOOST_AUTO_TEST_SUITE_END()
