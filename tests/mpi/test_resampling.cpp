// The distributed permutations and bootstraps (RSA's Mantel test and bootstrap interval, compare's
// calibration, in test_calibration.cpp) against the same call on this process alone (comm::Alone): every value the same
// bits, on every rank, for whatever rank count mpirun gave (1..4 in CTest). The counts are not
// multiples of the rank count, and smaller than it for some, so blocks are uneven or empty.
#include <boost/test/unit_test.hpp>

#include "comm/comm.hpp"
#include "mpi_fixture.hpp"
#include "rsa/compare.hpp"
#include "rsa/rdm.hpp"
#include "testing.hpp"

#include <cstring>

using namespace embedlab;

namespace {

bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

arma::mat items(arma::uword d, arma::uword n, std::uint64_t seed) {
  arma::arma_rng::set_seed(seed);
  return arma::randn<arma::mat>(d, n);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(distributed_resampling)

BOOST_AUTO_TEST_CASE(gather_blocks_returns_every_item_in_order) {
  const auto& world = comm::world();
  for (const std::size_t count : {0u, 1u, 3u, 10u}) {
    const comm::Range r = comm::block(world, count);
    std::vector<comm::Bytes> mine;
    std::vector<double> values;
    for (std::size_t i = r.begin; i < r.end; ++i) {
      mine.push_back(comm::Bytes(i % 4, static_cast<unsigned char>(i)));  // sizes 0..3, some empty
      values.push_back(static_cast<double>(i) + 0.5);
      values.push_back(-static_cast<double>(i));
    }
    const auto all = comm::gather_blocks(world, mine, count);
    BOOST_REQUIRE_EQUAL(all.size(), count);
    for (std::size_t i = 0; i < count; ++i)
      BOOST_TEST((all[i] == comm::Bytes(i % 4, static_cast<unsigned char>(i))), "item " << i);
    const auto v = comm::gather_blocks(world, values, count, 2);
    BOOST_REQUIRE_EQUAL(v.size(), 2 * count);
    for (std::size_t i = 0; i < count; ++i) {
      BOOST_TEST(v[2 * i] == static_cast<double>(i) + 0.5);
      BOOST_TEST(v[2 * i + 1] == -static_cast<double>(i));
    }
  }
  // The blocks cover [0, count) once, in rank order.
  std::size_t next = 0;
  for (int rank = 0; rank < world.size(); ++rank) {
    const comm::Range r = comm::block(comm::Comm(rank, world.size(), false), 10);
    BOOST_TEST(r.begin == next);
    next = r.end;
  }
  BOOST_TEST(next == 10u);
}

BOOST_AUTO_TEST_CASE(mantel_and_bootstrap_are_bit_identical_to_the_serial_run) {
  const arma::mat X = items(6, 14, test::kSeed);
  const arma::mat A = rsa::rdm(X, rsa::Dissimilarity::euclidean);
  const arma::mat B = rsa::rdm(arma::mat(X + 0.7 * items(6, 14, test::kSeed + 1)), rsa::Dissimilarity::cosine);
  for (const auto c : {rsa::Comparison::pearson, rsa::Comparison::spearman, rsa::Comparison::kendall_tau_a}) {
    for (const std::size_t perms : {1u, 3u, 37u}) {
      rsa::MantelResult serial;
      rsa::BootstrapResult sb;
      {
        const comm::Alone alone;
        Rng r1(7), r2(8);
        serial = rsa::mantel_test(A, B, c, perms, r1);
        sb = rsa::bootstrap_rdm_ci(A, B, c, perms + 2, 0.9, r2);
      }
      Rng r1(7), r2(8);
      const auto dist = rsa::mantel_test(A, B, c, perms, r1);
      const auto db = rsa::bootstrap_rdm_ci(A, B, c, perms + 2, 0.9, r2);
      BOOST_TEST(same_bits(dist.statistic, serial.statistic));
      BOOST_TEST(same_bits(dist.p_value, serial.p_value), rsa::to_string(c) << " " << perms << " permutations");
      BOOST_TEST(same_bits(db.ci.lo, sb.ci.lo));
      BOOST_TEST(same_bits(db.ci.hi, sb.ci.hi));
      BOOST_TEST(db.failed == sb.failed);
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
