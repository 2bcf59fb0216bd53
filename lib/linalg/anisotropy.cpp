#include "linalg/anisotropy.hpp"

#include "core/error.hpp"
#include "core/threads.hpp"

#include <cblas.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <vector>

namespace embedlab::linalg {

Anisotropy anisotropy(const GramStats& g) {
  if (g.n < 2) fail(Exit::usage, "anisotropy", "matrix", fmt::format("needs at least 2 columns (got {})", g.n));
  Anisotropy a;
  a.moments = pair_moments(g);
  a.mean_cosine = a.moments.mean;
  a.mean_unit_norm = arma::norm(g.sum / static_cast<double>(g.n));
  // One BLAS thread: LAPACK's result depends in the last bits on OpenBLAS's thread count, and the
  // number must not depend on --threads or on how mpirun binds ranks to cores.
  arma::vec lambda;
  {
    BlasSingleThread single;
    lambda = arma::eig_sym(g.gram);  // ascending
  }
  const double trace = arma::trace(g.gram);
  a.top_sv_share = trace > 0 ? lambda.max() / trace : 0.0;
  return a;
}

Anisotropy anisotropy(const arma::fmat& U, int workers) {
  if (!U.is_finite()) data_error("anisotropy", "matrix", "non-finite entries");
  return anisotropy(gram_stats(U, nullptr, workers));
}

double iso_score_from_scatter(const arma::mat& S) {
  const arma::uword d = S.n_rows;
  if (d < 2 || S.n_cols != d)
    fail(Exit::usage, "iso_score", "scatter",
         fmt::format("needs a square matrix of size >= 2 (got {} × {})", d, S.n_cols));
  const double trace = arma::trace(S), sum_sq = arma::accu(arma::square(S));
  if (!(sum_sq > 0.0)) data_error("iso_score", "matrix", "all points are equal (zero variance)");
  // (Σλ)²/Σλ² lies in [1, d] for a positive semi-definite S; clamped against rounding.
  const double ratio = std::clamp(trace * trace / sum_sq, 1.0, static_cast<double>(d));
  return (ratio - 1.0) / (static_cast<double>(d) - 1.0);
}

namespace {

// Σ_j (e_j − μ)(e_j − μ)ᵀ: blocks of kBlock columns centred in double and rounded to float, one
// single-threaded SSYRK per block, the blocks added in double into kParts fixed partial sums (block
// k into part k mod kParts), the parts added in order: the same for any worker count.
arma::mat centred_scatter_float(const arma::fmat& E, const arma::vec& mean, int workers) {
  constexpr arma::uword kBlock = 2048;
  constexpr int kParts = 2;
  const arma::uword d = E.n_rows, n = E.n_cols, blocks = (n + kBlock - 1) / kBlock;
  std::vector<arma::mat> parts(kParts, arma::mat(d, d, arma::fill::zeros));
  const BlasSingleThread single;
  const int w = std::min(worker_count(workers), kParts);
  run_workers(w, [&](int worker) {
    arma::fmat Y, G(d, d);
    for (int part = worker; part < kParts; part += w)
      for (arma::uword k = static_cast<arma::uword>(part); k < blocks; k += kParts) {
        const arma::uword a = k * kBlock, m = std::min(kBlock, n - a);
        Y.set_size(d, m);
        for (arma::uword j = 0; j < m; ++j) {
          const float* x = E.colptr(a + j);
          float* y = Y.colptr(j);
          for (arma::uword r = 0; r < d; ++r) y[r] = static_cast<float>(static_cast<double>(x[r]) - mean[r]);
        }
        cblas_ssyrk(CblasColMajor, CblasUpper, CblasNoTrans, static_cast<int>(d), static_cast<int>(m), 1.0f, Y.memptr(),
                    static_cast<int>(d), 0.0f, G.memptr(), static_cast<int>(d));
        arma::mat& P = parts[static_cast<std::size_t>(part)];
        for (arma::uword c = 0; c < d; ++c)
          for (arma::uword r = 0; r <= c; ++r) P(r, c) += static_cast<double>(G(r, c));
      }
  });
  arma::mat S = parts[0];
  for (int p = 1; p < kParts; ++p) S += parts[static_cast<std::size_t>(p)];
  return arma::symmatu(S);
}

}  // namespace

double iso_score(const arma::fmat& E, int workers, bool float32_products) {
  const arma::uword d = E.n_rows, n = E.n_cols;
  if (d < 2 || n < d)
    fail(Exit::usage, "iso_score", "matrix", fmt::format("needs n >= d >= 2 (got d = {}, n = {})", d, n));
  if (!E.is_finite()) data_error("iso_score", "matrix", "non-finite entries");
  arma::vec mean(d, arma::fill::zeros);
  for (arma::uword j = 0; j < n; ++j) {  // column sum in double, in order
    const float* x = E.colptr(j);
    for (arma::uword r = 0; r < d; ++r) mean[r] += x[r];
  }
  mean /= static_cast<double>(n);
  return iso_score_from_scatter(float32_products ? centred_scatter_float(E, mean, workers)
                                                 : gram_stats(E, &mean, workers).gram);
}

}  // namespace embedlab::linalg
