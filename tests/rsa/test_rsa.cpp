#include <boost/test/unit_test.hpp>
#include "stats/stats_testing.hpp"
#include "testing.hpp"

#include "core/error.hpp"
#include "core/rng.hpp"
#include "rsa/compare.hpp"
#include "rsa/rdm.hpp"
#include "stats/resampling.hpp"

#include <nlohmann/json.hpp>

#include <cmath>

namespace tt = boost::test_tools;
using embedlab::Rng;
using embedlab::test::Tol;
namespace rsa = embedlab::rsa;

namespace {

constexpr rsa::Comparison kAll[] = {rsa::Comparison::pearson, rsa::Comparison::spearman, rsa::Comparison::kendall_tau_a,
                                    rsa::Comparison::cosine};

arma::mat random_items(std::size_t d, std::size_t m, Rng& rng) {
  arma::mat X(d, m);
  for (auto& v : X) v = rng.normal();
  return X;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(rsa_rdm)

BOOST_AUTO_TEST_CASE(matches_scipy_pdist) {
  const nlohmann::json ref = embedlab::test::stats_reference();
  for (const auto& c : ref["rdm"]) {
    const arma::mat X = embedlab::test::json_rows(c["items_rows"]).t();  // (d, m): column = item
    for (const char* name : {"cosine", "correlation", "euclidean"}) {
      const arma::mat R = rsa::rdm(X, rsa::parse_dissimilarity(name));
      BOOST_TEST(R.is_symmetric());
      BOOST_TEST(arma::all(R.diag() == 0.0));
      const arma::vec want(c[name].get<std::vector<double>>());
      BOOST_TEST(rsa::upper_triangle(R) == want, tt::tolerance(Tol<double>::sum) << tt::per_element());
      const arma::mat Rf = rsa::rdm(arma::conv_to<arma::fmat>::from(X), rsa::parse_dissimilarity(name));
      BOOST_TEST(rsa::upper_triangle(Rf) == want, tt::tolerance(Tol<float>::loose) << tt::per_element());
    }
  }
}

BOOST_AUTO_TEST_CASE(condensed_order_and_errors) {
  arma::mat R(4, 4);
  for (std::size_t i = 0; i < 4; ++i)
    for (std::size_t j = 0; j < 4; ++j) R(i, j) = 10.0 * i + j;
  BOOST_TEST(rsa::upper_triangle(R) == (arma::vec{1, 2, 3, 12, 13, 23}), tt::per_element());
  arma::mat X(3, 4, arma::fill::randu);
  X.col(2).zeros();
  BOOST_CHECK_THROW(rsa::rdm(X, rsa::Dissimilarity::cosine), embedlab::Error);
  X.col(2).fill(0.5);
  BOOST_CHECK_THROW(rsa::rdm(X, rsa::Dissimilarity::correlation), embedlab::Error);
  BOOST_CHECK_NO_THROW(rsa::rdm(X, rsa::Dissimilarity::euclidean));
  BOOST_CHECK_THROW(rsa::rdm(arma::mat(3, 1, arma::fill::ones), rsa::Dissimilarity::euclidean), embedlab::Error);
  BOOST_CHECK_THROW(rsa::parse_dissimilarity("manhattan"), embedlab::Error);
  BOOST_CHECK_THROW(rsa::parse_comparison("kendall"), embedlab::Error);
  BOOST_TEST(rsa::to_string(rsa::parse_comparison("kendall_tau_a")) == "kendall_tau_a");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(rsa_compare)

BOOST_AUTO_TEST_CASE(identical_rdms_give_one) {
  Rng rng(embedlab::test::kSeed);
  const arma::mat R = rsa::rdm(random_items(6, 10, rng), rsa::Dissimilarity::correlation);
  for (const auto c : kAll) {
    BOOST_TEST(rsa::compare_rdms(R, R, c) == 1.0, tt::tolerance(Tol<double>::eps));
    BOOST_TEST(rsa::mantel_test(R, R, c, 10, rng).statistic == 1.0, tt::tolerance(Tol<double>::eps));
  }
  // Spearman and Kendall only see the order: a monotone transform of an RDM changes neither.
  const arma::mat T = arma::exp(3.0 * R);
  BOOST_TEST(rsa::compare_rdms(R, T, rsa::Comparison::spearman) == 1.0, tt::tolerance(Tol<double>::eps));
  BOOST_TEST(rsa::compare_rdms(R, T, rsa::Comparison::kendall_tau_a) == 1.0, tt::tolerance(Tol<double>::eps));
  BOOST_TEST(rsa::compare_rdms(R, T, rsa::Comparison::pearson) < 1.0);
}

BOOST_AUTO_TEST_CASE(mantel_equals_brute_force_recomputation) {
  // The fast path (transform once, gather per permutation) gives the p-value of recomputing the
  // statistic on the permuted RDM from scratch, for the same permutation stream.
  Rng rng(embedlab::test::kSeed);
  const arma::mat X = random_items(4, 9, rng);
  const arma::mat A = rsa::rdm(X, rsa::Dissimilarity::euclidean);
  const arma::mat B = rsa::rdm(arma::mat(X + 1.5 * random_items(4, 9, rng)), rsa::Dissimilarity::cosine);
  for (const auto c : kAll) {
    Rng r1(99), r2(99);
    const auto res = rsa::mantel_test(A, B, c, 200, r1);
    const double obs = rsa::compare_rdms(A, B, c);
    BOOST_TEST(res.statistic == obs, tt::tolerance(Tol<double>::sum));
    std::size_t ge = 0;
    const Rng base(r2.next_u64());  // the documented stream: permutation k draws from Rng(base).child(k)
    for (int k = 0; k < 200; ++k) {
      Rng rk = base.child(static_cast<std::uint64_t>(k));
      const auto p = embedlab::stats::permutation(9, rk);
      const arma::uvec idx = arma::conv_to<arma::uvec>::from(std::vector<arma::uword>(p.begin(), p.end()));
      ge += rsa::compare_rdms(A, arma::mat(B.submat(idx, idx)), c) >= obs;
    }
    BOOST_TEST(res.p_value == (1.0 + ge) / 201.0);
    BOOST_TEST(res.permutations == 200u);
  }
}

BOOST_AUTO_TEST_CASE(mantel_detects_shared_structure_and_is_seeded) {
  Rng rng(embedlab::test::kSeed);
  const arma::mat X = random_items(8, 20, rng);
  const arma::mat A = rsa::rdm(X, rsa::Dissimilarity::cosine);
  const arma::mat B = rsa::rdm(arma::mat(X + 0.3 * random_items(8, 20, rng)), rsa::Dissimilarity::cosine);
  for (const auto c : kAll) {
    Rng r1(5), r2(5);
    const auto a = rsa::mantel_test(A, B, c, 199, r1), b = rsa::mantel_test(A, B, c, 199, r2);
    BOOST_TEST(a.p_value == 1.0 / 200.0);
    BOOST_TEST(a.statistic == b.statistic);
    BOOST_TEST(a.p_value == b.p_value);
  }
}

BOOST_AUTO_TEST_CASE(mantel_p_uniform_under_null) {
  // 200 independent RDM pairs over 8 items, 99 permutations each: under the null p is uniform on
  // {1/100, ..., 1}, so P(p <= 0.05) = 0.05. #{p <= 0.05} ~ Binomial(200, 0.05): mean 10, sd 3.1.
  Rng rng(embedlab::test::kSeed);
  for (const auto c : {rsa::Comparison::pearson, rsa::Comparison::spearman, rsa::Comparison::kendall_tau_a}) {
    int below = 0;
    double sum_p = 0.0;
    for (int s = 0; s < 200; ++s) {
      const arma::mat A = rsa::rdm(random_items(5, 8, rng), rsa::Dissimilarity::euclidean);
      const arma::mat B = rsa::rdm(random_items(5, 8, rng), rsa::Dissimilarity::euclidean);
      const double p = rsa::mantel_test(A, B, c, 99, rng).p_value;
      below += p <= 0.05;
      sum_p += p;
    }
    BOOST_TEST_MESSAGE("Mantel null (" << rsa::to_string(c) << "): " << below << "/200 below 0.05, mean p "
                                       << sum_p / 200.0);
    BOOST_TEST(below >= 1);   // about -3 sd
    BOOST_TEST(below <= 21);  // about +3.5 sd
    // Mean of 200 uniform p-values (discrete, mean 0.505): sd ~ 0.02.
    BOOST_TEST(sum_p / 200.0 == 0.505, tt::tolerance(0.15));
  }
}

BOOST_AUTO_TEST_CASE(bootstrap_ci_brackets_statistic_and_is_seeded) {
  Rng rng(embedlab::test::kSeed);
  const arma::mat X = random_items(8, 25, rng);
  const arma::mat A = rsa::rdm(X, rsa::Dissimilarity::correlation);
  const arma::mat B = rsa::rdm(arma::mat(X + 0.8 * random_items(8, 25, rng)), rsa::Dissimilarity::correlation);
  for (const auto c : kAll) {
    Rng r1(11), r2(11);
    const auto a = rsa::bootstrap_rdm_ci(A, B, c, 300, 0.9, r1), b = rsa::bootstrap_rdm_ci(A, B, c, 300, 0.9, r2);
    BOOST_TEST(a.ci.lo == b.ci.lo);
    BOOST_TEST(a.ci.hi == b.ci.hi);
    BOOST_TEST(a.statistic == rsa::compare_rdms(A, B, c));
    BOOST_TEST(a.ci.lo < a.statistic);
    BOOST_TEST(a.statistic < a.ci.hi);
    BOOST_TEST(a.ci.hi <= 1.0);
    BOOST_TEST(a.ci.level == 0.9);
    BOOST_TEST(a.failed == 0u);
    BOOST_TEST_MESSAGE("bootstrap " << rsa::to_string(c) << ": " << a.statistic << " in [" << a.ci.lo << ", " << a.ci.hi
                                    << "]");
  }
  // Identical RDMs: every resample gives exactly 1.
  Rng r3(3);
  const auto same = rsa::bootstrap_rdm_ci(A, A, rsa::Comparison::pearson, 50, 0.95, r3);
  BOOST_TEST(same.ci.lo == 1.0, tt::tolerance(Tol<double>::eps));
  BOOST_TEST(same.ci.hi == 1.0, tt::tolerance(Tol<double>::eps));
}

BOOST_AUTO_TEST_CASE(bad_arguments) {
  Rng rng(1);
  const arma::mat A = rsa::rdm(random_items(3, 5, rng), rsa::Dissimilarity::euclidean);
  const arma::mat B = rsa::rdm(random_items(3, 6, rng), rsa::Dissimilarity::euclidean);
  BOOST_CHECK_THROW(rsa::compare_rdms(A, B, rsa::Comparison::pearson), embedlab::Error);
  BOOST_CHECK_THROW(rsa::mantel_test(A, B, rsa::Comparison::pearson, 9, rng), embedlab::Error);
  const arma::mat small(2, 2, arma::fill::zeros);
  BOOST_CHECK_THROW(rsa::compare_rdms(small, small, rsa::Comparison::pearson), embedlab::Error);
  arma::mat constant(5, 5, arma::fill::ones);
  constant.diag().zeros();
  BOOST_CHECK_THROW(rsa::mantel_test(A, constant, rsa::Comparison::spearman, 9, rng), embedlab::Error);
  BOOST_TEST(std::isnan(rsa::compare_rdms(A, constant, rsa::Comparison::pearson)));
  BOOST_CHECK_THROW(rsa::bootstrap_rdm_ci(A, A, rsa::Comparison::pearson, 0, 0.95, rng), embedlab::Error);
  BOOST_CHECK_THROW(rsa::bootstrap_rdm_ci(A, A, rsa::Comparison::pearson, 10, 1.0, rng), embedlab::Error);
  arma::mat nan = A;
  nan(0, 1) = std::nan("");
  BOOST_CHECK_THROW(rsa::mantel_test(A, nan, rsa::Comparison::pearson, 9, rng), embedlab::Error);
}

BOOST_AUTO_TEST_SUITE_END()
