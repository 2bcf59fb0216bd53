// The random baseline's exact law: (1 + cos θ)/2 ~ Beta((d−1)/2, (d−1)/2) for Gaussian vectors,
// against scipy and against sampled cosines (binomial bounds that hold whatever the seed).
#include <boost/test/unit_test.hpp>
#include "testing.hpp"

#include "core/error.hpp"
#include "core/rng.hpp"
#include "stats/random_cosine.hpp"

#include <cmath>

namespace tt = boost::test_tools;
using embedlab::Rng;
using embedlab::test::Tol;
namespace st = embedlab::stats;

BOOST_AUTO_TEST_SUITE(stats_random_cosine)

BOOST_AUTO_TEST_CASE(beta_quantiles_match_scipy) {
  // /usr/bin/python3 -c 'from scipy.stats import beta
  // for d in (2,3,50,64,768): a=(d-1)/2; print(d, [repr(2*beta.ppf(q,a,a)-1) for q in (0.01,0.25,0.5,0.99)])'
  // (scipy 1.10). d = 2: cos of a uniform angle (q25 = −1/√2); d = 3: cos θ uniform on [−1, 1].
  struct Case {
    std::uint64_t d;
    double q01, q25, q50, q99;
  };
  const Case cases[] = {
      {2, -0.9995065603657316, -0.7071067811865475, 0.0, 0.9995065603657316},
      {3, -0.98, -0.5, 0.0, 0.98},
      {50, -0.3249156493898546, -0.09662146604911714, 0.0, 0.3249156493898546},
      {64, -0.2879933199671857, -0.08516037153503575, 0.0, 0.2879933199671858},
      {768, -0.0838788202400742, -0.024358737969298105, 0.0, 0.0838788202400742},
  };
  for (const auto& c : cases) {
    BOOST_TEST(st::gaussian_cosine_quantile(c.d, 0.01) == c.q01, tt::tolerance(Tol<double>::loose));
    BOOST_TEST(st::gaussian_cosine_quantile(c.d, 0.25) == c.q25, tt::tolerance(Tol<double>::loose));
    BOOST_TEST(std::abs(st::gaussian_cosine_quantile(c.d, 0.5) - c.q50) <= Tol<double>::sum);
    BOOST_TEST(st::gaussian_cosine_quantile(c.d, 0.99) == c.q99, tt::tolerance(Tol<double>::loose));
  }
  BOOST_TEST(st::gaussian_cosine_quantile(10, 0.0) == -1.0);
  BOOST_TEST(st::gaussian_cosine_quantile(10, 1.0) == 1.0);
  BOOST_CHECK_THROW(st::gaussian_cosine_quantile(1, 0.5), embedlab::Error);
  BOOST_CHECK_THROW(st::gaussian_cosine_quantile(10, 1.5), embedlab::Error);
  BOOST_CHECK_THROW(st::gaussian_cosine_quantile(10, std::nan("")), embedlab::Error);
}

BOOST_AUTO_TEST_CASE(sampled_cosines_fall_below_the_quantiles_at_their_levels) {
  // 40,000 Gaussian pairs per d: the share below the level-l quantile is binomial(n, l); the bound
  // is 5 binomial sd (false-failure probability ~1e-6 per check, whatever the seed). The normal
  // approximation ±2.326/√d would miss the d = 3 and d = 8 tails by far more.
  const std::uint64_t n = 40000;
  for (const std::uint64_t d : {3u, 8u, 50u}) {
    const arma::vec c = st::random_pair_cosines(st::RandomDistribution::gaussian, d, n, Rng(embedlab::test::kSeed + d));
    for (const double l : {0.01, 0.1, 0.5, 0.9, 0.99}) {
      const double q = st::gaussian_cosine_quantile(d, l);
      const double below = static_cast<double>(arma::accu(c < q)) / static_cast<double>(n);
      const double sd = std::sqrt(l * (1 - l) / static_cast<double>(n));
      BOOST_TEST(std::abs(below - l) <= 5 * sd, "d = " << d << ", level " << l << ": share below " << below);
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
