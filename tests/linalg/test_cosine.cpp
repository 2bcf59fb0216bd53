#include <boost/test/unit_test.hpp>

#include "core/error.hpp"
#include "linalg/cosine.hpp"
#include "naive.hpp"
#include "testing.hpp"

#include <cmath>

namespace tt = boost::test_tools;
using embedlab::test::Tol;
using namespace embedlab::linalg;

BOOST_AUTO_TEST_SUITE(linalg_cosine)

BOOST_AUTO_TEST_CASE(hand_computed_local_matrix) {
  // tokens: (1,0), (1,1)·5, (0,2), (-3,0)
  const arma::fmat E = {{1.0f, 5.0f, 0.0f, -3.0f}, {0.0f, 5.0f, 2.0f, 0.0f}};
  const arma::mat S = local_cosine(E, {0, 1, 2, 3});
  const double h = std::sqrt(0.5);
  const arma::mat expected = {{1, h, 0, -1}, {h, 1, h, -h}, {0, h, 1, 0}, {-1, -h, 0, 1}};
  BOOST_TEST(arma::approx_equal(S, expected, "absdiff", Tol<double>::eps));
  BOOST_TEST(S.is_symmetric());
  for (arma::uword i = 0; i < 4; ++i) BOOST_TEST(S(i, i) == 1.0);
}

BOOST_AUTO_TEST_CASE(local_matrix_matches_naive_and_is_clamped) {
  arma::fmat U = embedlab::test::random_unit(64, 40, embedlab::test::kSeed);
  U.col(7) = U.col(3);  // exact duplicate: cosine must be clamped to <= 1
  const arma::uvec ids = arma::regspace<arma::uvec>(0, 39);
  const arma::mat S = local_cosine(U * 7.0f, ids);
  const arma::mat ref = embedlab::test::naive_dots(U);
  BOOST_TEST(arma::approx_equal(S, arma::clamp(ref, -1.0, 1.0), "absdiff", Tol<float>::eps));
  BOOST_TEST(S.max() <= 1.0);
  BOOST_TEST(S.min() >= -1.0);
  BOOST_TEST(S(3, 7) == 1.0, tt::tolerance(Tol<double>::eps));
}

BOOST_AUTO_TEST_CASE(distance_identity_against_the_raw_vectors) {
  // Raw columns of different norms; the unit vectors normalised by arma in float.
  arma::mat raw = arma::conv_to<arma::mat>::from(embedlab::test::random_unit(768, 30, embedlab::test::kSeed + 1));
  for (arma::uword j = 0; j < raw.n_cols; ++j) raw.col(j) *= 0.5 + 0.3 * static_cast<double>(j);
  const arma::fmat unit = arma::normalise(arma::conv_to<arma::fmat>::from(raw));
  BOOST_TEST(unit_distance_identity_error(unit, raw) < 10 * Tol<float>::eps);  // float rounding of x̂
  // A unit vector that is not the raw one's direction breaks the identity (it would not if both
  // sides came from the same unit vectors).
  arma::fmat wrong = unit;
  wrong.col(4) = unit.col(5);
  BOOST_TEST(unit_distance_identity_error(wrong, raw) > 0.1);
  BOOST_CHECK_THROW(unit_distance_identity_error(unit, raw.cols(0, 9)), embedlab::Error);
  raw.col(3).zeros();
  BOOST_CHECK_THROW(unit_distance_identity_error(unit, raw), embedlab::Error);
}

BOOST_AUTO_TEST_CASE(bad_arguments) {
  arma::fmat E(3, 4, arma::fill::ones);
  E.col(2).zeros();
  BOOST_CHECK_THROW(local_cosine(E, {0, 2}), embedlab::Error);
  BOOST_CHECK_THROW(local_cosine(E, {0, 9}), embedlab::Error);
  try {
    local_cosine(E, {2});
    BOOST_FAIL("expected an error");
  } catch (const embedlab::Error& e) {
    BOOST_TEST(std::string(e.what()).find("token 2") != std::string::npos);
    BOOST_TEST(e.exit_code() == 65);
  }
}

BOOST_AUTO_TEST_SUITE_END()
