#include "linalg/anisotropy.hpp"

#include "core/error.hpp"
#include "core/threads.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

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

double iso_score(const arma::fmat& E, int workers) {
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
  return iso_score_from_scatter(gram_stats(E, &mean, workers).gram);
}

}  // namespace embedlab::linalg
