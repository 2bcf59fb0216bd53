#include <boost/test/unit_test.hpp>

#include "core/error.hpp"
#include "linalg/normalize.hpp"
#include "testing.hpp"

#include <cmath>
#include <limits>

namespace tt = boost::test_tools;
using embedlab::test::Tol;
using namespace embedlab::linalg;

BOOST_AUTO_TEST_SUITE(linalg_normalize)

BOOST_AUTO_TEST_CASE(norms_and_unit_columns_hand_computed) {
  // columns: (3, 4) -> 5, (0, -2) -> 2, (1e-20, 0) (tiny but nonzero)
  const arma::fmat E = {{3.0f, 0.0f, 1e-20f}, {4.0f, -2.0f, 0.0f}};
  const Normalized r = normalize_rows(E);
  BOOST_TEST(r.norms[0] == 5.0);
  BOOST_TEST(r.norms[1] == 2.0);
  BOOST_TEST(r.norms[2] == static_cast<double>(1e-20f));
  BOOST_TEST(r.kept.n_elem == 3u);
  BOOST_TEST(r.excluded.empty());
  BOOST_TEST(r.unit(0, 0) == 0.6f);
  BOOST_TEST(r.unit(1, 0) == 0.8f);
  BOOST_TEST(r.unit(1, 1) == -1.0f);
  BOOST_TEST(r.unit(0, 2) == 1.0f);
}

BOOST_AUTO_TEST_CASE(unit_columns_have_norm_one_in_double) {
  arma::arma_rng::set_seed(embedlab::test::kSeed);
  const arma::fmat E = arma::randn<arma::fmat>(768, 50) * 3.0f;
  const Normalized r = normalize_rows(E);
  for (arma::uword j = 0; j < r.unit.n_cols; ++j) {
    double s = 0;
    for (arma::uword i = 0; i < r.unit.n_rows; ++i) s += static_cast<double>(r.unit(i, j)) * r.unit(i, j);
    BOOST_TEST(s == 1.0, tt::tolerance(Tol<float>::eps));
  }
}

arma::fmat with_bad_rows() {
  arma::fmat E(4, 6, arma::fill::ones);
  E.col(1).zeros();
  E(2, 3) = std::numeric_limits<float>::quiet_NaN();
  E(0, 4) = std::numeric_limits<float>::infinity();
  return E;
}

BOOST_AUTO_TEST_CASE(fail_policy_names_rows_and_counts) {
  NormalizeOptions o;
  o.names = {"a", "b", "c", "d", "e", "f"};
  o.source = "wte.npy";
  try {
    normalize_rows(with_bad_rows(), o);
    BOOST_FAIL("expected an error");
  } catch (const embedlab::Error& e) {
    const std::string m = e.what();
    BOOST_TEST(e.exit_code() == 65);
    BOOST_TEST(m.find("wte.npy: rows: 3 bad rows (1 zero, 2 non-finite)") == 0, m);
    BOOST_TEST(m.find("row 1 'b' zero") != std::string::npos, m);
    BOOST_TEST(m.find("row 3 'd' non-finite") != std::string::npos, m);
    BOOST_TEST(m.find("row 4 'e' non-finite") != std::string::npos, m);
  }
}

BOOST_AUTO_TEST_CASE(fail_policy_without_names_and_many_rows) {
  arma::fmat E(3, 20, arma::fill::zeros);
  E.col(0).ones();
  try {
    normalize_rows(E);
    BOOST_FAIL("expected an error");
  } catch (const embedlab::Error& e) {
    const std::string m = e.what();
    BOOST_TEST(m.find("19 bad rows (19 zero, 0 non-finite) of 20: row 1 zero") != std::string::npos, m);
    BOOST_TEST(m.find("...") != std::string::npos, m);
  }
}

BOOST_AUTO_TEST_CASE(exclude_policy_lists_rows) {
  NormalizeOptions o;
  o.policy = BadRowPolicy::exclude;
  const arma::fmat E = with_bad_rows();
  const Normalized r = normalize_rows(E, o);
  BOOST_TEST(r.kept.n_elem == 3u);
  BOOST_TEST(r.kept[0] == 0u);
  BOOST_TEST(r.kept[1] == 2u);
  BOOST_TEST(r.kept[2] == 5u);
  BOOST_TEST(r.unit.n_cols == 3u);
  BOOST_TEST(r.unit(0, 1) == 0.5f);
  BOOST_REQUIRE(r.excluded.size() == 3u);
  BOOST_TEST(r.excluded[0].index == 1u);
  BOOST_TEST(r.excluded[0].reason == "zero");
  BOOST_TEST(r.excluded[1].index == 3u);
  BOOST_TEST(r.excluded[1].reason == "non-finite");
  BOOST_TEST(r.excluded[2].index == 4u);
  BOOST_TEST(std::isnan(r.norms[3]));
  BOOST_TEST(r.norms[1] == 0.0);
  BOOST_TEST(r.excluded.size() == 3u);
}

BOOST_AUTO_TEST_SUITE_END()
