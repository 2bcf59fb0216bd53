#include <boost/test/unit_test.hpp>
#include "stats_testing.hpp"
#include "testing.hpp"

#include "core/error.hpp"
#include "core/rng.hpp"
#include "stats/histogram.hpp"
#include "stats/moments.hpp"

#include <nlohmann/json.hpp>

#include <cmath>

namespace tt = boost::test_tools;
using embedlab::Rng;
using embedlab::test::json_vec;
using embedlab::test::Tol;
namespace st = embedlab::stats;

namespace {

arma::vec normal_sample(std::size_t n, Rng& rng) {
  arma::vec x(n);
  for (auto& v : x) v = rng.normal();
  return x;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(stats_moments)

BOOST_AUTO_TEST_CASE(matches_scipy_streaming_two_pass_and_merged) {
  const nlohmann::json ref = embedlab::test::stats_reference();
  for (const auto& c : ref["moments"]) {
    const arma::vec x = json_vec(c["x"]);
    st::Moments stream;
    stream.add(x);
    st::Moments left, right;
    const std::size_t cut = x.n_elem / 3;
    for (std::size_t i = 0; i < x.n_elem; ++i) (i < cut ? left : right).add(x[i]);
    left.merge(right);
    for (const auto& m : {stream, st::Moments::of(x), left}) {
      BOOST_TEST(m.count() == x.n_elem);
      BOOST_TEST(m.mean() == c["mean"].get<double>(), tt::tolerance(Tol<double>::sum));
      BOOST_TEST(m.variance() == c["variance"].get<double>(), tt::tolerance(Tol<double>::sum));
      BOOST_TEST(m.skewness() == c["skewness"].get<double>(), tt::tolerance(Tol<double>::loose));
      BOOST_TEST(m.excess_kurtosis() == c["excess_kurtosis"].get<double>(), tt::tolerance(Tol<double>::loose));
      BOOST_TEST(m.min() == x.min());
      BOOST_TEST(m.max() == x.max());
    }
    BOOST_TEST(st::quantile(x, 0.1) == c["q10"].get<double>(), tt::tolerance(Tol<double>::eps));
    BOOST_TEST(st::quantile(x, 0.5) == c["q50"].get<double>(), tt::tolerance(Tol<double>::eps));
    BOOST_TEST(st::quantile(x, 0.975) == c["q975"].get<double>(), tt::tolerance(Tol<double>::eps));
  }
}

BOOST_AUTO_TEST_CASE(hand_computed_small_sample) {
  // x = 1, 2, 3, 4: mean 2.5, m2 = 5, s^2 = 5/3, m4 = 2 * (1.5^4 + 0.5^4) = 10.25, g2 = 4 * 10.25 / 25 - 3.
  st::Moments m;
  m.add(arma::vec{1, 2, 3, 4});
  BOOST_TEST(m.mean() == 2.5, tt::tolerance(Tol<double>::eps));
  BOOST_TEST(m.variance() == 5.0 / 3.0, tt::tolerance(Tol<double>::eps));
  BOOST_TEST(m.population_variance() == 1.25, tt::tolerance(Tol<double>::eps));
  BOOST_TEST(m.excess_kurtosis() == 4.0 * 10.25 / 25.0 - 3.0, tt::tolerance(Tol<double>::eps));
  BOOST_TEST(std::abs(m.skewness()) < Tol<double>::eps);
}

BOOST_AUTO_TEST_CASE(large_offset_keeps_precision) {
  // Naive sum-of-squares loses every digit here; Welford and two-pass keep them.
  st::Moments m;
  for (int i = 0; i < 1000; ++i) m.add(1e9 + (i % 2 ? 1.0 : -1.0));
  BOOST_TEST(m.variance() == 1000.0 / 999.0, tt::tolerance(Tol<double>::loose));
}

BOOST_AUTO_TEST_CASE(normal_sample_kurtosis_and_variance_ci) {
  Rng rng(embedlab::test::kSeed);
  const arma::vec x = 3.0 * normal_sample(20000, rng);
  const auto m = st::Moments::of(x);
  // sd of g2 for a normal sample is sqrt(24 / n) ~ 0.035: allow 5 sd.
  BOOST_TEST(std::abs(m.excess_kurtosis()) < 5.0 * std::sqrt(24.0 / 20000.0));
  for (const auto method : {st::VarianceCi::asymptotic, st::VarianceCi::normal_chi2}) {
    const auto ci = st::variance_ci(m, 0.95, method);
    BOOST_TEST(ci.lo < 9.0);
    BOOST_TEST(ci.hi > 9.0);
    BOOST_TEST(ci.lo < m.variance());
    BOOST_TEST(ci.hi > m.variance());
  }
  // The two intervals agree for large normal samples (kappa ~ 0).
  const auto a = st::variance_ci(m, 0.95, st::VarianceCi::asymptotic);
  const auto b = st::variance_ci(m, 0.95, st::VarianceCi::normal_chi2);
  BOOST_TEST(a.hi - a.lo == b.hi - b.lo, tt::tolerance(0.05));
}

BOOST_AUTO_TEST_CASE(variance_ci_coverage) {
  // 400 normal samples of n = 300: the 95% asymptotic interval covers sigma^2 = 1 in about 95%
  // of them; binomial sd is ~1.1%, the kurtosis estimate costs a little coverage at this n.
  Rng rng(embedlab::test::kSeed + 1);
  int covered_asym = 0, covered_chi2 = 0;
  for (int s = 0; s < 400; ++s) {
    const auto m = st::Moments::of(normal_sample(300, rng));
    const auto a = st::variance_ci(m, 0.95);
    const auto b = st::variance_ci(m, 0.95, st::VarianceCi::normal_chi2);
    covered_asym += a.lo <= 1.0 && 1.0 <= a.hi;
    covered_chi2 += b.lo <= 1.0 && 1.0 <= b.hi;
  }
  BOOST_TEST_MESSAGE("variance CI coverage: asymptotic " << covered_asym / 4.0 << "%, chi2 " << covered_chi2 / 4.0
                                                         << "%");
  BOOST_TEST(covered_asym >= 356);  // >= 89%
  BOOST_TEST(covered_asym <= 396);
  BOOST_TEST(covered_chi2 >= 364);  // >= 91%
  BOOST_TEST(covered_chi2 <= 396);
}

BOOST_AUTO_TEST_CASE(variance_ci_heavy_tails_wider_than_chi2) {
  // Laplace data (excess kurtosis 3): the chi-square interval is too narrow, the asymptotic one
  // widens by about sqrt(1 + 3/2).
  Rng rng(embedlab::test::kSeed + 2);
  arma::vec x(20000);
  for (auto& v : x) {
    const double u = rng.uniform() - 0.5;
    v = (u < 0 ? 1.0 : -1.0) * std::log(1.0 - 2.0 * std::abs(u));
  }
  const auto m = st::Moments::of(x);
  BOOST_TEST(m.excess_kurtosis() == 3.0, tt::tolerance(0.2));
  const auto a = st::variance_ci(m, 0.95), b = st::variance_ci(m, 0.95, st::VarianceCi::normal_chi2);
  BOOST_TEST((a.hi - a.lo) / (b.hi - b.lo) == std::sqrt(2.5), tt::tolerance(0.1));
  BOOST_TEST(a.lo < 2.0);  // Var(Laplace(0, 1)) = 2
  BOOST_TEST(a.hi > 2.0);
}

BOOST_AUTO_TEST_CASE(errors) {
  st::Moments m;
  BOOST_CHECK_THROW(m.mean(), embedlab::Error);
  m.add(1.0);
  BOOST_CHECK_THROW(m.variance(), embedlab::Error);
  BOOST_CHECK_THROW(m.add(std::nan("")), embedlab::Error);
  m.add(2.0);
  BOOST_CHECK_THROW(st::variance_ci(m, 0.95), embedlab::Error);  // asymptotic needs n >= 4
  BOOST_CHECK_THROW(st::variance_ci(m, 1.5, st::VarianceCi::normal_chi2), embedlab::Error);
  try {
    st::Moments().add(INFINITY);
  } catch (const embedlab::Error& e) {
    BOOST_TEST(e.exit_code() == 65);
  }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(stats_histogram)

BOOST_AUTO_TEST_CASE(bins_edges_and_flows) {
  st::Histogram h(0.0, 1.0, 4);
  h.add(arma::vec{-0.1, 0.0, 0.24, 0.25, 0.5, 0.99, 1.0, 1.5});
  BOOST_TEST(h.counts() == (std::vector<std::uint64_t>{2, 1, 1, 2}), tt::per_element());
  BOOST_TEST(h.underflow() == 1u);
  BOOST_TEST(h.overflow() == 1u);
  BOOST_TEST(h.total() == 8u);
  BOOST_TEST(h.bin_lo(2) == 0.5);
  BOOST_CHECK_THROW(h.add(std::nan("")), embedlab::Error);
  BOOST_CHECK_THROW(st::Histogram(1.0, 1.0, 3), embedlab::Error);
  BOOST_CHECK_THROW(st::Histogram(0.0, 1.0, 0), embedlab::Error);
  BOOST_CHECK_THROW(st::Histogram(0.0, 1.0, 4).quantile(0.5), embedlab::Error);
  BOOST_CHECK_THROW(h.merge(st::Histogram(0.0, 1.0, 5)), embedlab::Error);
}

BOOST_AUTO_TEST_CASE(quantile_interpolates_inside_bins) {
  // 10 values in [0,1), 30 in [1,2), 0 in [2,3), 10 in [3,4]: the median (25th of 50) is 15/30
  // of the way through bin 1; q = 0.9 (45th) is half-way through bin 3.
  st::Histogram h(0.0, 4.0, 4);
  for (int i = 0; i < 10; ++i) h.add(0.5);
  for (int i = 0; i < 30; ++i) h.add(1.5);
  for (int i = 0; i < 10; ++i) h.add(3.5);
  BOOST_TEST(h.quantile(0.5) == 1.5, tt::tolerance(Tol<double>::eps));
  BOOST_TEST(h.quantile(0.9) == 3.5, tt::tolerance(Tol<double>::eps));
  BOOST_TEST(h.quantile(0.8) == 2.0, tt::tolerance(Tol<double>::eps));  // end of bin 1, empty bin 2 skipped
  BOOST_TEST(h.quantile(0.0) == 0.0);
  BOOST_TEST(h.quantile(1.0) == 4.0);
  st::Histogram g(0.0, 4.0, 4);
  g.add(-1.0);
  g.add(9.0);
  BOOST_TEST(g.quantile(0.25) == 0.0);
  BOOST_TEST(g.quantile(0.75) == 4.0);
}

BOOST_AUTO_TEST_CASE(quantiles_of_uniform_sample_within_a_bin_of_exact) {
  Rng rng(embedlab::test::kSeed);
  arma::vec x(50000);
  for (auto& v : x) v = 2.0 * rng.uniform() - 1.0;
  st::Histogram a(-1.0, 1.0, 200), b(-1.0, 1.0, 200);
  a.add(arma::vec(x.head(20000)));
  b.add(arma::vec(x.tail(30000)));
  a.merge(b);
  BOOST_TEST(a.total() == 50000u);
  for (const double q : {0.01, 0.1, 0.5, 0.9, 0.99})
    BOOST_TEST(std::abs(a.quantile(q) - st::quantile(x, q)) <= a.bin_width());
}

BOOST_AUTO_TEST_SUITE_END()
