// Benchmark of linalg/diagnostics on a seeded random vocabulary (GPT-2 shape by default): one
// all-rows top-k pass (linalg::topk_all, the unit of cost), then linalg::diagnostics without and with
// CSLS and the standardized rogue dimensions, each as a multiple of that pass.
//   bench_diagnostics [--n 50257] [--d 768] [--k 10] [--threads T]
#include "bench_util.hpp"
#include "core/rng.hpp"
#include "core/threads.hpp"
#include "linalg/diagnostics.hpp"
#include "linalg/normalize.hpp"
#include "linalg/topk.hpp"

#include <fmt/format.h>

#include <cstdlib>
#include <string>

namespace {

int run(int argc, char** argv) {
  using namespace embedlab;
  arma::uword n = 50257, d = 768, k = 10;
  int threads = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 >= argc) throw Error(Exit::usage, fmt::format("bench_diagnostics: {} needs a value", a));
    const auto v = std::strtoull(argv[++i], nullptr, 10);
    if (a == "--n")
      n = v;
    else if (a == "--d")
      d = v;
    else if (a == "--k")
      k = v;
    else if (a == "--threads")
      threads = static_cast<int>(v);
    else
      throw Error(Exit::usage, "usage: bench_diagnostics [--n N] [--d D] [--k K] [--threads T]");
  }
  if (threads > 0) set_threads(threads);
  Rng rng(20261126);  // the matrix of bench_engine
  arma::fmat E(d, n);
  for (auto& x : E) x = static_cast<float>(rng.normal());
  const arma::fmat U = linalg::normalize_rows(E).unit;
  fmt::print("bench_diagnostics: n = {}, d = {}, k = {}, threads = {}\n", n, d, k,
             threads > 0 ? threads : embedlab::threads());

  linalg::TopKOptions to;
  to.k = k;
  auto t0 = bench::Clock::now();
  const linalg::TopK top = linalg::topk_all(U, to);
  const double topk = bench::seconds_since(t0);
  fmt::print("all-rows top-{} pass: {:.2f} s\n", k, topk);

  linalg::DiagnosticsOptions o;
  o.k = k;
  t0 = bench::Clock::now();
  const linalg::Diagnostics a = linalg::diagnostics(U, E, o);
  const double plain = bench::seconds_since(t0);
  fmt::print("diagnostics (hubness, TwoNN, rogue dimensions, isotropy): {:.2f} s = {:.2f} passes; {} rows rescanned\n",
             plain, plain / topk, a.knn.rescanned);
  o.csls = true;
  o.standardized = true;
  t0 = bench::Clock::now();
  const linalg::Diagnostics b = linalg::diagnostics(U, E, o);
  const double full = bench::seconds_since(t0);
  fmt::print(
      "diagnostics + CSLS hubness + standardized rogue dimensions: {:.2f} s = {:.2f} passes; {} + {} rows rescanned\n",
      full, full / topk, b.knn.rescanned, b.csls_knn->rescanned);
  fmt::print("hubness skewness {:.4f} (CSLS {:.4f}), TwoNN {:.2f}, mu {:.4g}, IsoScore {:.4f}\n", a.hubness.skewness,
             b.csls_hubness->skewness, a.twonn.dimension, a.isotropy.mu, a.iso_score);
  fmt::print(
      "RESULT topk={:.4f} diagnostics={:.4f} diagnostics_csls={:.4f} ratio={:.4f} ratio_csls={:.4f} rescanned={}\n",
      topk, plain, full, plain / topk, full / topk, a.knn.rescanned);
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return embedlab::bench::guarded_main(run, argc, argv); }
