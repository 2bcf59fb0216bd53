// The tiled offset profile and image of S = UᵀU against the brute force on the formed matrix
// (local_cosine → offset_profile / block_average), and bit-identical for any worker count.
#include <boost/test/unit_test.hpp>

#include "linalg/allpairs.hpp"
#include "linalg/cosine.hpp"
#include "linalg/probes.hpp"
#include "naive.hpp"
#include "testing.hpp"

using namespace embedlab;
using embedlab::test::Tol;
namespace tt = boost::test_tools;

BOOST_AUTO_TEST_SUITE(offset_cosine)

BOOST_AUTO_TEST_CASE(equals_the_formed_matrix) {
  // 301 positions with 64-column tiles: 5 tile rows, a partial last tile; blocks of 301/40 → 8.
  const arma::fmat U = embedlab::test::random_unit(12, 301, embedlab::test::kSeed + 11);
  linalg::OffsetCosineOptions o;
  o.tile = 64;
  o.image_side = 40;
  o.workers = 1;
  const auto got = linalg::offset_cosine_stats(U, o);
  const arma::mat S = linalg::local_cosine(U, arma::regspace<arma::uvec>(0, U.n_cols - 1));
  const auto want = embedlab::test::offset_profile(S);
  const arma::mat img = embedlab::test::block_average(S, 40);
  BOOST_REQUIRE_EQUAL(got.mean.n_elem, 301u);
  for (arma::uword k = 0; k < 301; ++k) {
    BOOST_TEST(got.mean[k] == want.mean[k], tt::tolerance(Tol<double>::sum));
    BOOST_TEST(got.sd[k] + 1 == want.sd[k] + 1, tt::tolerance(Tol<double>::sum));  // sd(n−1) = 0
    BOOST_TEST(got.count[k] == want.count[k]);
  }
  BOOST_REQUIRE_EQUAL(got.image.n_rows, img.n_rows);
  BOOST_REQUIRE_EQUAL(got.image.n_cols, img.n_cols);
  BOOST_TEST(got.block == 8u);
  BOOST_TEST(arma::abs(got.image - img).max() < Tol<double>::sum);
}

BOOST_AUTO_TEST_CASE(same_bits_for_any_worker_count) {
  const arma::fmat U = embedlab::test::random_unit(20, 520, embedlab::test::kSeed + 12);
  linalg::OffsetCosineOptions o;
  o.tile = 48;
  o.image_side = 64;
  o.workers = 1;
  const auto one = linalg::offset_cosine_stats(U, o);
  o.workers = 3;
  const auto three = linalg::offset_cosine_stats(U, o);
  BOOST_TEST(arma::approx_equal(one.mean, three.mean, "absdiff", 0.0));
  BOOST_TEST(arma::approx_equal(one.sd, three.sd, "absdiff", 0.0));
  BOOST_TEST(arma::approx_equal(one.image, three.image, "absdiff", 0.0));
}

BOOST_AUTO_TEST_CASE(image_smaller_than_side_is_the_matrix_itself) {
  const arma::fmat U = embedlab::test::random_unit(5, 30, embedlab::test::kSeed + 13);
  linalg::OffsetCosineOptions o;
  o.tile = 16;
  o.image_side = 256;
  const auto got = linalg::offset_cosine_stats(U, o);
  const arma::mat S = linalg::local_cosine(U, arma::regspace<arma::uvec>(0, 29));
  BOOST_TEST(got.block == 1u);
  BOOST_TEST(arma::abs(got.image - S).max() < Tol<double>::eps * 10);
}

BOOST_AUTO_TEST_SUITE_END()
