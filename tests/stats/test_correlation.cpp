#include <boost/test/unit_test.hpp>
#include "stats_testing.hpp"
#include "testing.hpp"

#include "core/error.hpp"
#include "core/rng.hpp"
#include "stats/correlation.hpp"

#include <nlohmann/json.hpp>

#include <cmath>

namespace tt = boost::test_tools;
using embedlab::Rng;
using embedlab::test::json_vec;
using embedlab::test::Tol;
namespace st = embedlab::stats;

namespace {

// O(n^2) reference: concordant minus discordant over all pairs.
double tau_a_quadratic(const arma::vec& x, const arma::vec& y) {
  const auto sgn = [](double v) { return (v > 0) - (v < 0); };
  long long s = 0;
  for (std::size_t i = 0; i < x.n_elem; ++i)
    for (std::size_t j = i + 1; j < x.n_elem; ++j) s += sgn(x[i] - x[j]) * sgn(y[i] - y[j]);
  return static_cast<double>(s) / (0.5 * static_cast<double>(x.n_elem) * static_cast<double>(x.n_elem - 1));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(stats_correlation)

BOOST_AUTO_TEST_CASE(matches_scipy_with_ties) {
  const nlohmann::json ref = embedlab::test::stats_reference();
  for (const auto& c : ref["correlation"]) {
    const arma::vec x = json_vec(c["x"]), y = json_vec(c["y"]);
    BOOST_TEST(st::rank_average(x) == json_vec(c["ranks_x"]), tt::per_element());
    BOOST_TEST(st::pearson(x, y) == c["pearson"].get<double>(), tt::tolerance(Tol<double>::sum));
    BOOST_TEST(st::spearman(x, y) == c["spearman"].get<double>(), tt::tolerance(Tol<double>::sum));
    BOOST_TEST(st::cosine(x, y) == c["cosine"].get<double>(), tt::tolerance(Tol<double>::sum));
    const auto k = st::kendall(x, y);
    BOOST_TEST(k.tau_a == c["kendall_tau_a"].get<double>(), tt::tolerance(Tol<double>::eps));
    BOOST_TEST(k.tau_b == c["kendall_tau_b"].get<double>(), tt::tolerance(Tol<double>::sum));
  }
}

BOOST_AUTO_TEST_CASE(hand_computed) {
  // x = 1 2 3 4, y = 1 3 2 4: 5 concordant, 1 discordant pair -> tau = 4/6; Spearman
  // 1 - 6 * 2 / (4 * 15) = 0.8.
  const arma::vec x{1, 2, 3, 4}, y{1, 3, 2, 4};
  BOOST_TEST(st::kendall_tau_a(x, y) == 4.0 / 6.0, tt::tolerance(Tol<double>::eps));
  BOOST_TEST(st::kendall(x, y).tau_b == 4.0 / 6.0, tt::tolerance(Tol<double>::eps));
  BOOST_TEST(st::spearman(x, y) == 0.8, tt::tolerance(Tol<double>::eps));
  BOOST_TEST(st::pearson(x, x) == 1.0, tt::tolerance(Tol<double>::eps));
  BOOST_TEST(st::pearson(x, -x) == -1.0, tt::tolerance(Tol<double>::eps));
  BOOST_TEST(st::cosine(arma::vec{1, 0}, arma::vec{0, 2}) == 0.0);
  // Ties: x = 1 1 2, y = 1 2 2: pairs (0,1) tied in x, (1,2) tied in y, (0,2) concordant.
  const auto k = st::kendall(arma::vec{1, 1, 2}, arma::vec{1, 2, 2});
  BOOST_TEST(k.s == 1);
  BOOST_TEST(k.ties_x == 1u);
  BOOST_TEST(k.ties_y == 1u);
  BOOST_TEST(k.tau_a == 1.0 / 3.0, tt::tolerance(Tol<double>::eps));
  BOOST_TEST(k.tau_b == 0.5, tt::tolerance(Tol<double>::eps));
  BOOST_TEST(st::rank_average(arma::vec{3, 1, 3, 2}) == (arma::vec{3.5, 1, 3.5, 2}), tt::per_element());
}

BOOST_AUTO_TEST_CASE(kendall_merge_sort_equals_quadratic_count) {
  Rng rng(embedlab::test::kSeed);
  for (const std::size_t n : {2u, 3u, 17u, 600u}) {
    arma::vec x(n), y(n);
    for (std::size_t i = 0; i < n; ++i) {
      x[i] = static_cast<double>(rng.below(7));  // heavy ties
      y[i] = x[i] + static_cast<double>(rng.below(5));
    }
    BOOST_TEST(st::kendall_tau_a(x, y) == tau_a_quadratic(x, y), tt::tolerance(Tol<double>::eps));
    const st::KendallPrepared prepared(x);
    const arma::vec yr = arma::reverse(y);
    BOOST_TEST(prepared(yr).tau_a == tau_a_quadratic(x, yr), tt::tolerance(Tol<double>::eps));
  }
}

BOOST_AUTO_TEST_CASE(kendall_half_million_entries) {
  // The size of an RSA upper triangle for ~1000 items: must be O(N log N) (fast even under ASan).
  Rng rng(embedlab::test::kSeed);
  const std::size_t n = 500000;
  arma::vec x(n), y(n);
  for (std::size_t i = 0; i < n; ++i) {
    x[i] = rng.normal();
    y[i] = x[i] + rng.normal();
  }
  // Population tau for correlation rho = 1/sqrt(2): (2/pi) asin(rho) = 0.5.
  BOOST_TEST(st::kendall_tau_a(x, y) == 0.5, tt::tolerance(0.01));
  BOOST_TEST(st::kendall_tau_a(x, x) == 1.0, tt::tolerance(Tol<double>::eps));
}

BOOST_AUTO_TEST_CASE(constant_gives_nan_and_bad_input_throws) {
  const arma::vec c(5, arma::fill::ones), x{1, 2, 3, 4, 5};
  BOOST_TEST(std::isnan(st::pearson(c, x)));
  BOOST_TEST(std::isnan(st::spearman(x, c)));
  BOOST_TEST(std::isnan(st::kendall(c, x).tau_b));
  BOOST_TEST(st::kendall_tau_a(c, x) == 0.0);
  BOOST_TEST(std::isnan(st::cosine(arma::vec(5, arma::fill::zeros), x)));
  BOOST_CHECK_THROW(st::pearson(x, arma::vec{1, 2}), embedlab::Error);
  BOOST_CHECK_THROW(st::spearman(arma::vec{1}, arma::vec{1}), embedlab::Error);
  arma::vec bad = x;
  bad[2] = std::nan("");
  BOOST_CHECK_THROW(st::kendall(x, bad), embedlab::Error);
  BOOST_CHECK_THROW(st::pearson(bad, x), embedlab::Error);
}

BOOST_AUTO_TEST_SUITE_END()
