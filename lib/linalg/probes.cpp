#include "linalg/probes.hpp"

#include "core/error.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace embedlab::linalg {

arma::vec cosines_to(const arma::fmat& U, const arma::vec& v) {
  if (v.n_elem != U.n_rows)
    throw Error(Exit::usage, fmt::format("cosines_to: direction has {} entries (expected {})", v.n_elem, U.n_rows));
  const double norm = arma::norm(v);
  if (!std::isfinite(norm) || norm == 0) throw Error(Exit::data, "cosines_to: the direction is zero or not finite");
  const arma::vec vhat = v / norm;
  arma::vec out(U.n_cols);
  // Column by column in double: n·d work, no n-sized float intermediate.
  for (arma::uword j = 0; j < U.n_cols; ++j) {
    const float* x = U.colptr(j);
    double dot = 0;
    for (arma::uword k = 0; k < U.n_rows; ++k) dot += static_cast<double>(x[k]) * vhat[k];
    out[j] = std::clamp(dot, -1.0, 1.0);
  }
  return out;
}

arma::fmat gaussian_like(const Pca& p, arma::uword n, Rng& rng, bool with_mean) {
  const arma::uword d = p.components.n_rows;
  if (n == 0) throw Error(Exit::usage, "gaussian_like: need at least one sample");
  if (p.variance.n_elem != p.components.n_cols || p.mean.n_elem != d)
    throw Error(Exit::usage, "gaussian_like: inconsistent PCA (components, variance, mean)");
  // Scaled directions A (d, r): column i = √var_i u_i, so x = μ + A z with z ~ N(0, I_r).
  arma::mat A = p.components;
  for (arma::uword i = 0; i < A.n_cols; ++i) A.col(i) *= std::sqrt(std::max(0.0, p.variance[i]));
  arma::mat Z(A.n_cols, n);
  for (arma::uword j = 0; j < n; ++j)
    for (arma::uword i = 0; i < A.n_cols; ++i) Z(i, j) = rng.normal();
  arma::mat X = A * Z;  // (d, n)
  if (with_mean) X.each_col() += p.mean;
  return arma::conv_to<arma::fmat>::from(X);
}

}  // namespace embedlab::linalg
