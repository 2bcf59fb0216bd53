#include <boost/test/unit_test.hpp>
#include "stats/stats_testing.hpp"
#include "testing.hpp"

#include "core/error.hpp"
#include "core/rng.hpp"
#include "linalg/cluster.hpp"

#include <nlohmann/json.hpp>

namespace tt = boost::test_tools;
using embedlab::Rng;
using embedlab::test::Tol;
namespace la = embedlab::linalg;

namespace {

la::Labels labels(const nlohmann::json& j) { return j.get<la::Labels>(); }

// m unit vectors in d dims around k well-separated directions; item i belongs to i % k.
arma::mat blobs(std::size_t d, std::size_t m, std::size_t k, double noise, Rng& rng) {
  arma::mat C(d, k), X(d, m);
  for (auto& v : C) v = rng.normal();
  for (std::size_t j = 0; j < m; ++j) {
    for (std::size_t r = 0; r < d; ++r) X(r, j) = C(r, j % k) + noise * rng.normal();
    X.col(j) /= arma::norm(X.col(j));
  }
  return X;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(linalg_cluster)

BOOST_AUTO_TEST_CASE(average_linkage_and_silhouette_match_scipy) {
  const nlohmann::json ref = embedlab::test::stats_reference();
  for (const auto& c : ref["cluster"]) {
    const arma::mat S = embedlab::test::json_rows(c["similarity"]);
    const la::Labels want = labels(c["average_labels"]);
    BOOST_TEST(la::average_linkage(S, c["k"].get<std::size_t>()) == want, tt::per_element());
    const arma::vec sil(c["silhouette_samples"].get<std::vector<double>>());
    BOOST_TEST(la::silhouette_samples(S, want) == sil, tt::tolerance(Tol<double>::sum) << tt::per_element());
    BOOST_TEST(la::silhouette_score(S, want) == c["silhouette"].get<double>(), tt::tolerance(Tol<double>::sum));
  }
}

BOOST_AUTO_TEST_CASE(average_linkage_tie_break_and_extremes) {
  // All pairs equally similar: merge (0,1), then (0,2) — the lowest index pair each time.
  arma::mat S(4, 4);
  S.fill(0.5);
  S.diag().ones();
  BOOST_TEST(la::average_linkage(S, 2) == (la::Labels{0, 0, 0, 1}), tt::per_element());
  BOOST_TEST(la::average_linkage(S, 4) == (la::Labels{0, 1, 2, 3}), tt::per_element());
  BOOST_TEST(la::average_linkage(S, 1) == (la::Labels{0, 0, 0, 0}), tt::per_element());
  // Average (not single) linkage: {0,1} at distance 0.1; 2 is 0.3 from 1 but 0.9 from 0, so its
  // average distance to {0,1} is 0.6 > 0.5 = its distance to 3.
  arma::mat T = {{1.0, 0.9, 0.1, 0.2}, {0.9, 1.0, 0.7, 0.2}, {0.1, 0.7, 1.0, 0.5}, {0.2, 0.2, 0.5, 1.0}};
  BOOST_TEST(la::average_linkage(T, 2) == (la::Labels{0, 0, 1, 1}), tt::per_element());
  BOOST_CHECK_THROW(la::average_linkage(S, 0), embedlab::Error);
  BOOST_CHECK_THROW(la::average_linkage(S, 5), embedlab::Error);
  BOOST_CHECK_THROW(la::average_linkage(arma::mat(3, 4, arma::fill::zeros), 2), embedlab::Error);
}

BOOST_AUTO_TEST_CASE(silhouette_hand_computed_and_errors) {
  // Two pairs: within distance 0.1, across 0.9 -> s = (0.9 - 0.1) / 0.9 for everyone.
  arma::mat S = {{1.0, 0.9, 0.1, 0.1}, {0.9, 1.0, 0.1, 0.1}, {0.1, 0.1, 1.0, 0.9}, {0.1, 0.1, 0.9, 1.0}};
  BOOST_TEST(la::silhouette_score(S, {0, 0, 1, 1}) == 0.8 / 0.9, tt::tolerance(Tol<double>::eps));
  BOOST_TEST(la::silhouette_score(S, {7, 7, 3, 3}) == 0.8 / 0.9, tt::tolerance(Tol<double>::eps));
  const arma::vec s = la::silhouette_samples(S, {0, 0, 0, 1});
  BOOST_TEST(s[3] == 0.0);  // singleton
  BOOST_CHECK_THROW(la::silhouette_score(S, {0, 0, 0, 0}), embedlab::Error);
  BOOST_CHECK_THROW(la::silhouette_score(S, {0, 1, 2, 3}), embedlab::Error);
  BOOST_CHECK_THROW(la::silhouette_score(S, {0, 1}), embedlab::Error);
}

BOOST_AUTO_TEST_CASE(spherical_kmeans_recovers_blobs_and_agrees_with_scipy_partition) {
  Rng rng(embedlab::test::kSeed);
  const arma::mat X = blobs(10, 60, 4, 0.15, rng);
  la::Labels want(60);
  for (std::size_t j = 0; j < 60; ++j) want[j] = j % 4;
  const auto r = la::spherical_kmeans(X, {.k = 4, .max_iter = 50, .n_init = 5}, rng);
  BOOST_TEST(r.labels == want, tt::per_element());
  BOOST_TEST(r.converged);
  BOOST_TEST(r.centroids.n_cols == 4u);
  for (std::size_t c = 0; c < 4; ++c)
    BOOST_TEST(arma::norm(r.centroids.col(c)) == 1.0, tt::tolerance(Tol<double>::eps));
  double obj = 0.0;
  for (std::size_t j = 0; j < 60; ++j) obj += arma::dot(X.col(j), r.centroids.col(r.labels[j]));
  BOOST_TEST(r.objective == obj, tt::tolerance(Tol<double>::sum));
  // The well-separated scipy reference cases: k-means finds the average-linkage partition.
  const nlohmann::json ref = embedlab::test::stats_reference();
  for (const auto& c : ref["cluster"]) {
    if (!c.contains("items_rows") || c["silhouette"].get<double>() < 0.85) continue;
    const arma::mat Y = embedlab::test::json_rows(c["items_rows"]).t();
    const auto kr = la::spherical_kmeans(Y, {.k = c["k"].get<std::size_t>(), .max_iter = 100, .n_init = 10}, rng);
    BOOST_TEST(kr.labels == labels(c["average_labels"]), tt::per_element());
  }
}

BOOST_AUTO_TEST_CASE(spherical_kmeans_seeded_and_extremes) {
  Rng rng(embedlab::test::kSeed);
  const arma::mat X = blobs(6, 40, 3, 0.8, rng);  // overlapping: restarts matter
  Rng a(42), b(42);
  const la::KMeansOptions opt{.k = 3, .max_iter = 100, .n_init = 4};
  const auto ra = la::spherical_kmeans(X, opt, a), rb = la::spherical_kmeans(X, opt, b);
  BOOST_TEST(ra.labels == rb.labels, tt::per_element());
  BOOST_TEST(ra.objective == rb.objective);
  BOOST_TEST(arma::approx_equal(ra.centroids, rb.centroids, "absdiff", 0.0));
  // More restarts never lose: the best of n_init = 8 is at least the best of its first 4.
  Rng c(42);
  const auto rc = la::spherical_kmeans(X, {.k = 3, .max_iter = 100, .n_init = 8}, c);
  BOOST_TEST(rc.objective >= ra.objective);
  // k = 1: the centroid is the normalised mean. k = m: every item is its own centroid.
  const auto one = la::spherical_kmeans(X, {.k = 1, .max_iter = 10, .n_init = 1}, rng);
  const arma::vec mean_dir = arma::normalise(arma::sum(X, 1));
  BOOST_TEST(arma::norm(one.centroids.col(0) - mean_dir) < Tol<double>::sum);
  const arma::mat Y = X.cols(0, 5);
  const auto all = la::spherical_kmeans(Y, {.k = 6, .max_iter = 10, .n_init = 2}, rng);
  BOOST_TEST(all.labels == (la::Labels{0, 1, 2, 3, 4, 5}), tt::per_element());
  BOOST_TEST(all.objective == 6.0, tt::tolerance(Tol<double>::sum));
  // float input gives the same partition.
  Rng d(42);
  BOOST_TEST(la::spherical_kmeans(arma::conv_to<arma::fmat>::from(X), opt, d).labels == ra.labels, tt::per_element());
}

BOOST_AUTO_TEST_CASE(spherical_kmeans_bad_arguments) {
  Rng rng(1);
  const arma::mat X = blobs(4, 10, 2, 0.1, rng);
  BOOST_CHECK_THROW(la::spherical_kmeans(X, {.k = 0}, rng), embedlab::Error);
  BOOST_CHECK_THROW(la::spherical_kmeans(X, {.k = 11}, rng), embedlab::Error);
  BOOST_CHECK_THROW(la::spherical_kmeans(X, {.k = 2, .max_iter = 0}, rng), embedlab::Error);
  BOOST_CHECK_THROW(la::spherical_kmeans(arma::mat(2.0 * X), {.k = 2}, rng), embedlab::Error);
  arma::mat bad = X;
  bad(0, 3) = std::nan("");
  BOOST_CHECK_THROW(la::spherical_kmeans(bad, {.k = 2}, rng), embedlab::Error);
}

BOOST_AUTO_TEST_SUITE_END()
