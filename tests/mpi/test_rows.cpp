// `--distribute rows` (linalg/ring.hpp): each rank holds only its block of rows; the ring kernels
// must give the same bits as the replicated kernels on the whole matrix and as the serial run, for
// whatever rank count mpirun gave (1..4 in CTest), with uneven blocks and more ranks than tiles.
#include <boost/test/unit_test.hpp>

#include "comm/comm.hpp"
#include "core/error.hpp"
#include "io/embedding.hpp"
#include "io/row_range.hpp"
#include "linalg/allpairs.hpp"
#include "linalg/normalize.hpp"
#include "linalg/ring.hpp"
#include "linalg/topk.hpp"
#include "mpi_fixture.hpp"
#include "testing.hpp"

#include <cstring>
#include <fstream>

using namespace embedlab;

namespace {

arma::fmat unit_columns(arma::uword d, arma::uword n) {
  arma::arma_rng::set_seed(test::kSeed + n);
  arma::fmat U = arma::randn<arma::fmat>(d, n);
  U.col(5) = U.col(3);  // exact ties across blocks
  U.col(n - 1) = U.col(3);
  for (arma::uword j = 0; j < n; ++j) U.col(j) /= arma::norm(U.col(j));
  return U;
}

template <class M>
bool same_bits(const M& a, const M& b) {
  return a.n_rows == b.n_rows && a.n_cols == b.n_cols &&
         std::memcmp(a.memptr(), b.memptr(), a.n_elem * sizeof(typename M::elem_type)) == 0;
}
bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

arma::fmat my_block(const arma::fmat& U, arma::uword tile) {
  const auto& w = comm::world();
  const linalg::RowLayout l = linalg::row_layout(U.n_cols, tile, w.size());
  if (l.rows(w.rank()) == 0) return arma::fmat(U.n_rows, 0);
  return U.cols(l.lo(w.rank()), l.hi(w.rank()) - 1);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(distribute_rows)

BOOST_AUTO_TEST_CASE(layout_is_contiguous_and_covers_every_row) {
  for (int N = 1; N <= 5; ++N)
    for (const arma::uword n : {1u, 15u, 16u, 17u, 100u}) {
      const linalg::RowLayout l = linalg::row_layout(n, 16, N);
      BOOST_TEST(l.lo(0) == 0u);
      BOOST_TEST(l.hi(N - 1) == n);
      for (int r = 0; r < N; ++r) {
        BOOST_TEST(l.lo(r) <= l.hi(r));
        BOOST_TEST(l.lo(r) % 16 == 0u);  // block edges are tile edges
      }
    }
}

BOOST_AUTO_TEST_CASE(all_pairs_rows_equals_replicated_and_serial) {
  const auto& world = comm::world();
  // 37 rows, tile 16: 3 tiles (N = 4 leaves a rank without rows); 203: 13 tiles, uneven blocks.
  for (const arma::uword n : {37u, 203u}) {
    const arma::fmat U = unit_columns(24, n);
    linalg::AllPairsOptions o;
    o.tile = 16;
    o.bins = 97;
    o.workers = 2;
    o.comm = &comm::self();
    const linalg::AllPairsStats serial = linalg::all_pairs(U, o);
    o.comm = &world;
    o.workers = 1;
    const linalg::AllPairsStats rows = linalg::all_pairs_rows(my_block(U, o.tile), n, o);
    BOOST_TEST_CONTEXT("n = " << n) {
      BOOST_TEST(rows.n_pairs == serial.n_pairs);
      BOOST_TEST(rows.counts == serial.counts);
      BOOST_TEST(same_bits(rows.sum, serial.sum));
      BOOST_TEST(same_bits(rows.sum_sq, serial.sum_sq));
      BOOST_TEST(rows.max.cos == serial.max.cos);
      BOOST_TEST(rows.max.i == serial.max.i);
      BOOST_TEST(rows.max.j == serial.max.j);
      BOOST_TEST(rows.min.cos == serial.min.cos);
      BOOST_TEST(rows.min.i == serial.min.i);
      BOOST_TEST(rows.min.j == serial.min.j);
      BOOST_TEST(rows.tile_flops == serial.tile_flops);
      BOOST_TEST(same_bits(rows.quantile(0.5), serial.quantile(0.5)));
      // Independent: the pair sum against a direct upper-triangle sum.
      const arma::fmat C = U.t() * U;
      double direct = 0;
      for (arma::uword j = 1; j < n; ++j)
        for (arma::uword i = 0; i < j; ++i) direct += std::clamp(C(i, j), -1.0f, 1.0f);
      BOOST_TEST(rows.sum == direct, boost::test_tools::tolerance(1e-4));
    }
  }
}

BOOST_AUTO_TEST_CASE(pair_moments_rows_equals_the_gram_moments) {
  // 2300 rows: three 1024-column Gram blocks, so blocks straddle ranks.
  for (const arma::uword tile : {16u, 2048u}) {
    const arma::fmat U = unit_columns(8, 2300);
    const linalg::PairMoments serial = linalg::pair_moments(U);
    const linalg::PairMoments rows = linalg::pair_moments_rows(my_block(U, tile), U.n_cols, tile);
    BOOST_TEST(same_bits(rows.mean, serial.mean));
    BOOST_TEST(same_bits(rows.variance, serial.variance));
    BOOST_TEST(same_bits(rows.sum_sq, serial.sum_sq));
  }
}

BOOST_AUTO_TEST_CASE(topk_all_rows_equals_replicated_and_serial) {
  const auto& world = comm::world();
  for (const arma::uword n : {29u, 150u}) {
    const arma::fmat U = unit_columns(16, n);
    linalg::TopKOptions o;
    o.k = 7;
    o.tile = 16;
    o.workers = 2;
    o.comm = &comm::self();
    const linalg::TopK serial = linalg::topk_all(U, o);
    o.comm = &world;
    const linalg::TopK rep = linalg::topk_all(U, o);
    const linalg::TopK rows = linalg::topk_all_rows(my_block(U, o.tile), n, o);
    BOOST_TEST(same_bits(rows.ids, serial.ids));
    BOOST_TEST(same_bits(rows.cos, serial.cos));
    BOOST_TEST(same_bits(rep.ids, rows.ids));
    // Independent: row 3's nearest is its copy 5 with cos 1.
    BOOST_TEST(rows.ids(3, 0) == 5u);
  }
}

BOOST_AUTO_TEST_CASE(blocks_read_from_a_file_equal_the_whole_file) {
  // Rank 0 writes a word2vec binary; every rank reads its block through the row-range reader.
  const auto& world = comm::world();
  const arma::uword n = 61, d = 12, tile = 16;
  std::string path;
  std::unique_ptr<test::TempDir> dir;
  if (world.root()) {
    dir = std::make_unique<test::TempDir>();
    path = dir->file("rows.bin");
    arma::arma_rng::set_seed(test::kSeed);
    const arma::fmat E = arma::randn<arma::fmat>(d, n);
    std::ofstream out(path, std::ios::binary);
    out << n << " " << d << "\n";
    for (arma::uword j = 0; j < n; ++j) {
      out << "t" << j << " ";
      out.write(reinterpret_cast<const char*>(E.colptr(j)), static_cast<std::streamsize>(d * 4));
    }
  }
  world.broadcast(path);
  io::LoadOptions lo;
  lo.path = path;
  const io::Embeddings whole = io::load_embeddings(lo);
  const io::RowReader rr(lo);
  const linalg::RowLayout l = linalg::row_layout(rr.rows(), tile, world.size());
  const io::Embeddings block = rr.read(l.lo(world.rank()), l.hi(world.rank()));
  const arma::fmat U = linalg::normalize_rows(whole.vectors).unit;
  const arma::fmat B = linalg::normalize_rows(block.vectors).unit;
  BOOST_TEST(same_bits(B, my_block(U, tile)));
  linalg::TopKOptions o;
  o.k = 5;
  o.tile = tile;
  o.comm = &comm::self();
  const linalg::TopK serial = linalg::topk_all(U, o);
  o.comm = &world;
  const linalg::TopK rows = linalg::topk_all_rows(B, n, o);
  BOOST_TEST(same_bits(rows.ids, serial.ids));
  BOOST_TEST(same_bits(rows.cos, serial.cos));
  world.barrier();  // rank 0 removes the file only after every rank has read it
}

BOOST_AUTO_TEST_CASE(an_error_on_one_rank_ends_every_rank_with_its_message) {
  // The last rank with rows holds a non-finite block: every rank throws that rank's one-line error.
  const auto& world = comm::world();
  const arma::uword n = 70, tile = 16;
  arma::fmat U = unit_columns(8, n);
  const linalg::RowLayout l = linalg::row_layout(n, tile, world.size());
  arma::fmat B = my_block(U, tile);
  int bad = 0;
  for (int r = 0; r < world.size(); ++r)
    if (l.rows(r)) bad = r;
  if (world.rank() == bad) B(0, B.n_cols - 1) = arma::datum::nan;
  linalg::AllPairsOptions o;
  o.tile = tile;
  try {
    linalg::all_pairs_rows(B, n, o);
    BOOST_ERROR("no error");
  } catch (const comm::CollectiveError& e) {
    BOOST_TEST(e.failing_rank() == (world.size() > 1 ? bad : 0));
    BOOST_TEST(std::string(e.what()).find("non-finite") != std::string::npos);
  } catch (const Error& e) {
    BOOST_TEST(!world.distributed());  // serial: the plain error
    BOOST_TEST(std::string(e.what()).find("non-finite") != std::string::npos);
  }
}

BOOST_AUTO_TEST_SUITE_END()
