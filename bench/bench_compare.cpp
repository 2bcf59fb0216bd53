// bench_compare [--n 50257] [--d 768] [--threads 2] [--perms 8] [--glove FILE]
//
// The space-comparison metrics at GPT-2 size (seeded normal n×d against a related n×d):
//   whole-vocabulary linear + debiased CKA and Procrustes (one Comparison, O(n·d²): float Gram
//   products summed in double), without and with the Procrustes rotation + displacements;
//   permutations of linear CKA (one n×d·n×d SGEMM each, the self terms reused) against the SGEMM
//   peak of the same product (OpenBLAS, `threads` threads);
//   1000 permutations of the GloVe subset halves (3091 × 25 vs 3091 × 25), linear family.
// Prints `RESULT key=value …` for scripts/bench.sh (peer: scripts/bench_compare_numpy.py).
#include "bench_util.hpp"
#include "core/error.hpp"
#include "core/rng.hpp"
#include "core/threads.hpp"
#include "io/embedding.hpp"
#include "rsa/similarity_metrics.hpp"

#include <cblas.h>
#include <fmt/format.h>

#include <cstring>
#include <filesystem>

using namespace embedlab;
namespace rsa = embedlab::rsa;

namespace {

arma::mat normal(arma::uword d, arma::uword n, Rng& rng) {
  arma::mat X(d, n);
  rng.fill_normal(X.memptr(), X.n_elem);
  return X;
}

int run(int argc, char** argv) {
  arma::uword n = 50257, d = 768;
  int threads = 2;
  std::size_t perms = 8;
  std::string glove = "tests/data/glove-6B-50d-subset/glove.6B.50d.subset3091.txt";
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--n"))
      n = std::stoul(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--d"))
      d = std::stoul(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--threads"))
      threads = std::stoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--perms"))
      perms = std::stoul(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--glove"))
      glove = argv[i + 1];
    else
      throw Error(Exit::usage, fmt::format("bench_compare: unknown option '{}'", argv[i]));
  }
  set_threads(threads);
  Rng rng(20261201);
  const arma::mat X = normal(d, n, rng);
  const arma::mat Y = 0.6 * X + 0.8 * normal(d, n, rng);

  // 1. Whole-vocabulary CKA (both kinds) and Procrustes: one prepared comparison.
  const std::vector<rsa::Metric> linear = {rsa::Metric::linear_cka, rsa::Metric::linear_cka_debiased,
                                           rsa::Metric::procrustes_angular, rsa::Metric::procrustes_residual};
  std::vector<double> v;
  rsa::MetricOptions values_only;
  values_only.procrustes_details = false;
  const double whole = bench::best_of(3, [&] { v = rsa::Comparison(X, Y, linear, values_only).values(); });
  fmt::print(
      "whole vocabulary {}×{} vs {}×{}: linear CKA {:.6f}, debiased {:.6f}, Procrustes angular {:.6f}: {:.3f} s\n", n,
      d, n, d, v[0], v[1], v[2], whole);
  // The same with the Procrustes rotation and the n word displacements (double, n·d² more).
  double moved = 0;
  const double whole_details = bench::best_of(2, [&] {
    const rsa::Comparison c(X, Y, linear);
    moved = c.procrustes().displacement.max();
  });
  fmt::print("  with the Procrustes rotation and every word's displacement (largest {:.6f}): {:.3f} s\n", moved,
             whole_details);

  // 2. SGEMM peak of the permutation's product (p×n · n×q), OpenBLAS with `threads` threads.
  const arma::fmat A = arma::conv_to<arma::fmat>::from(X), B = arma::conv_to<arma::fmat>::from(Y);
  arma::fmat C(d, d);
  const double t_sgemm = bench::best_of(3, [&] {
    cblas_sgemm(CblasColMajor, CblasNoTrans, CblasTrans, static_cast<int>(d), static_cast<int>(d), static_cast<int>(n),
                1.0f, A.memptr(), static_cast<int>(d), B.memptr(), static_cast<int>(d), 0.0f, C.memptr(),
                static_cast<int>(d));
  });
  const double flops = 2.0 * static_cast<double>(n) * static_cast<double>(d) * static_cast<double>(d);
  const double peak = flops / t_sgemm / 1e9;

  // 3. Permutations of linear CKA through calibrate (workers over permutations, 1-thread SGEMM
  // each): the time of P permutations minus the time with none (the shared preparation).
  rsa::CalibrationOptions co;
  co.bootstrap = 0;
  co.workers = threads;
  co.permutations = 0;
  const double t0 = bench::best_of(1, [&] { rsa::calibrate(X, Y, {rsa::Metric::linear_cka}, {}, co, Rng(1)); });
  co.permutations = perms;
  const double tp = bench::best_of(1, [&] { rsa::calibrate(X, Y, {rsa::Metric::linear_cka}, {}, co, Rng(1)); });
  const double per_perm = std::max(tp - t0, 1e-9) / static_cast<double>(perms);
  const double perm_gflops = flops / per_perm / 1e9;
  fmt::print(
      "SGEMM {}×{}×{}: {:.3f} s ({:.1f} GFLOP/s); a permutation of linear CKA: {:.3f} s ({:.1f} GFLOP/s, "
      "{:.0f}% of the SGEMM peak; {} permutations over {} workers)\n",
      d, n, d, t_sgemm, peak, per_perm, perm_gflops, 100.0 * perm_gflops / peak, perms, threads);

  // 4. 1000 permutations of the GloVe subset halves (linear family).
  double glove_s = -1;
  if (std::filesystem::exists(glove)) {
    io::LoadOptions lo;
    lo.path = glove;
    const auto e = io::load_embeddings(lo);
    const arma::mat G = arma::conv_to<arma::mat>::from(e.vectors);
    const arma::uword h = G.n_rows / 2;
    const arma::mat GX = G.rows(0, h - 1), GY = G.rows(h, G.n_rows - 1);
    rsa::CalibrationOptions g;
    g.permutations = 1000;
    g.bootstrap = 0;
    g.workers = threads;
    const std::vector<rsa::Metric> fam = {rsa::Metric::linear_cka, rsa::Metric::linear_cka_debiased,
                                          rsa::Metric::procrustes_angular, rsa::Metric::svcca};
    std::vector<rsa::Calibrated> r;
    glove_s = bench::best_of(3, [&] { r = rsa::calibrate(GX, GY, fam, {}, g, Rng(1)); });
    fmt::print(
        "GloVe subset halves {}×{}: 1000 permutations of linear CKA, debiased CKA, Procrustes, SVCCA: "
        "{:.3f} s (linear CKA {:.6f}, p {:.4f})\n",
        G.n_cols, h, glove_s, r[0].value, r[0].p_value);
  } else {
    fmt::print("GloVe subset not found at {}: its row is skipped\n", glove);
  }
  fmt::print(
      "RESULT whole={:.4f} whole_details={:.4f} sgemm_gflops={:.2f} perm_seconds={:.4f} perm_gflops={:.2f} "
      "perm_pct={:.1f} "
      "glove_perms={:.4f} n={} d={}\n",
      whole, whole_details, peak, per_perm, perm_gflops, 100.0 * perm_gflops / peak, glove_s, n, d);
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return bench::guarded_main(run, argc, argv); }
