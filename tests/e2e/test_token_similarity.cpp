// End to end: configs/glove_similarity.ini and configs/token_similarity.ini offline on reference data.
#include <boost/test/unit_test.hpp>

#include "e2e_util.hpp"
#include "io/h5_results.hpp"
#include "io/readers.hpp"

#include <nlohmann/json.hpp>

#include <fstream>

using namespace embedlab;
using namespace embedlab::test;
namespace fs = std::filesystem;
namespace tt = boost::test_tools;

namespace {

std::string run_ts(const TempDir& dir, const std::string& config, const std::string& sets, int expect_exit = 0) {
  const std::string results = dir.file("results");
  const auto r = run_command(fmt::format("{} {} --results '{}' --quiet --set report.plots=false{}",
                                         bin("run_experiment"), source(config), results, sets),
                             dir);
  BOOST_REQUIRE_MESSAGE(r.exit_code == expect_exit, r.err);
  return expect_exit == 0 ? only_run_dir(results, "token_similarity") : r.err;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(token_similarity_e2e)

BOOST_AUTO_TEST_CASE(glove_subset_pairs_expectations_and_spectrum) {
  EMBEDLAB_FIXTURE(glove, "glove-6B-50d-subset/glove.6B.50d.subset3091.txt");
  TempDir dir;
  const std::string run =
      run_ts(dir, "configs/glove_similarity.ini", fmt::format(" --set embeddings.path='{}'", glove));
  io::H5ResultReader r((fs::path(run) / "results.h5").string());
  const auto a = r.read_strings("/pairs/a"), b = r.read_strings("/pairs/b");
  const auto cos = r.read_doubles("/pairs/cosine");
  auto pair = [&](const std::string& x, const std::string& y) {
    for (std::size_t i = 0; i < a.size(); ++i)
      if (a[i] == x && b[i] == y) return cos[i];
    BOOST_FAIL("pair " << x << ":" << y << " missing");
    return 0.0;
  };
  // The reference values of tests/data/glove-6B-50d-subset, listed with their origin in tests/data/README.md (4
  // decimals).
  BOOST_TEST(pair("cat", "dog") == 0.9218, tt::tolerance(Tol<float>::loose / 0.9218));
  BOOST_TEST(pair("king", "queen") == 0.7839, tt::tolerance(Tol<float>::loose / 0.7839));
  BOOST_TEST(pair("man", "woman") == 0.8860, tt::tolerance(Tol<float>::loose / 0.8860));
  BOOST_TEST(pair("cat", "dog") > pair("cat", "banana"));
  const auto pass = r.read_doubles("/expectations/pass");
  BOOST_REQUIRE(!pass.empty());
  for (const double p : pass) BOOST_TEST(p == 1.0);
  BOOST_TEST(r.attr_double("/expectations", "failed") == 0.0);
  BOOST_TEST(r.attr_string("/words", "lookup") == "direct string lookup");

  // S is symmetric with unit diagonal; eigenvalues sum to its trace (= number of words).
  const auto shape = r.shape("/local/similarity");
  BOOST_REQUIRE(shape.size() == 2u && shape[0] == shape[1]);
  const auto S = r.read_doubles("/local/similarity");
  const std::size_t m = shape[0];
  for (std::size_t i = 0; i < m; ++i) {
    BOOST_TEST(S[i * m + i] == 1.0, tt::tolerance(Tol<double>::eps));
    for (std::size_t j = 0; j < m; ++j) BOOST_TEST(S[i * m + j] == S[j * m + i]);
  }
  double sum = 0;
  for (const double l : r.read_doubles("/local/eigenvalues")) sum += l;
  BOOST_TEST(sum == static_cast<double>(m), tt::tolerance(Tol<double>::sum));
  BOOST_TEST(r.attr_double("/identity", "max_abs_error") < Tol<float>::eps);

  // Neighbours: k per word, descending; dog's nearest neighbours include cat-like words.
  const auto nshape = r.shape("/neighbours/cosine");
  BOOST_TEST(nshape[0] == m);
  BOOST_TEST(nshape[1] == 10u);
  const auto nc = r.read_doubles("/neighbours/cosine");
  for (std::size_t i = 0; i < m; ++i)
    for (std::size_t j = 1; j < nshape[1]; ++j) BOOST_TEST(nc[i * nshape[1] + j] <= nc[i * nshape[1] + j - 1]);
  const auto words = r.read_strings("/local/labels");
  const auto tokens = r.read_strings("/neighbours/tokens");
  const auto cat = static_cast<std::size_t>(std::find(words.begin(), words.end(), "cat") - words.begin());
  BOOST_REQUIRE(cat < m);
  bool dog_near_cat = false;
  for (std::size_t j = 0; j < 10; ++j) dog_near_cat = dog_near_cat || tokens[cat * 10 + j] == "dog";
  BOOST_TEST(dog_near_cat);

  const double sk = r.attr_double("/clusters", "silhouette_kmeans");
  BOOST_TEST((sk >= -1.0 && sk <= 1.0));
  const std::string report = read_file((fs::path(run) / "report.md").string());
  BOOST_TEST(report.find("| cat:dog > cat:banana |") != std::string::npos);
  BOOST_TEST(report.find("wall time") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(gpt2_checkpoint_with_its_tokenizer) {
  // configs/token_similarity.ini as shipped, on tiny-gpt2 (real vocabulary, random weights) laid
  // out as data/gpt2 is (tokenizer files in the checkpoint directory).
  EMBEDLAB_FIXTURE(encoder, "gpt2-tokenizer/encoder.json");
  TempDir dir;
  const std::string model = tiny_gpt2_with_tokenizer(dir);
  const std::string run =
      run_ts(dir, "configs/token_similarity.ini", fmt::format(" --set embeddings.path='{}'", model));
  io::H5ResultReader r((fs::path(run) / "results.h5").string());
  BOOST_TEST(r.attr_string("/words", "lookup") == "gpt2 tokenizer");

  // Independent reference: token ids of " word" straight from encoder.json (byte-level BPE maps
  // the space to 'Ġ'; every word of the config is one token), rows of wte from the safetensors file,
  // cosines in double.
  std::ifstream in(encoder);
  const auto enc = nlohmann::json::parse(in);
  const auto idx = io::read_safetensors_index(model + "/model.safetensors");
  const arma::mat E = arma::conv_to<arma::mat>::from(io::read_safetensors_tensor(idx, "transformer.wte.weight").data);
  const auto id_of = [&](const std::string& w) {
    BOOST_REQUIRE_MESSAGE(enc.contains("\u0120" + w), "'Ġ" << w << "' not in encoder.json");
    return enc["\u0120" + w].get<arma::uword>();
  };
  const auto cos_of = [&](const std::string& x, const std::string& y) {
    const arma::vec a = E.col(id_of(x)), b = E.col(id_of(y));
    return arma::dot(a, b) / (arma::norm(a) * arma::norm(b));
  };
  BOOST_TEST(id_of("cat") == 3797u);  // README: " cat" = 3797

  const auto a = r.read_strings("/pairs/a"), b = r.read_strings("/pairs/b");
  const auto cos = r.read_doubles("/pairs/cosine");
  BOOST_REQUIRE_EQUAL(a.size(), 5u);  // cat:dog, cat:banana, dog:banana, king:queen, man:woman
  for (std::size_t i = 0; i < a.size(); ++i)
    BOOST_TEST(std::abs(cos[i] - cos_of(a[i], b[i])) <= Tol<float>::eps, a[i] << ":" << b[i]);

  // The word → token mapping and the whole local matrix S.
  const auto words = r.read_strings("/words/words");
  const auto ids = r.read_doubles("/words/token_ids");
  BOOST_REQUIRE_EQUAL(ids.size(), words.size());  // one token per word
  for (std::size_t i = 0; i < words.size(); ++i) BOOST_TEST(ids[i] == static_cast<double>(id_of(words[i])), words[i]);
  const auto shape = r.shape("/local/similarity");
  BOOST_REQUIRE(shape.size() == 2u && shape[0] == 13u && shape[1] == 13u);
  const auto S = r.read_doubles("/local/similarity");
  for (std::size_t i = 0; i < 13; ++i)
    for (std::size_t j = 0; j < 13; ++j)
      BOOST_TEST(std::abs(S[i * 13 + j] - (i == j ? 1.0 : cos_of(words[i], words[j]))) <= Tol<float>::eps,
                 words[i] << ", " << words[j]);
  // Expectations are evaluated on these cosines (random weights: pass or fail, never n/a).
  const auto lhs = r.read_doubles("/expectations/lhs"), pass = r.read_doubles("/expectations/pass");
  BOOST_REQUIRE_EQUAL(lhs.size(), 3u);
  BOOST_TEST(std::abs(lhs[0] - cos_of("cat", "dog")) <= Tol<float>::eps);
  BOOST_TEST(pass[0] == (cos_of("cat", "dog") > cos_of("cat", "banana") ? 1.0 : 0.0));
  // The identity against the loaded rows: float rounding of the unit vectors only.
  BOOST_TEST(r.attr_double("/identity", "max_abs_error") < 10 * Tol<float>::eps);
  // Neighbours over the whole vocabulary: the top one of ' cat' (itself excluded) is the argmax of
  // the cosines computed here.
  const arma::vec cat = arma::normalise(E.col(3797));
  arma::vec all = (arma::normalise(E, 2, 0).t() * cat);
  all(3797) = -2;
  const auto nids = r.read_doubles("/neighbours/ids"), ncos = r.read_doubles("/neighbours/cosine");
  const auto cat_row = static_cast<std::size_t>(std::find(words.begin(), words.end(), "cat") - words.begin());
  BOOST_TEST(std::abs(ncos[cat_row * 10] - all.max()) <= Tol<float>::eps);
  BOOST_TEST(std::abs(all(static_cast<arma::uword>(nids[cat_row * 10])) - all.max()) <= Tol<float>::eps);
}

BOOST_AUTO_TEST_CASE(oov_policy_error_and_skip) {
  EMBEDLAB_FIXTURE(glove, "glove-6B-50d-subset/glove.6B.50d.subset3091.txt");
  TempDir dir;
  const std::string sets = fmt::format(" --set embeddings.path='{}' --set words.list=cat,dog,qwzxv", glove);
  const std::string err = run_ts(dir, "configs/glove_similarity.ini", sets, 65);
  BOOST_TEST(err.find("qwzxv") != std::string::npos, err);
  TempDir dir2;
  const std::string run = run_ts(dir2, "configs/glove_similarity.ini", sets + " --set tokens.oov=skip");
  io::H5ResultReader r((fs::path(run) / "results.h5").string());
  const auto w = r.read_strings("/words/words"), st = r.read_strings("/words/status");
  const auto at = std::find(w.begin(), w.end(), "qwzxv") - w.begin();
  BOOST_TEST(st[static_cast<std::size_t>(at)] == "not_in_vocabulary");
  BOOST_TEST(r.attr_string("/words", "oov") == "skip");
}

BOOST_AUTO_TEST_CASE(bad_expectation_is_a_config_error) {
  EMBEDLAB_FIXTURE(glove, "glove-6B-50d-subset/glove.6B.50d.subset3091.txt");
  TempDir dir;
  const std::string err =
      run_ts(dir, "configs/glove_similarity.ini",
             fmt::format(" --set embeddings.path='{}' --set 'words.expect=cat:dog is big'", glove), 78);
  BOOST_TEST(err.find("words.expect") != std::string::npos, err);
}

BOOST_AUTO_TEST_CASE(bad_pair_is_rejected_by_dry_run) {
  EMBEDLAB_FIXTURE(glove, "glove-6B-50d-subset/glove.6B.50d.subset3091.txt");
  TempDir dir;
  const std::string err = run_ts(
      dir, "configs/glove_similarity.ini",
      fmt::format(" --dry-run --set embeddings.path='{}' --set 'words.pairs=cat:dog, catdog' --set words.list=cat",
                  glove),
      78);
  BOOST_TEST(err.find("--set: words.pairs: 'catdog' is not a word pair a:b") != std::string::npos, err);
  BOOST_TEST(err.find("words.list") == std::string::npos, err);  // cat and dog are 2 words: no second problem
  TempDir dir2;
  const std::string few = run_ts(
      dir2, "configs/glove_similarity.ini",
      fmt::format(" --dry-run --set embeddings.path='{}' --set words.pairs= --set words.expect= --set words.list=cat",
                  glove),
      78);
  BOOST_TEST(few.find("words.list: need at least 2 distinct words") != std::string::npos, few);
}

BOOST_AUTO_TEST_SUITE_END()
