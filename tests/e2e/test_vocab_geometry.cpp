// End to end: configs/vocab_geometry.ini offline on the GloVe subset and on tiny-gpt2 (V = 50257).
#include <boost/test/unit_test.hpp>

#include "e2e_util.hpp"
#include "io/embedding.hpp"
#include "io/h5_results.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

using namespace embedlab;
using namespace embedlab::test;
namespace fs = std::filesystem;
namespace tt = boost::test_tools;

namespace {

std::string run_vg(const TempDir& dir, const std::string& sets) {
  const std::string results = dir.file("results");
  const auto r = run_command(fmt::format("{} {} --results '{}' --quiet --set report.plots=false{}",
                                         bin("run_experiment"), source("configs/vocab_geometry.ini"), results, sets),
                             dir);
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  return only_run_dir(results, "vocab_geometry");
}

// Mean off-diagonal cosine from Σ x̂_i, computed here in double independently of the engine.
double gram_mean_cosine(const arma::fmat& E) {
  arma::vec s(E.n_rows, arma::fill::zeros);
  double self = 0;
  for (arma::uword j = 0; j < E.n_cols; ++j) {
    const arma::vec x = arma::conv_to<arma::vec>::from(E.col(j));
    const arma::vec u = x / arma::norm(x);
    s += u;
    self += arma::dot(u, u);
  }
  const double n = static_cast<double>(E.n_cols);
  return (arma::dot(s, s) - self) / (n * (n - 1));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(vocab_geometry_e2e)

BOOST_AUTO_TEST_CASE(glove_subset_histogram_baselines_abtt) {
  EMBEDLAB_FIXTURE(glove, "glove-6B-50d-subset/glove.6B.50d.subset3091.txt");
  TempDir dir;
  const std::string run = run_vg(dir, fmt::format(" --set embeddings.path='{}' --set gaussian.samples=1500", glove));
  io::H5ResultReader r((fs::path(run) / "results.h5").string());
  io::LoadOptions lo;
  lo.path = glove;
  const auto emb = io::load_embeddings(lo);
  const auto mean = r.read_doubles("/cosines/mean"), pass = r.read_doubles("/cosines/mean_pass");
  BOOST_REQUIRE_EQUAL(mean.size(), 3u);
  BOOST_TEST(mean[0] == gram_mean_cosine(emb.vectors), tt::tolerance(Tol<float>::eps));
  BOOST_TEST(std::abs(pass[0] - mean[0]) < Tol<float>::eps);  // the pass's own sums agree with the Gram
  // Brute force over every pair (not through any Gram identity): mean, variance and the quantiles.
  {
    const arma::mat U = arma::normalise(arma::conv_to<arma::mat>::from(emb.vectors));
    const arma::mat C = U.t() * U;
    std::vector<double> all;
    all.reserve(C.n_cols * (C.n_cols - 1) / 2);
    for (arma::uword j = 0; j < C.n_cols; ++j)
      for (arma::uword i = 0; i < j; ++i) all.push_back(C(i, j));
    const double n = static_cast<double>(all.size());
    double m = 0, v = 0;
    for (const double c : all) m += c / n;
    for (const double c : all) v += (c - m) * (c - m) / n;
    BOOST_TEST(std::abs(mean[0] - m) < Tol<float>::eps);
    BOOST_TEST(r.read_doubles("/cosines/variance")[0] == v, tt::tolerance(Tol<float>::loose));
    // Histogram quantiles are within one bin width (2/400) of the exact type-7 quantiles.
    std::sort(all.begin(), all.end());
    const double w = r.attr_double("/cosines", "quantile_resolution");
    BOOST_TEST(w == 2.0 / 400.0);
    const auto exact = [&](double l) {
      const double h = l * (n - 1);
      const auto lo = static_cast<std::size_t>(std::floor(h));
      return all[lo] + (h - static_cast<double>(lo)) * (all[std::min(lo + 1, all.size() - 1)] - all[lo]);
    };
    BOOST_TEST(std::abs(r.read_doubles("/cosines/q01")[0] - exact(0.01)) <= w);
    BOOST_TEST(std::abs(r.read_doubles("/cosines/median")[0] - exact(0.5)) <= w);
    BOOST_TEST(std::abs(r.read_doubles("/cosines/q99")[0] - exact(0.99)) <= w);
  }
  // The random baseline's quantiles are the exact Beta law at d = 50, against scipy:
  // /usr/bin/python3 -c 'from scipy.stats import beta; print(2*beta.ppf(0.01, 24.5, 24.5)-1)'
  BOOST_TEST(r.attr_double("/cosines", "random_q01") == -0.3249156493898546, tt::tolerance(Tol<double>::loose));
  BOOST_TEST(r.attr_double("/cosines", "random_q99") == 0.3249156493898546, tt::tolerance(Tol<double>::loose));
  BOOST_TEST(std::abs(r.attr_double("/cosines", "random_median")) <= Tol<double>::sum);
  // The report prints histogram quantiles at the bin width's resolution: 3 decimals ± 0.005.
  const std::string report = read_file((fs::path(run) / "report.md").string());
  BOOST_TEST(report.find(fmt::format("{:.3f} ± 0.005", r.read_doubles("/cosines/median")[0])) != std::string::npos);
  BOOST_TEST(report.find("| random N(0, I_50) |") != std::string::npos);
  // Every pair is counted once in the histogram.
  double total = 0;
  for (const double c : r.read_doubles("/cosines/counts")) total += c;
  BOOST_TEST(total == 3091.0 * 3090.0 / 2.0);
  BOOST_TEST(r.attr_double("/cosines", "random_variance") == 1.0 / 50.0);
  BOOST_TEST(r.attr_double("/cosines", "gaussian_samples") == 1500.0);
  // Row norms: quantiles ordered, the median within [min, max].
  const auto q = r.read_doubles("/norms/quantiles");
  for (std::size_t i = 1; i < q.size(); ++i) BOOST_TEST(q[i] >= q[i - 1]);
  // PCA shares sum to 1; ABTT row 0 is the untransformed mean and removing the mean lowers it.
  double s = 0;
  for (const double x : r.read_doubles("/pca/shares")) s += x;
  BOOST_TEST(s == 1.0, tt::tolerance(Tol<double>::sum));
  const auto abtt = r.read_doubles("/abtt/mean_cosine");
  BOOST_TEST(abtt[0] == mean[0], tt::tolerance(Tol<double>::eps));
  for (std::size_t i = 1; i < abtt.size(); ++i) BOOST_TEST(std::abs(abtt[i]) < std::abs(abtt[0]));
  // Central tokens: the most central has the highest cosine to the mean direction.
  const auto cm = r.read_doubles("/central/cos_to_mean");
  const auto most = r.read_doubles("/central/most/ids"), least = r.read_doubles("/central/least/ids");
  BOOST_TEST(cm[static_cast<std::size_t>(most[0])] == *std::max_element(cm.begin(), cm.end()));
  BOOST_TEST(cm[static_cast<std::size_t>(least[0])] == *std::min_element(cm.begin(), cm.end()));
  const double iso = r.attr_double("/anisotropy", "iso_score");
  BOOST_TEST((iso > 0.0 && iso < 1.0));
}

BOOST_AUTO_TEST_CASE(tiny_gpt2_mean_cosine_equals_gram_moment) {
  EMBEDLAB_FIXTURE(tiny, "gpt2-golden/tiny-gpt2");
  TempDir dir;
  const std::string run = run_vg(
      dir, fmt::format(" --set embeddings.path='{}' --set allpairs.histogram=false --set gaussian.samples=2000", tiny));
  io::H5ResultReader r((fs::path(run) / "results.h5").string());
  io::LoadOptions lo;
  lo.path = tiny;
  const auto emb = io::load_embeddings(lo);
  BOOST_REQUIRE_EQUAL(emb.rows(), 50257u);
  BOOST_TEST(std::abs(r.read_doubles("/cosines/mean")[0] - gram_mean_cosine(emb.vectors)) < Tol<float>::eps);
  BOOST_TEST(r.attr_double("/anisotropy", "mean_cosine") == r.read_doubles("/cosines/mean")[0]);
  BOOST_TEST(r.read_doubles("/central/cos_to_mean").size() == 50257u);
}

BOOST_AUTO_TEST_SUITE_END()
