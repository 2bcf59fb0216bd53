#include <boost/test/unit_test.hpp>

#include "core/error.hpp"
#include "core/rng.hpp"
#include "linalg/anisotropy.hpp"
#include "linalg/cosine.hpp"
#include "linalg/spectra.hpp"
#include "naive.hpp"
#include "testing.hpp"

namespace tt = boost::test_tools;
using embedlab::test::Tol;
using namespace embedlab::linalg;

BOOST_AUTO_TEST_SUITE(linalg_spectra)

BOOST_AUTO_TEST_CASE(eigen_hand_computed) {
  const arma::mat S = {{2, 1}, {1, 2}};
  const EigenDecomposition e = eigen_symmetric(S);
  BOOST_TEST(e.values[0] == 3.0, tt::tolerance(Tol<double>::eps));
  BOOST_TEST(e.values[1] == 1.0, tt::tolerance(Tol<double>::eps));
  BOOST_TEST(e.shares[0] == 0.75, tt::tolerance(Tol<double>::eps));
  BOOST_TEST(e.shares[1] == 0.25, tt::tolerance(Tol<double>::eps));
  BOOST_TEST(arma::norm(S * e.vectors - e.vectors * arma::diagmat(e.values), "inf") < Tol<double>::eps);
  BOOST_CHECK_THROW(eigen_symmetric(arma::mat{{1, 2}, {0, 1}}), embedlab::Error);
  BOOST_CHECK_THROW(eigen_symmetric(arma::mat(2, 3, arma::fill::zeros)), embedlab::Error);
}

BOOST_AUTO_TEST_CASE(eigen_of_local_cosine_matrix) {
  const arma::fmat E = embedlab::test::random_unit(30, 12, embedlab::test::kSeed);
  const arma::mat S = local_cosine(E, arma::regspace<arma::uvec>(0, 11));
  const EigenDecomposition e = eigen_symmetric(S);
  BOOST_TEST(arma::accu(e.shares) == 1.0, tt::tolerance(Tol<double>::sum));
  BOOST_TEST(arma::accu(e.values) == 12.0, tt::tolerance(Tol<double>::sum));
  for (arma::uword i = 1; i < 12; ++i) BOOST_TEST(e.values[i] <= e.values[i - 1]);
  for (arma::uword i = 0; i < 12; ++i)
    BOOST_TEST(arma::norm(S * e.vectors.col(i) - e.values[i] * e.vectors.col(i)) < Tol<double>::loose);
}

BOOST_AUTO_TEST_CASE(pca_matches_svd) {
  arma::fmat E = embedlab::test::random_unit(10, 500, embedlab::test::kSeed + 1);
  E.row(3) *= 5.0f;  // a dominant direction
  E.each_col() += arma::fvec(10, arma::fill::value(0.3f));
  const arma::mat X = arma::conv_to<arma::mat>::from(E);
  for (bool centered : {true, false}) {
    arma::mat Y = X;
    if (centered) Y.each_col() -= arma::mean(X, 1);
    arma::vec s;
    arma::mat Uu, Vv;
    arma::svd_econ(Uu, s, Vv, Y);
    const Pca p = pca(E, centered);
    BOOST_TEST(arma::approx_equal(p.singular_values, s, "reldiff", Tol<double>::loose));
    BOOST_TEST(arma::accu(p.shares) == 1.0, tt::tolerance(Tol<double>::sum));
    for (arma::uword c = 0; c < 3; ++c)
      BOOST_TEST(std::abs(arma::dot(p.components.col(c), Uu.col(c))) == 1.0, tt::tolerance(Tol<double>::loose));
    BOOST_TEST(p.variance[0] == s[0] * s[0] / (centered ? 499.0 : 500.0), tt::tolerance(Tol<double>::loose));
  }
  BOOST_CHECK_THROW(pca(E.cols(0, 0)), embedlab::Error);
}

BOOST_AUTO_TEST_CASE(all_but_the_top_removes_mean_and_top_directions) {
  arma::fmat E = embedlab::test::random_unit(12, 800, embedlab::test::kSeed + 2);
  E.row(0) *= 6.0f;
  E.row(5) *= 3.0f;
  E.each_col() += arma::fvec(12, arma::fill::value(1.0f));
  const Pca p = pca(E, true);
  const arma::fmat A = all_but_the_top(E, 2);
  BOOST_TEST(A.n_rows == 12u);
  BOOST_TEST(A.n_cols == 800u);
  const arma::mat Ad = arma::conv_to<arma::mat>::from(A);
  BOOST_TEST(arma::abs(arma::mean(Ad, 1)).max() < Tol<float>::loose);
  // no variance left along the removed directions
  const arma::mat proj = p.components.head_cols(2).t() * Ad;  // (2, n)
  BOOST_TEST(arma::abs(proj).max() < Tol<float>::loose);
  // D = 0 only centres
  const arma::fmat C0 = all_but_the_top(E, 0);
  arma::fmat centred = E;
  centred.each_col() -= arma::conv_to<arma::fvec>::from(p.mean);
  BOOST_TEST(arma::approx_equal(C0, centred, "absdiff", static_cast<float>(Tol<float>::eps)));
  BOOST_CHECK_THROW(all_but_the_top(E, 13), embedlab::Error);
  // with the PCA computed once: the same matrix for every D; a PCA that does not fit is refused
  for (const arma::uword D : {0u, 1u, 2u, 5u})
    BOOST_TEST(arma::approx_equal(all_but_the_top(E, p, D), all_but_the_top(E, D), "absdiff", 0.0f));
  BOOST_CHECK_THROW(all_but_the_top(E, pca(E, false), 2), embedlab::Error);
  BOOST_CHECK_THROW(all_but_the_top(E.rows(0, 10), p, 2), embedlab::Error);
}

BOOST_AUTO_TEST_CASE(anisotropy_extremes) {
  // all tokens the same direction: mean cosine 1, |m̂| = 1, one singular value holds everything
  arma::fmat same(8, 50, arma::fill::zeros);
  same.row(2).ones();
  const Anisotropy a = anisotropy(same);
  BOOST_TEST(a.mean_cosine == 1.0, tt::tolerance(Tol<double>::eps));
  BOOST_TEST(a.mean_unit_norm == 1.0, tt::tolerance(Tol<double>::eps));
  BOOST_TEST(a.top_sv_share == 1.0, tt::tolerance(Tol<double>::eps));
  // ±e_i pairs: mean of unit vectors is 0, shares are 1/d
  arma::fmat sym(4, 8, arma::fill::zeros);
  for (arma::uword i = 0; i < 4; ++i) sym(i, i) = 1.0f, sym(i, i + 4) = -1.0f;
  const Anisotropy b = anisotropy(sym);
  BOOST_TEST(b.mean_unit_norm == 0.0, tt::tolerance(Tol<double>::eps));
  BOOST_TEST(b.top_sv_share == 0.25, tt::tolerance(Tol<double>::eps));
  BOOST_TEST(b.mean_cosine == -4.0 / 28.0, tt::tolerance(Tol<double>::eps));
}

BOOST_AUTO_TEST_CASE(iso_score_matches_reference) {
  // A fixed 4-D cloud of 40 points; 0.446424939597671 is the output of the authors' IsoScore.py
  // (sklearn PCA + np.cov) on the same float32 values.
  arma::fmat A(4, 40);
  for (arma::uword j = 0; j < 40; ++j) {
    const double x = static_cast<double>(j);
    A(0, j) = static_cast<float>(std::sin(x * 0.7) * 3.0);
    A(1, j) = static_cast<float>(std::cos(x * 1.3) * 1.5 + 0.2 * std::sin(x * 0.7));
    A(2, j) = static_cast<float>(std::sin(x * 2.1) * 0.5);
    A(3, j) = static_cast<float>(static_cast<double>(j % 5) - 2.0);
  }
  BOOST_TEST(iso_score(A) == 0.446424939597671, tt::tolerance(Tol<float>::loose));
  // The README's examples analytically: a line in R³ scores 0, a disk (2 equally used dimensions)
  // 0.5, a ball 1.
  const arma::fmat line = {{1, -1, 2, -2}, {0, 0, 0, 0}, {0, 0, 0, 0}};
  BOOST_TEST(iso_score(line) == 0.0, tt::tolerance(Tol<double>::loose));
  const arma::fmat disk = {{1, -1, 0, 0}, {0, 0, 1, -1}, {0, 0, 0, 0}};
  BOOST_TEST(iso_score(disk) == 0.5, tt::tolerance(Tol<double>::loose));
  const arma::fmat ball = {{1, -1, 0, 0, 0, 0}, {0, 0, 1, -1, 0, 0}, {0, 0, 0, 0, 1, -1}};
  BOOST_TEST(iso_score(ball) == 1.0, tt::tolerance(Tol<double>::loose));
  BOOST_CHECK_THROW(iso_score(line.cols(0, 1)), embedlab::Error);
}

// The closed form ((Σλ)²/Σλ² − 1)/(d − 1) against the paper's steps done literally on the
// eigenvalues of the covariance (PCA variances, normalised to norm √d, the defect, k, ι), on an
// anisotropic cloud spanning three blocks of columns; and the float32 scatter path within 1e-6.
BOOST_AUTO_TEST_CASE(iso_score_closed_form_equals_the_steps) {
  embedlab::Rng rng(embedlab::test::kSeed + 3);
  const arma::uword d = 48, n = 5000;
  arma::mat X(d, n);
  for (arma::uword j = 0; j < n; ++j)
    for (arma::uword i = 0; i < d; ++i) X(i, j) = rng.normal() * (1.0 + 3.0 / (1.0 + static_cast<double>(i))) + 0.3 * i;
  const arma::fmat E = arma::conv_to<arma::fmat>::from(X);
  const arma::mat Ed = arma::conv_to<arma::mat>::from(E);
  const arma::vec lambda = arma::eig_sym(arma::cov(Ed.t()));
  const double dd = static_cast<double>(d), root = std::sqrt(dd);
  const arma::vec v = lambda * (root / arma::norm(lambda));
  const double defect = arma::norm(v - 1.0) / std::sqrt(2.0 * (dd - root));
  const double k = std::pow(dd - defect * defect * (dd - root), 2) / (dd * dd);
  const double want = (dd * k - 1.0) / (dd - 1.0);
  BOOST_TEST(want > 0.1);
  BOOST_TEST(want < 0.95);
  BOOST_TEST(iso_score(E) == want, tt::tolerance(Tol<double>::loose));
  BOOST_TEST(std::abs(iso_score(E, 2, true) - want) <= 1e-6);
  BOOST_TEST(iso_score(E, 1, true) == iso_score(E, 2, true));
}

BOOST_AUTO_TEST_SUITE_END()
