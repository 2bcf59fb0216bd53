// Benchmark of the linalg engine on a seeded random vocabulary (GPT-2 shape by default):
// SGEMM peak, all-rows top-10, the all-pairs histogram pass (GFLOP/s and % of peak), the Gram
// moments, peak RSS. Prints one markdown table row per item.
//   bench_engine [--n 50257] [--d 768] [--k 10] [--tile 2048] [--threads T]
#include "bench_util.hpp"
#include "core/progress.hpp"
#include "core/rng.hpp"
#include "core/threads.hpp"
#include "linalg/allpairs.hpp"
#include "linalg/normalize.hpp"
#include "linalg/topk.hpp"

#include <cblas.h>
#include <fmt/format.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

using embedlab::bench::seconds_since;

// Best of `reps` timed calls of C (m, m) = Aᵀ A with A (d, m).
double sgemm_gflops(const arma::fmat& U, arma::uword m, int reps) {
  arma::fmat C(m, m);
  const int d = static_cast<int>(U.n_rows), mi = static_cast<int>(m);
  double best = 0;
  for (int r = 0; r <= reps; ++r) {
    const auto t0 = embedlab::bench::Clock::now();
    cblas_sgemm(CblasColMajor, CblasTrans, CblasNoTrans, mi, mi, d, 1.0f, U.memptr(), d, U.colptr(U.n_cols - m), d,
                0.0f, C.memptr(), mi);
    const double s = seconds_since(t0);
    if (r > 0) best = std::max(best, 2.0 * m * m * d / s / 1e9);  // first call warms up
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace embedlab;
  arma::uword n = 50257, d = 768, k = 10, tile = 2048;
  int threads = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 >= argc) {
      fmt::print(stderr, "error: {} needs a value\n", a);
      return 64;
    }
    const auto v = std::strtoull(argv[++i], nullptr, 10);
    if (a == "--n")
      n = v;
    else if (a == "--d")
      d = v;
    else if (a == "--k")
      k = v;
    else if (a == "--tile")
      tile = v;
    else if (a == "--threads")
      threads = static_cast<int>(v);
    else {
      fmt::print(stderr, "usage: bench_engine [--n N] [--d D] [--k K] [--tile T] [--threads T]\n");
      return 64;
    }
  }
  if (threads > 0) set_threads(threads);
  try {
    // Seeded standard normal (d, n), rows normalised.
    Rng rng(20261126);
    arma::fmat E(d, n);
    for (auto& x : E) x = static_cast<float>(rng.normal());
    const arma::fmat U = linalg::normalize_rows(E).unit;
    E.reset();

    const int t = threads > 0 ? threads : embedlab::threads();
    fmt::print("bench_engine: n = {}, d = {}, k = {}, tile = {}, threads = {}\n\n", n, d, k, tile, t);
    fmt::print("| item | value | unit | note |\n|---|---|---|---|\n");

    const arma::uword m = std::min<arma::uword>(n, 4096);
    const double peak = sgemm_gflops(U, m, 3);
    fmt::print("| SGEMM peak | {:.1f} | GFLOP/s | one {}x{}x{} sgemm, OpenBLAS {} threads, best of 3 |\n", peak, m, m,
               d, t);
    double peak1 = 0;
    {
      const int prev = embedlab::threads();
      set_threads(1);
      peak1 = sgemm_gflops(U, std::min<arma::uword>(n, tile), 3);
      set_threads(prev);
    }
    fmt::print("| SGEMM 1 thread | {:.1f} | GFLOP/s | one {}-tile sgemm (what each worker runs) |\n", peak1,
               std::min<arma::uword>(n, tile));

    auto t0 = embedlab::bench::Clock::now();
    const linalg::PairMoments mom = linalg::pair_moments(U);
    fmt::print("| pair moments (Gram, double) | {:.2f} | s | mean cos {:.6g}, var {:.6g} |\n", seconds_since(t0),
               mom.mean, mom.variance);

    const double pairs = static_cast<double>(n) * (n - 1) / 2.0;
    double topk_s = 0, hist_s = 0, hist_pct = 0;
    {
      Progress progress("top-k", static_cast<std::uint64_t>(pairs), "pairs");
      linalg::TopKOptions o;
      o.k = k;
      o.tile = tile;
      o.progress = [&](std::uint64_t done, std::uint64_t) { progress.update(done); };
      t0 = embedlab::bench::Clock::now();
      const linalg::TopK r = linalg::topk_all(U, o);
      const double s = seconds_since(t0);
      progress.finish();
      topk_s = s;
      fmt::print("| all-rows top-{} | {:.2f} | s | {:.1f} GFLOP/s useful, {:.0f}% of peak; first row ids {} {} |\n", k,
                 s, pairs * 2.0 * d / s / 1e9, 100.0 * pairs * 2.0 * d / s / 1e9 / peak, r.ids(0, 0),
                 r.ids.n_cols > 1 ? r.ids(0, 1) : 0);
    }
    {
      Progress progress("all-pairs histogram", static_cast<std::uint64_t>(pairs), "pairs");
      linalg::AllPairsOptions o;
      o.tile = tile;
      o.progress = [&](std::uint64_t done, std::uint64_t) { progress.update(done); };
      t0 = embedlab::bench::Clock::now();
      const linalg::AllPairsStats st = linalg::all_pairs(U, o);
      const double s = seconds_since(t0);
      progress.finish();
      const double gf = pairs * 2.0 * d / s / 1e9;  // upper-triangle FLOPs only: n(n-1)d
      hist_s = s;
      hist_pct = 100.0 * gf / peak;
      fmt::print("| histogram pass | {:.2f} | s | {} bins, mean {:.6g} (moments {:.6g}), median {:.4g} |\n", s,
                 st.counts.size(), st.mean(), mom.mean, st.quantile(0.5));
      fmt::print("| histogram pass | {:.1f} | GFLOP/s | upper-triangle FLOPs n(n-1)d |\n", gf);
      fmt::print("| histogram pass | {:.0f} | % of SGEMM peak | |\n", 100.0 * gf / peak);
    }
    const double rss = static_cast<double>(embedlab::bench::peak_rss_bytes()) / 1048576.0;
    const double matrix = static_cast<double>(n) * d * 4 / 1048576.0;
    fmt::print("| peak RSS | {:.0f} | MiB | VmHWM; the matrix alone is {:.0f} MiB |\n", rss, matrix);
    fmt::print("RESULT peak={:.2f} topk={:.4f} hist={:.4f} hist_pct={:.2f} rss_mib={:.1f} matrix_mib={:.1f}\n", peak,
               topk_s, hist_s, hist_pct, rss, matrix);
  } catch (const Error& e) {
    fmt::print(stderr, "error: {}\n", e.what());
    return e.exit_code();
  }
  return 0;
}
