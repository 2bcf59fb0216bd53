#include <boost/test/unit_test.hpp>

#include "testing.hpp"

#include "core/error.hpp"
#include "linalg/normalize.hpp"
#include "linalg/probes.hpp"
#include "naive.hpp"

using namespace embedlab;
using embedlab::test::Tol;
namespace tt = boost::test_tools;

BOOST_AUTO_TEST_SUITE(probes)

BOOST_AUTO_TEST_CASE(cosines_to_matches_direct_formula) {
  Rng rng(embedlab::test::kSeed);
  arma::fmat E(7, 20);
  for (auto& x : E) x = static_cast<float>(rng.normal());
  const arma::fmat U = linalg::normalize_rows(E).unit;
  arma::vec v(7);
  for (auto& x : v) x = rng.normal();
  const arma::vec c = linalg::cosines_to(U, 3.0 * v);
  for (arma::uword j = 0; j < U.n_cols; ++j) {
    const arma::vec x = arma::conv_to<arma::vec>::from(U.col(j));
    BOOST_TEST(c[j] == arma::dot(x, v) / (arma::norm(x) * arma::norm(v)), tt::tolerance(Tol<float>::eps));
  }
  BOOST_CHECK_THROW(linalg::cosines_to(U, arma::vec(7, arma::fill::zeros)), Error);
  BOOST_CHECK_THROW(linalg::cosines_to(U, arma::vec(6, arma::fill::ones)), Error);
}

BOOST_AUTO_TEST_CASE(gaussian_like_reproduces_mean_and_covariance) {
  Rng rng(embedlab::test::kSeed);
  // An anisotropic cloud with a mean far from the origin.
  arma::fmat E(4, 3000);
  for (arma::uword j = 0; j < E.n_cols; ++j) {
    const double a = rng.normal(), b = rng.normal();
    E(0, j) = static_cast<float>(5 + 2 * a);
    E(1, j) = static_cast<float>(-1 + a + 0.5 * b);
    E(2, j) = static_cast<float>(0.1 * rng.normal());
    E(3, j) = static_cast<float>(3 + rng.normal());
  }
  const auto p = linalg::pca(E, true, 1);
  Rng r1(7), r2(7);
  const arma::fmat X = linalg::gaussian_like(p, 20000, r1);
  BOOST_TEST(arma::approx_equal(X, linalg::gaussian_like(p, 20000, r2), "absdiff", 0));  // seeded
  const arma::mat Xd = arma::conv_to<arma::mat>::from(X), Ed = arma::conv_to<arma::mat>::from(E);
  const arma::mat Cx = arma::cov(Xd.t()), Ce = arma::cov(Ed.t());
  // Sampling error of 20000 draws: a few per cent of the largest variance.
  BOOST_TEST(arma::abs(arma::mean(Xd, 1) - arma::mean(Ed, 1)).max() < 0.1);
  BOOST_TEST(arma::abs(Cx - Ce).max() < 0.05 * Ce.max());
  Rng r3(7);
  const arma::fmat Z = linalg::gaussian_like(p, 20000, r3, false);
  BOOST_TEST(arma::abs(arma::mean(arma::conv_to<arma::mat>::from(Z), 1)).max() < 0.1);
}

BOOST_AUTO_TEST_CASE(block_average_averages_blocks) {
  arma::mat M = arma::reshape(arma::regspace(0, 24), 5, 5);
  const arma::mat B = embedlab::test::block_average(M, 2);  // blocks 3×3, last ones 2×2 / 3×2 / 2×3
  BOOST_REQUIRE(B.n_rows == 2 && B.n_cols == 2);
  BOOST_TEST(B(0, 0) == arma::mean(arma::vectorise(M.submat(0, 0, 2, 2))), tt::tolerance(Tol<double>::eps));
  BOOST_TEST(B(1, 1) == arma::mean(arma::vectorise(M.submat(3, 3, 4, 4))), tt::tolerance(Tol<double>::eps));
  BOOST_TEST(arma::approx_equal(embedlab::test::block_average(M, 5), M, "absdiff", 0));
}

BOOST_AUTO_TEST_CASE(offset_profile_of_a_toeplitz_matrix) {
  const arma::uword n = 6;
  arma::mat S(n, n);
  for (arma::uword i = 0; i < n; ++i)
    for (arma::uword j = 0; j < n; ++j)
      S(i, j) = 1.0 / (1.0 + std::abs(static_cast<double>(i) - static_cast<double>(j)));
  const auto p = embedlab::test::offset_profile(S);
  for (arma::uword k = 0; k < n; ++k) {
    BOOST_TEST(p.mean[k] == 1.0 / (1.0 + static_cast<double>(k)), tt::tolerance(Tol<double>::eps));
    BOOST_TEST(p.sd[k] == 0.0, tt::tolerance(Tol<double>::eps));
    BOOST_TEST(p.count[k] == n - k);
  }
}

BOOST_AUTO_TEST_SUITE_END()
