#include "linalg/anisotropy.hpp"

#include "core/error.hpp"
#include "core/threads.hpp"
#include "linalg/spectra.hpp"

#include <fmt/format.h>

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

double iso_score(const arma::fmat& E, int workers) {
  const arma::uword d = E.n_rows, n = E.n_cols;
  if (d < 2 || n < d)
    fail(Exit::usage, "iso_score", "matrix", fmt::format("needs n >= d >= 2 (got d = {}, n = {})", d, n));
  const Pca p = pca(E, true, workers);
  const double norm = arma::norm(p.variance);
  if (norm == 0.0) data_error("iso_score", "matrix", "all points are equal (zero variance)");
  const double dd = static_cast<double>(d), root = std::sqrt(dd);
  const arma::vec v = p.variance * (root / norm);
  const double defect = arma::norm(v - 1.0) / std::sqrt(2.0 * (dd - root));
  const double t = dd - defect * defect * (dd - root);
  return (t * t - dd) / (dd * (dd - 1.0));
}

}  // namespace embedlab::linalg
