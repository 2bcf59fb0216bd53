// The distributed kernels against the same kernel run on this process alone (comm::self()): every
// field bit-identical, on every rank, for whatever rank count mpirun gave (1..4 in CTest). Small
// tiles give many tiles, so every rank gets several; duplicated columns give exact ties.
#include <boost/test/unit_test.hpp>

#include "comm/comm.hpp"
#include "linalg/allpairs.hpp"
#include "linalg/diagnostics.hpp"
#include "linalg/topk.hpp"
#include "mpi_fixture.hpp"
#include "testing.hpp"

#include <cstring>

using namespace embedlab;

namespace {

// (d, n) unit columns, seeded; columns 5 and 17 are copies of 3 (exact ties, cos = 1).
arma::fmat unit_columns(arma::uword d, arma::uword n) {
  arma::arma_rng::set_seed(test::kSeed);
  arma::fmat U = arma::randn<arma::fmat>(d, n);
  U.col(5) = U.col(3);
  U.col(17) = U.col(3);
  for (arma::uword j = 0; j < n; ++j) U.col(j) /= arma::norm(U.col(j));
  return U;
}

template <class M>
bool same_bits(const M& a, const M& b) {
  return a.n_rows == b.n_rows && a.n_cols == b.n_cols &&
         std::memcmp(a.memptr(), b.memptr(), a.n_elem * sizeof(typename M::elem_type)) == 0;
}

bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

}  // namespace

BOOST_AUTO_TEST_SUITE(distributed_kernels)

BOOST_AUTO_TEST_CASE(all_pairs_is_bit_identical_to_the_serial_pass) {
  const auto& world = comm::world();
  for (const arma::uword n : {37u, 203u}) {
    const arma::fmat U = unit_columns(24, n);
    linalg::AllPairsOptions o;
    o.tile = 16;  // 3 and 78 tiles: more than ranks, and fewer
    o.bins = 97;
    o.workers = 2;
    o.comm = &comm::self();
    const linalg::AllPairsStats serial = linalg::all_pairs(U, o);
    o.comm = &world;
    o.workers = 1;
    const linalg::AllPairsStats dist = linalg::all_pairs(U, o);
    BOOST_TEST(dist.n_pairs == serial.n_pairs);
    BOOST_TEST(dist.counts == serial.counts);
    BOOST_TEST(same_bits(dist.sum, serial.sum));
    BOOST_TEST(same_bits(dist.sum_sq, serial.sum_sq));
    BOOST_TEST(dist.max.cos == serial.max.cos);
    BOOST_TEST(dist.max.i == serial.max.i);
    BOOST_TEST(dist.max.j == serial.max.j);
    BOOST_TEST(dist.min.cos == serial.min.cos);
    BOOST_TEST(dist.min.i == serial.min.i);
    BOOST_TEST(dist.min.j == serial.min.j);
    BOOST_TEST(dist.tile_flops == serial.tile_flops);
    // The pair (3, 5) is the lowest pair with cos 1 (3, 17 and 5, 17 tie with it).
    BOOST_TEST(dist.max.i == 3u);
    BOOST_TEST(dist.max.j == 5u);
    // An independent check of the pass itself: the double sum against a direct upper-triangle sum.
    const arma::fmat C = U.t() * U;
    double direct = 0;
    for (arma::uword j = 1; j < n; ++j)
      for (arma::uword i = 0; i < j; ++i) direct += std::clamp(C(i, j), -1.0f, 1.0f);
    BOOST_TEST(dist.sum == direct, boost::test_tools::tolerance(1e-4));
  }
}

BOOST_AUTO_TEST_CASE(topk_all_is_bit_identical_to_the_serial_search) {
  const auto& world = comm::world();
  for (const arma::uword n : {29u, 150u}) {
    const arma::fmat U = unit_columns(16, n);
    linalg::TopKOptions o;
    o.k = 7;
    o.tile = 16;
    o.comm = &comm::self();
    const linalg::TopK serial = linalg::topk_all(U, o);
    o.comm = &world;
    const linalg::TopK dist = linalg::topk_all(U, o);
    BOOST_TEST(same_bits(dist.ids, serial.ids));
    BOOST_TEST(same_bits(dist.cos, serial.cos));
    // Independent: row 3's two nearest are its copies 5 and 17 (cos 1, lower id first).
    BOOST_TEST(dist.ids(3, 0) == 5u);
    BOOST_TEST(dist.ids(3, 1) == 17u);
    // Brute force for a few rows: the k-th cosine equals the k-th largest of the row.
    const arma::fmat C = U.t() * U;
    for (const arma::uword r : {0u, 11u, static_cast<unsigned>(n - 1)}) {
      arma::fvec row = C.col(r);
      row.shed_row(r);
      row = arma::sort(arma::clamp(row, -1.0f, 1.0f), "descend");
      BOOST_TEST(dist.cos(r, o.k - 1) == row[o.k - 1], boost::test_tools::tolerance(1e-5f));
    }
  }
}

BOOST_AUTO_TEST_CASE(csls_search_and_exact_knn_are_bit_identical) {
  const auto& world = comm::world();
  const arma::fmat U = unit_columns(12, 90);
  arma::fvec r = arma::linspace<arma::fvec>(0.0f, 0.3f, U.n_cols);
  linalg::TopKOptions o;
  o.k = 5;
  o.tile = 16;
  o.csls_r = &r;
  o.comm = &comm::self();
  const linalg::TopK serial = linalg::topk_all(U, o);
  o.comm = &world;
  const linalg::TopK dist = linalg::topk_all(U, o);
  BOOST_TEST(same_bits(dist.ids, serial.ids));
  BOOST_TEST(same_bits(dist.cos, serial.cos));
}

BOOST_AUTO_TEST_CASE(ambient_communicator_is_the_default) {
  // options.comm unset: the kernels distribute over comm::world() (what the CLI and experiments use).
  const arma::fmat U = unit_columns(8, 64);
  linalg::TopKOptions o;
  o.k = 3;
  o.tile = 16;
  const linalg::TopK dist = linalg::topk_all(U, o);
  o.comm = &comm::self();
  const linalg::TopK serial = linalg::topk_all(U, o);
  BOOST_TEST(same_bits(dist.ids, serial.ids));
  BOOST_TEST(same_bits(dist.cos, serial.cos));
}

BOOST_AUTO_TEST_CASE(a_bad_input_is_one_collective_error) {
  arma::fmat U = unit_columns(8, 40);
  U(2, 7) = arma::datum::nan;
  linalg::AllPairsOptions o;
  o.tile = 16;
  BOOST_CHECK_THROW(linalg::all_pairs(U, o), comm::CollectiveError);
  linalg::TopKOptions t;
  t.tile = 16;
  BOOST_CHECK_THROW(linalg::topk_all(U, t), comm::CollectiveError);
}

BOOST_AUTO_TEST_SUITE_END()
