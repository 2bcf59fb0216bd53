#include "linalg/cosine.hpp"

#include "core/error.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace embedlab::linalg {

namespace {

void check_ids(const arma::fmat& E, const arma::uvec& ids, const char* what) {
  for (arma::uword i = 0; i < ids.n_elem; ++i)
    if (ids[i] >= E.n_cols)
      fail(Exit::usage, "cosine", what,
           fmt::format("token id {} out of range (got {}, expected < {})", i, ids[i], E.n_cols));
}

// X is (d, m) double: the unit columns E(:, ids[i]) / ||E(:, ids[i])||.
arma::mat unit_columns(const arma::fmat& E, const arma::uvec& ids) {
  arma::mat X(E.n_rows, ids.n_elem);
  for (arma::uword i = 0; i < ids.n_elem; ++i) {
    const float* x = E.colptr(ids[i]);
    double* u = X.colptr(i);
    double s = 0.0;
    for (arma::uword r = 0; r < E.n_rows; ++r) {
      u[r] = x[r];
      s += u[r] * u[r];
    }
    if (!std::isfinite(s) || s == 0.0)
      data_error("cosine", fmt::format("token {}", ids[i]),
                 std::isfinite(s) ? "zero vector has no cosine" : "non-finite vector has no cosine");
    X.col(i) /= std::sqrt(s);
  }
  return X;
}

double clamp_cos(double c) { return std::min(1.0, std::max(-1.0, c)); }

}  // namespace

arma::mat local_cosine(const arma::fmat& E, const arma::uvec& ids) {
  check_ids(E, ids, "local set");
  const arma::mat X = unit_columns(E, ids);  // (d, m)
  arma::mat S = X.t() * X;                   // (m, m)
  S = arma::symmatu(S);                      // exact symmetry whatever the BLAS did below the diagonal
  S.transform([](double c) { return clamp_cos(c); });
  S.diag().ones();
  return S;
}

double unit_distance_identity_error(const arma::fmat& unit, const arma::mat& raw) {
  if (unit.n_rows != raw.n_rows || unit.n_cols != raw.n_cols)
    fail(
        Exit::usage, "cosine", "unit_distance_identity_error",
        fmt::format("shape mismatch (got unit {}×{} and raw {}×{})", unit.n_rows, unit.n_cols, raw.n_rows, raw.n_cols));
  const arma::mat X = arma::conv_to<arma::mat>::from(unit);
  arma::vec rn(raw.n_cols);
  for (arma::uword j = 0; j < raw.n_cols; ++j) {
    rn(j) = arma::norm(raw.col(j));
    if (!std::isfinite(rn(j)) || rn(j) == 0.0)
      data_error("cosine", fmt::format("raw column {}", j), "zero or non-finite vector has no cosine");
  }
  double worst = 0.0;
  for (arma::uword j = 0; j < X.n_cols; ++j)
    for (arma::uword i = 0; i < j; ++i) {
      const double dist2 = arma::accu(arma::square(X.col(i) - X.col(j)));
      const double cos = arma::dot(raw.col(i), raw.col(j)) / (rn(i) * rn(j));
      worst = std::max(worst, std::abs(dist2 - (2.0 - 2.0 * cos)));
    }
  return worst;
}

}  // namespace embedlab::linalg
