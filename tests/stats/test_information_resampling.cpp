#include <boost/test/unit_test.hpp>
#include "stats_testing.hpp"
#include "testing.hpp"

#include "core/error.hpp"
#include "core/rng.hpp"
#include "stats/information.hpp"
#include "stats/resampling.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <numeric>

namespace tt = boost::test_tools;
using embedlab::Rng;
using embedlab::test::json_vec;
using embedlab::test::Tol;
namespace st = embedlab::stats;

BOOST_AUTO_TEST_SUITE(stats_information)

BOOST_AUTO_TEST_CASE(entropy_and_kl_match_scipy) {
  const auto ref = embedlab::test::stats_reference()["information"];
  for (const auto& c : ref["cases"]) {
    BOOST_TEST(st::entropy(json_vec(c["p"])) == c["entropy_p"].get<double>(), tt::tolerance(Tol<double>::sum));
    // scipy.stats.entropy(p, q) normalises p and q; softmax(log p) = p / Σp does the same (log 0 = -inf).
    BOOST_TEST(
        st::kl_divergence_logits(arma::log(json_vec(c["p"])), arma::log(json_vec(c["q"]))) == c["kl_pq"].get<double>(),
        tt::tolerance(Tol<double>::sum));
    BOOST_TEST(st::entropy_logits(arma::log(json_vec(c["p"]))) == c["entropy_p"].get<double>(),
               tt::tolerance(Tol<double>::sum));
  }
  const arma::vec sm = st::softmax(json_vec(ref["logits"]));
  BOOST_TEST(sm == json_vec(ref["softmax"]), tt::tolerance(Tol<double>::eps) << tt::per_element());
}

BOOST_AUTO_TEST_CASE(hand_computed_and_edge_cases) {
  BOOST_TEST(st::entropy(arma::vec{0.25, 0.25, 0.25, 0.25}) == std::log(4.0), tt::tolerance(Tol<double>::eps));
  BOOST_TEST(st::entropy(arma::vec{1.0, 0.0}) == 0.0);  // 0 log 0 = 0
  const double inf = std::numeric_limits<double>::infinity();
  BOOST_TEST(st::kl_divergence_logits(arma::vec{3.0, 3.0}, arma::vec{-1.0, -1.0}) == 0.0);
  // p = (0, 1), q = (1/2, 1/2): KL = log 2.
  BOOST_TEST(st::kl_divergence_logits(arma::vec{-inf, 0.0}, arma::vec{0.0, 0.0}) == std::log(2.0),
             tt::tolerance(Tol<double>::eps));
  BOOST_TEST(std::isinf(st::kl_divergence_logits(arma::vec{0.0, 0.0}, arma::vec{0.0, -inf})));  // q_2 = 0 exactly
  BOOST_TEST(st::entropy_logits(arma::vec{0.0, 0.0, 0.0, 0.0}) == std::log(4.0), tt::tolerance(Tol<double>::eps));
  BOOST_TEST(st::entropy_logits(arma::vec{0.0, -inf}) == 0.0);
  BOOST_CHECK_THROW(st::entropy(arma::vec{0.5, -0.1}), embedlab::Error);
  BOOST_CHECK_THROW(st::entropy(arma::vec{0.0, 0.0}), embedlab::Error);
  BOOST_CHECK_THROW(st::kl_divergence_logits(arma::vec{1.0}, arma::vec{0.5, 0.5}), embedlab::Error);
  BOOST_CHECK_THROW(st::kl_divergence_logits(arma::vec{1.0, inf}, arma::vec{0.5, 0.5}), embedlab::Error);

  // Huge logits do not overflow; -inf logits get probability 0.
  const arma::vec p = st::softmax(arma::vec{1000.0, 1000.0, -inf});
  BOOST_TEST(p == (arma::vec{0.5, 0.5, 0.0}), tt::tolerance(Tol<double>::eps) << tt::per_element());
  BOOST_TEST(st::logsumexp(arma::vec{1000.0, 1000.0}) == 1000.0 + std::log(2.0), tt::tolerance(Tol<double>::eps));
  const arma::vec pf = st::softmax(arma::fvec{1.0f, 2.0f, 3.0f});
  BOOST_TEST(arma::accu(pf) == 1.0, tt::tolerance(Tol<double>::eps));
  BOOST_CHECK_THROW(st::softmax(arma::vec{-inf, -inf}), embedlab::Error);
  BOOST_CHECK_THROW(st::softmax(arma::vec{1.0, std::nan("")}), embedlab::Error);
}

BOOST_AUTO_TEST_CASE(kl_stays_finite_when_a_probability_underflows) {
  // p = (1/2, 1/2), q = softmax(0, -L): q_2 = e^-L / (1 + e^-L) underflows to 0 in double for
  // L = 800 (e^-800 < 4.9e-324) and in float for L = 120 (e^-120 < 1.4e-45), but the true
  // KL = ½ log(½ / q_1) + ½ log(½ / q_2) = -log 2 + ½ L + log(1 + e^-L) ≈ L/2 − log 2 is finite.
  for (const double L : {120.0, 800.0}) {
    if (L == 120.0) BOOST_TEST(std::exp(static_cast<float>(-L)) == 0.0f);
    if (L == 800.0) BOOST_TEST(std::exp(-L) == 0.0);
    const double expect = L / 2 - std::log(2.0) + std::log1p(std::exp(-L));
    const double kl = st::kl_divergence_logits(arma::vec{0.0, 0.0}, arma::vec{0.0, -L});
    BOOST_TEST(std::isfinite(kl));
    BOOST_TEST(kl == expect, tt::tolerance(Tol<double>::eps));
    // The other way round: p_2 underflows, KL(q‖p) = q_1 log(q_1 / ½) + q_2 log(q_2 / ½) → log 2.
    BOOST_TEST(st::kl_divergence_logits(arma::vec{0.0, -L}, arma::vec{0.0, 0.0}) == std::log(2.0),
               tt::tolerance(Tol<double>::eps));
  }
  // Float logits that make softmax's float probability exactly 0 (the pipeline's own logits are float).
  const arma::fvec zf = {0.0f, -200.0f};
  BOOST_TEST(arma::conv_to<arma::fvec>::from(st::softmax(zf))(1) == 0.0f);
  BOOST_TEST(st::kl_divergence_logits(arma::vec{0.0, 0.0}, arma::conv_to<arma::vec>::from(zf)) == 100.0 - std::log(2.0),
             tt::tolerance(Tol<double>::eps));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(stats_resampling)

BOOST_AUTO_TEST_CASE(permutation_and_bootstrap_are_valid_and_seeded) {
  Rng a(embedlab::test::kSeed), b(embedlab::test::kSeed);
  const auto p = st::permutation(100, a);
  BOOST_TEST(p == st::permutation(100, b), tt::per_element());
  auto sorted = p;
  std::sort(sorted.begin(), sorted.end());
  for (std::size_t i = 0; i < sorted.size(); ++i) BOOST_TEST(sorted[i] == i);
  const auto s = st::bootstrap_sample(100, a);
  BOOST_TEST(s == st::bootstrap_sample(100, b), tt::per_element());
  BOOST_TEST(std::all_of(s.begin(), s.end(), [](std::size_t i) { return i < 100; }));
  // With replacement: 100 draws from 100 almost surely repeat (P(no repeat) = 100!/100^100).
  auto u = s;
  std::sort(u.begin(), u.end());
  const auto distinct = std::unique(u.begin(), u.end()) - u.begin();
  BOOST_TEST(distinct < 100);
}

BOOST_AUTO_TEST_CASE(p_value_counts_observed) {
  BOOST_TEST(st::permutation_p_value(0.5, {0.1, 0.5, 0.9, 0.2}) == 3.0 / 5.0);
  BOOST_TEST(st::permutation_p_value(2.0, {0.1, 0.5}) == 1.0 / 3.0);
  BOOST_TEST(st::permutation_p_value(2.0, {}) == 1.0);
}

BOOST_AUTO_TEST_CASE(bootstrap_mean_ci_covers_mean) {
  // Bootstrap percentile interval of a mean: close to mean -/+ 1.96 sd / sqrt(n).
  Rng rng(embedlab::test::kSeed);
  arma::vec x(400);
  for (auto& v : x) v = 2.0 + rng.normal();
  auto mean_of = [&](std::span<const std::size_t> idx) {
    double s = 0;
    for (const auto i : idx) s += x[i];
    return s / static_cast<double>(idx.size());
  };
  // Bounds are ≥ 5 sd of the resampling noise wide (the 2.5% point of 2,000 resamples moves by
  // ~3% of the half-width), so no seed is lucky.
  const auto distribution = [&](Rng& r) {
    std::vector<double> out(2000);
    for (auto& v : out) v = mean_of(st::bootstrap_sample(x.n_elem, r));
    return out;
  };
  Rng r1(7), r2(7);
  const auto dist = distribution(r1);
  BOOST_TEST(dist == distribution(r2), tt::per_element());
  const auto ci = st::percentile_interval(dist, 0.95);
  const double half = 1.96 * arma::stddev(x) / std::sqrt(400.0);
  BOOST_TEST(ci.hi - ci.lo == 2.0 * half, tt::tolerance(0.15));
  BOOST_TEST(0.5 * (ci.lo + ci.hi) == arma::mean(x), tt::tolerance(0.02));
  BOOST_TEST(ci.level == 0.95);
  // The mean of a permuted sample is the mean (the mean ignores order).
  for (int k = 0; k < 5; ++k)
    BOOST_TEST(mean_of(st::permutation(x.n_elem, rng)) == arma::mean(x), tt::tolerance(Tol<double>::sum));
  BOOST_CHECK_THROW(st::percentile_interval({std::nan("")}, 0.95), embedlab::Error);
  BOOST_CHECK_THROW(st::percentile_interval({1.0}, 0.0), embedlab::Error);
}

BOOST_AUTO_TEST_SUITE_END()
