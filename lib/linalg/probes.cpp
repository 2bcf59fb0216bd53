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

arma::mat block_average(const arma::mat& M, arma::uword max_side) {
  if (max_side == 0) throw Error(Exit::usage, "block_average: max_side must be at least 1");
  const arma::uword br = std::max<arma::uword>(1, (M.n_rows + max_side - 1) / max_side);
  const arma::uword bc = std::max<arma::uword>(1, (M.n_cols + max_side - 1) / max_side);
  const arma::uword r = (M.n_rows + br - 1) / br, c = (M.n_cols + bc - 1) / bc;
  arma::mat out(r, c);
  for (arma::uword J = 0; J < c; ++J)
    for (arma::uword I = 0; I < r; ++I) {
      const arma::uword i1 = std::min(M.n_rows, (I + 1) * br) - 1, j1 = std::min(M.n_cols, (J + 1) * bc) - 1;
      out(I, J) = arma::mean(arma::vectorise(M.submat(I * br, J * bc, i1, j1)));
    }
  return out;
}

OffsetProfile offset_profile(const arma::mat& S) {
  if (S.n_rows != S.n_cols || S.n_rows == 0)
    throw Error(Exit::usage,
                fmt::format("offset_profile: need a non-empty square matrix (got {}x{})", S.n_rows, S.n_cols));
  const arma::uword n = S.n_rows;
  OffsetProfile p;
  p.mean.zeros(n);
  p.sd.zeros(n);
  p.count.zeros(n);
  for (arma::uword k = 0; k < n; ++k) {
    const arma::vec diag = S.diag(static_cast<arma::sword>(k));  // S(i, i + k)
    const double m = arma::mean(diag);
    p.mean[k] = m;
    p.sd[k] = std::sqrt(arma::mean(arma::square(diag - m)));
    p.count[k] = n - k;
  }
  return p;
}

}  // namespace embedlab::linalg
