// bench_mpi [--n N] [--d D] [--k K] [--threads T] [--reps R]: the distributed kernels under
// `mpirun -np P` (or alone: 1 rank). Seeded normal (d, n), rows normalised; each rank runs its share
// of all-rows top-k and of the all-pairs histogram pass with T workers. Prints, from rank 0: wall
// time (best of R, every rank in step: barrier, kernel, barrier), the per-rank rate on its own
// share (its FLOPs of the upper triangle over the time) against the SGEMM rate of one T-thread
// tile measured on that rank, and the payload bytes each rank sent per kernel (max over ranks).
//   make bench runs it as 1 rank × 2 threads and 2 ranks × 1 thread (parallel efficiency).
#include "bench_util.hpp"
#include "comm/comm.hpp"
#include "core/rng.hpp"
#include "core/threads.hpp"
#include "linalg/allpairs.hpp"
#include "linalg/normalize.hpp"
#include "linalg/ring.hpp"
#include "linalg/topk.hpp"

#include <cblas.h>
#include <fmt/format.h>

#include <algorithm>
#include <string>

namespace {

using namespace embedlab;
using bench::Clock;
using bench::seconds_since;

// GFLOP/s of one (tile, tile, d) sgemm, T workers each running its own single-threaded tile (what
// a kernel worker does), best of 3 after a warm-up. Every rank runs each repetition in step (a
// barrier before it), as the kernels do: the rate of a core while the node's other cores work too,
// the same condition as 1 rank x T threads, whose T tiles always run together. The output tiles
// are allocated and touched before the clock starts, as a kernel worker's tile buffer is.
double tile_gflops(const comm::Comm& world, const arma::fmat& U, arma::uword tile, int workers) {
  const arma::uword m = std::min<arma::uword>(tile, U.n_cols / 2);
  const int d = static_cast<int>(U.n_rows), mi = static_cast<int>(m);
  double best = 0;
  BlasSingleThread single;
  std::vector<arma::fmat> out(static_cast<std::size_t>(workers), arma::fmat(m, m, arma::fill::zeros));
  for (int r = 0; r <= 3; ++r) {
    world.barrier();
    const auto t0 = Clock::now();
    run_workers(workers, [&](int w) {
      arma::fmat& C = out[static_cast<std::size_t>(w)];
      cblas_sgemm(CblasColMajor, CblasTrans, CblasNoTrans, mi, mi, d, 1.0f, U.memptr(), d,
                  U.colptr(U.n_cols - m - static_cast<arma::uword>(w % 2)), d, 0.0f, C.memptr(), mi);
    });
    const double s = seconds_since(t0);
    if (r > 0) best = std::max(best, workers * 2.0 * m * m * d / s / 1e9);
  }
  return best;
}

int run(int argc, char** argv) {
  const comm::Session session(argc, argv);
  const comm::Comm& world = comm::world();
  arma::uword n = 20000, d = 768, k = 10;
  int threads = 1, reps = 2;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    const auto v = std::strtoull(argv[i + 1], nullptr, 10);
    if (a == "--n")
      n = v;
    else if (a == "--d")
      d = v;
    else if (a == "--k")
      k = v;
    else if (a == "--threads")
      threads = static_cast<int>(v);
    else if (a == "--reps")
      reps = static_cast<int>(v);
    else
      throw Error(Exit::usage, fmt::format("bench_mpi: unknown option {}", a));
  }
  set_threads(threads);
  Rng rng(20261126);
  arma::fmat E(d, n);
  for (auto& x : E) x = static_cast<float>(rng.normal());
  const arma::fmat U = linalg::normalize_rows(E).unit;
  E.reset();
  const int P = world.size();
  const double tile_peak = tile_gflops(world, U, 2048, threads);  // this rank's T-worker SGEMM rate
  const std::vector<double> peaks = world.allgather(tile_peak);
  const double pairs = static_cast<double>(n) * (n - 1) / 2.0, useful = pairs * 2.0 * d;

  struct Result {
    double seconds = 1e300, local_flops = 0, rate_pct_min = 1e300;
    std::uint64_t bytes_max = 0;
  };
  const auto measure = [&](auto&& kernel) {
    Result r;
    for (int rep = 0; rep < reps; ++rep) {
      world.barrier();
      const std::uint64_t sent0 = world.bytes_sent();
      const auto t0 = Clock::now();
      const double local = kernel();
      const double s_local = seconds_since(t0);
      world.barrier();
      const double s = seconds_since(t0);
      const auto sent = static_cast<double>(world.bytes_sent() - sent0);
      // Per-rank rate on its share: its useful FLOPs (upper-triangle count) over its own time.
      const std::vector<double> pct = world.allgather(100.0 * local / s_local / 1e9 / tile_peak);
      const std::vector<double> bytes = world.allgather(sent);
      if (s < r.seconds) {
        r.seconds = s;
        r.local_flops = local;
        r.rate_pct_min = *std::min_element(pct.begin(), pct.end());
        r.bytes_max = static_cast<std::uint64_t>(*std::max_element(bytes.begin(), bytes.end()));
      }
    }
    return r;
  };
  // Useful FLOPs of a rank's share: its fraction of the pairs (tile FLOPs count the diagonal
  // tiles' full syrk; the useful count is the upper triangle's n(n-1)d share).
  linalg::AllPairsOptions ao;
  ao.workers = threads;
  double share = 1;  // this rank's fraction of the tile FLOPs
  const Result hist = measure([&] {
    const linalg::AllPairsStats s = linalg::all_pairs(U, ao);
    share = s.local_flops / s.tile_flops;
    return useful * share;
  });
  linalg::TopKOptions to;
  to.k = k;
  to.workers = threads;
  // topk deals the same tiles as the histogram pass (tile t to rank t mod P): the same share.
  const Result topk = measure([&] {
    const linalg::TopK t = linalg::topk_all(U, to);
    (void)t;
    return useful * share;
  });
  // --distribute rows: each rank holds only its block of rows; the blocks circulate (linalg/ring.hpp).
  const linalg::RowLayout layout = linalg::row_layout(n, ao.tile, P);
  const arma::fmat block = layout.rows(world.rank())
                               ? arma::fmat(U.cols(layout.lo(world.rank()), layout.hi(world.rank()) - 1))
                               : arma::fmat(d, 0);
  double rows_share = 1;
  const Result rhist = measure([&] {
    const linalg::AllPairsStats s = linalg::all_pairs_rows(block, n, ao);
    rows_share = s.local_flops / s.tile_flops;
    return useful * rows_share;
  });
  const Result rtopk = measure([&] {
    const linalg::TopK t = linalg::topk_all_rows(block, n, to);
    (void)t;
    return useful * rows_share;
  });
  if (world.root()) {
    fmt::print(
        "bench_mpi: n = {}, d = {}, k = {}, {} rank(s) x {} thread(s); tile SGEMM {:.1f} GFLOP/s per rank (min "
        "over ranks {:.1f})\n",
        n, d, k, P, threads, tile_peak, *std::min_element(peaks.begin(), peaks.end()));
    fmt::print(
        "| kernel | wall s | GFLOP/s useful (job) | per-rank % of its SGEMM (min) | bytes sent per rank (max) |\n");
    fmt::print("|---|---|---|---|---|\n");
    fmt::print("| all-rows top-{} | {:.3f} | {:.1f} | {:.0f} | {} |\n", k, topk.seconds, useful / topk.seconds / 1e9,
               topk.rate_pct_min, topk.bytes_max);
    fmt::print("| all-pairs histogram | {:.3f} | {:.1f} | {:.0f} | {} |\n", hist.seconds, useful / hist.seconds / 1e9,
               hist.rate_pct_min, hist.bytes_max);
    fmt::print("| all-rows top-{}, --distribute rows | {:.3f} | {:.1f} | {:.0f} | {} |\n", k, rtopk.seconds,
               useful / rtopk.seconds / 1e9, rtopk.rate_pct_min, rtopk.bytes_max);
    fmt::print("| all-pairs histogram, --distribute rows | {:.3f} | {:.1f} | {:.0f} | {} |\n", rhist.seconds,
               useful / rhist.seconds / 1e9, rhist.rate_pct_min, rhist.bytes_max);
    fmt::print("RESULT rows_topk={:.4f} rows_topk_bytes={} rows_hist={:.4f} rows_hist_bytes={}\n", rtopk.seconds,
               rtopk.bytes_max, rhist.seconds, rhist.bytes_max);
    fmt::print(
        "RESULT ranks={} threads={} n={} d={} tile_peak={:.2f} topk={:.4f} topk_pct={:.1f} topk_bytes={} hist={:.4f} "
        "hist_pct={:.1f} hist_bytes={}\n",
        P, threads, n, d, tile_peak, topk.seconds, topk.rate_pct_min, topk.bytes_max, hist.seconds, hist.rate_pct_min,
        hist.bytes_max);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return embedlab::bench::guarded_main(run, argc, argv); }
