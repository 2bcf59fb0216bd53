#include "linalg/ring.hpp"

#include "core/error.hpp"
#include "core/threads.hpp"

#include <cblas.h>
#include <fmt/format.h>

#include <algorithm>
#include <utility>
#include <vector>

namespace embedlab::linalg {

RowLayout row_layout(arma::uword n, arma::uword tile, int ranks) {
  RowLayout l;
  l.n = n;
  l.b = std::max<arma::uword>(1, std::min(tile, n));
  l.nb = n ? (n + l.b - 1) / l.b : 0;
  l.ranks = std::max(1, ranks);
  return l;
}

double ring_block_bytes(const RowLayout& l, arma::uword d) {
  arma::uword biggest = 0;
  for (int r = 0; r < l.ranks; ++r) biggest = std::max(biggest, l.rows(r));
  return 3.0 * static_cast<double>(biggest) * static_cast<double>(d) * sizeof(float);
}

void ring_visit(const comm::Comm& comm, const RowLayout& l, const arma::fmat& mine,
                const std::function<void(int q, const float* other, int parity)>& visit) {
  const int N = comm.size(), r = comm.rank();
  const std::size_t d = mine.n_rows;
  const int S = N / 2;
  const int left = (r - 1 + N) % N, right = (r + 1) % N;
  std::vector<float> cur, next;
  comm::Comm::Shift shift;
  if (S > 0) {
    cur.resize(d * l.rows(right));
    shift = comm.start_shift(mine.memptr(), d * l.rows(r), left, cur.data(), cur.size(), right);
  }
  if (l.rows(r)) visit(r, mine.memptr(), -1);  // the own block while the first one travels
  shift.wait();
  for (int s = 1; s <= S; ++s) {
    const int q = (r + s) % N;
    if (s < S) {
      // The block held now goes on to the left; the one after it arrives from the right.
      const int q_next = (r + s + 1) % N;
      next.resize(d * l.rows(q_next));
      shift = comm.start_shift(cur.data(), cur.size(), left, next.data(), next.size(), right);
    }
    // With N even the pair at distance N/2 meets twice: the two ranks split its tiles.
    const int parity = 2 * s != N ? -1 : (r < q ? 0 : 1);
    if (l.rows(r) && l.rows(q)) visit(q, cur.data(), parity);
    shift.wait();
    std::swap(cur, next);
  }
}

PairMoments pair_moments_rows(const arma::fmat& block, arma::uword n, arma::uword tile, const comm::Comm* requested) {
  const comm::Comm& comm = comm::for_kernel(requested);
  const RowLayout l = row_layout(n, tile, comm.size());
  const int r = comm.rank(), N = comm.size();
  const arma::uword d = block.n_rows;
  if (block.n_cols != l.rows(r))
    fail(Exit::software, "pair_moments_rows", "block",
         fmt::format("rank {} holds {} rows (expected {} of the layout)", r, block.n_cols, l.rows(r)));
  // gram_stats' accumulation (linalg/allpairs.cpp), continued along the ranks: blocks of 1024
  // columns from column 0, block k into part k mod 2, each part added to in block order.
  constexpr arma::uword kBlock = 1024;
  const std::size_t dd = static_cast<std::size_t>(d) * d;
  // State on the wire: g0, g1 (d·d each), sum0, sum1 (d each), n2_0, n2_1, n4_0, n4_1.
  std::vector<double> state(2 * dd + 2 * d + 4, 0.0);
  const arma::uword carry = l.lo(r) % kBlock;  // columns of the unfinished block before lo(r)
  arma::fmat E(d, carry + block.n_cols);
  if (r > 0) {
    comm.recv_floats(reinterpret_cast<float*>(state.data()), 2 * state.size(), r - 1);
    comm.recv_floats(E.memptr(), static_cast<std::size_t>(d) * carry, r - 1);
  }
  if (block.n_cols) E.cols(carry, E.n_cols - 1) = block;
  const arma::uword a0 = l.lo(r) - carry;  // global column of E(:, 0), a multiple of kBlock
  const bool last = r == N - 1;
  arma::uword done = 0;  // columns of E consumed
  {
    BlasSingleThread single;
    arma::mat Y;
    while (done < E.n_cols && (E.n_cols - done >= kBlock || last)) {
      const arma::uword m = std::min(kBlock, E.n_cols - done);
      const int part = static_cast<int>(((a0 + done) / kBlock) % 2);
      double* g = state.data() + part * dd;
      double* sum = state.data() + 2 * dd + part * d;
      double& n2 = state[2 * dd + 2 * d + part];
      double& n4 = state[2 * dd + 2 * d + 2 + part];
      Y = arma::conv_to<arma::mat>::from(E.cols(done, done + m - 1));
      for (arma::uword j = 0; j < m; ++j) {
        const double s = arma::dot(Y.col(j), Y.col(j));
        n2 += s;
        n4 += s * s;
      }
      arma::vec sv(sum, d, false, true);
      sv += arma::sum(Y, 1);
      cblas_dsyrk(CblasColMajor, CblasUpper, CblasNoTrans, static_cast<int>(d), static_cast<int>(m), 1.0, Y.memptr(),
                  static_cast<int>(d), 1.0, g, static_cast<int>(d));
      done += m;
    }
  }
  std::vector<double> result(5, 0.0);
  if (!last) {
    comm.send_floats(reinterpret_cast<const float*>(state.data()), 2 * state.size(), r + 1);
    const arma::uword rest = E.n_cols - done;  // = hi(r) mod 1024: the next rank's carry
    comm.send_floats(rest ? E.colptr(done) : nullptr, static_cast<std::size_t>(d) * rest, r + 1);
  } else {
    GramStats gs;
    gs.n = n;
    const arma::mat g0(state.data(), d, d, false, true), g1(state.data() + dd, d, d, false, true);
    gs.gram = g0 + g1;
    gs.gram = arma::symmatu(gs.gram);
    const arma::vec s0(state.data() + 2 * dd, d, false, true), s1(state.data() + 2 * dd + d, d, false, true);
    gs.sum = s0 + s1;
    gs.sum_norm2 = state[2 * dd + 2 * d] + state[2 * dd + 2 * d + 1];
    gs.sum_norm4 = state[2 * dd + 2 * d + 2] + state[2 * dd + 2 * d + 3];
    const PairMoments pm = pair_moments(gs);
    result = {pm.n_pairs, pm.sum, pm.sum_sq, pm.mean, pm.variance};
  }
  comm.broadcast(result, N - 1);
  return PairMoments{result[0], result[1], result[2], result[3], result[4]};
}

}  // namespace embedlab::linalg
