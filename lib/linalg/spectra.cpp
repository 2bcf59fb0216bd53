#include "linalg/spectra.hpp"

#include "core/error.hpp"
#include "linalg/allpairs.hpp"

#include <fmt/format.h>

#include <cmath>

namespace embedlab::linalg {

namespace {

// Descending eigen-pairs of a symmetric matrix with the sign of each vector fixed.
void eig_desc(const arma::mat& S, arma::vec& values, arma::mat& vectors, const char* what) {
  arma::vec v;
  arma::mat V;
  if (!arma::eig_sym(v, V, S)) fail(Exit::data, what, "eig_sym", "eigen-decomposition did not converge");
  values = arma::flipud(v);
  vectors = arma::fliplr(V);
  for (arma::uword c = 0; c < vectors.n_cols; ++c) {
    const arma::uword at = arma::index_max(arma::abs(vectors.col(c)));
    if (vectors(at, c) < 0) vectors.col(c) *= -1.0;
  }
}

arma::vec shares_of(const arma::vec& values) {
  const double total = arma::accu(values);
  if (total == 0.0) return arma::vec(values.n_elem, arma::fill::value(arma::datum::nan));
  return values / total;
}

}  // namespace

EigenDecomposition eigen_symmetric(const arma::mat& S) {
  if (!S.is_square())
    fail(Exit::usage, "eigen_symmetric", "matrix", fmt::format("not square (got {}x{})", S.n_rows, S.n_cols));
  if (!S.is_finite()) data_error("eigen_symmetric", "matrix", "non-finite entries");
  const double scale = std::max(1.0, arma::abs(S).max());
  const double asym = S.n_elem ? arma::abs(S - S.t()).max() : 0.0;
  if (asym > 1e-12 * scale)
    data_error("eigen_symmetric", "matrix", fmt::format("not symmetric (max |S - Sᵀ| = {:.3g})", asym));
  EigenDecomposition out;
  eig_desc(arma::symmatu(S), out.values, out.vectors, "eigen_symmetric");
  out.shares = shares_of(out.values);
  return out;
}

Pca pca(const arma::fmat& E, bool centered, int workers) {
  const arma::uword d = E.n_rows, n = E.n_cols;
  if (n < 2) fail(Exit::usage, "pca", "matrix", fmt::format("needs at least 2 columns (got {})", n));
  if (!E.is_finite()) data_error("pca", "matrix", "non-finite entries");
  Pca out;
  out.centered = centered;
  out.mean.zeros(d);
  if (centered) {
    // Column sum in double, in order.
    for (arma::uword j = 0; j < n; ++j) {
      const float* x = E.colptr(j);
      for (arma::uword r = 0; r < d; ++r) out.mean[r] += x[r];
    }
    out.mean /= static_cast<double>(n);
  }
  const GramStats g = gram_stats(E, centered ? &out.mean : nullptr, workers);
  arma::vec lambda;
  eig_desc(g.gram, lambda, out.components, "pca");
  lambda.transform([](double v) { return v < 0 ? 0.0 : v; });  // rounding below zero
  out.singular_values = arma::sqrt(lambda);
  out.variance = lambda / static_cast<double>(centered ? n - 1 : n);
  out.shares = shares_of(lambda);
  return out;
}

arma::fmat all_but_the_top(const arma::fmat& E, arma::uword D, int workers) {
  if (D > E.n_rows)
    fail(Exit::usage, "all_but_the_top", "D", fmt::format("too large (got {}, expected <= {})", D, E.n_rows));
  return all_but_the_top(E, pca(E, true, workers), D);
}

arma::fmat all_but_the_top(const arma::fmat& E, const Pca& p, arma::uword D) {
  const arma::uword d = E.n_rows, n = E.n_cols;
  if (D > d) fail(Exit::usage, "all_but_the_top", "D", fmt::format("too large (got {}, expected <= {})", D, d));
  if (!p.centered || p.components.n_rows != d || p.mean.n_elem != d)
    fail(Exit::usage, "all_but_the_top", "pca",
         fmt::format("not the centred PCA of a {}-dimensional matrix (got {} rows, centred {})", d, p.components.n_rows,
                     p.centered));
  const arma::mat Ud = p.components.head_cols(D);  // (d, D)
  arma::fmat out(d, n);
  constexpr arma::uword kBlock = 4096;
  for (arma::uword a = 0; a < n; a += kBlock) {
    const arma::uword bcols = std::min(kBlock, n - a);
    arma::mat Y = arma::conv_to<arma::mat>::from(E.cols(a, a + bcols - 1));  // (d, block)
    Y.each_col() -= p.mean;
    if (D) Y -= Ud * (Ud.t() * Y);
    out.cols(a, a + bcols - 1) = arma::conv_to<arma::fmat>::from(Y);
  }
  return out;
}

}  // namespace embedlab::linalg
