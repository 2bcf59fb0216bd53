// compare's permutation calibration distributed (CKA, Procrustes, mutual k-NN, SVCCA) against the
// same call on this process alone (comm::Alone): the null values, p-values and intervals the same
// bits on every rank for any rank count. (A file of its own: rsa::Comparison is an enum in
// rsa/compare.hpp and a class in rsa/similarity_metrics.hpp.)
#include <boost/test/unit_test.hpp>

#include "comm/comm.hpp"
#include "mpi_fixture.hpp"
#include "rsa/similarity_metrics.hpp"
#include "testing.hpp"

#include <cstring>

using namespace embedlab;

namespace {

bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

bool same_bits(const std::vector<double>& a, const std::vector<double>& b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0);
}

arma::mat items(arma::uword d, arma::uword n, std::uint64_t seed) {
  arma::arma_rng::set_seed(seed);
  return arma::randn<arma::mat>(d, n);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(distributed_calibration)

BOOST_AUTO_TEST_CASE(compare_calibration_is_bit_identical_to_the_serial_run) {
  const arma::mat X = items(7, 40, test::kSeed + 2);
  const arma::mat Y = arma::join_cols(X.rows(0, 4), items(2, 40, test::kSeed + 3)) + 0.3 * items(7, 40, 11);
  const std::vector<rsa::Metric> metrics = {rsa::Metric::linear_cka, rsa::Metric::procrustes_angular,
                                            rsa::Metric::mutual_knn, rsa::Metric::svcca};
  rsa::MetricOptions mo;
  mo.k = 5;
  rsa::CalibrationOptions co;
  co.permutations = 13;
  co.bootstrap = 6;
  co.workers = 2;
  const Rng rng(test::kSeed);
  std::vector<rsa::Calibrated> serial;
  {
    const comm::Alone alone;
    serial = rsa::calibrate(X, Y, metrics, mo, co, rng);
  }
  co.workers = 1;
  const auto dist = rsa::calibrate(X, Y, metrics, mo, co, rng);
  BOOST_REQUIRE_EQUAL(dist.size(), serial.size());
  for (std::size_t m = 0; m < dist.size(); ++m) {
    const std::string name(rsa::to_string(metrics[m]));
    BOOST_TEST(same_bits(dist[m].null, serial[m].null), name);
    BOOST_TEST(same_bits(dist[m].p_value, serial[m].p_value), name);
    BOOST_TEST(same_bits(dist[m].null_mean, serial[m].null_mean), name);
    BOOST_TEST(same_bits(dist[m].null_sd, serial[m].null_sd), name);
    BOOST_TEST(same_bits(dist[m].ci_low, serial[m].ci_low), name);
    BOOST_TEST(same_bits(dist[m].ci_high, serial[m].ci_high), name);
    BOOST_TEST(dist[m].failed == serial[m].failed, name);
  }
}

BOOST_AUTO_TEST_SUITE_END()
