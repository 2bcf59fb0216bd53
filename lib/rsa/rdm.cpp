#include "rsa/rdm.hpp"

#include "core/error.hpp"

#include <algorithm>
#include <cmath>

namespace embedlab::rsa {

Dissimilarity parse_dissimilarity(std::string_view name) {
  if (name == "cosine") return Dissimilarity::cosine;
  if (name == "correlation") return Dissimilarity::correlation;
  if (name == "euclidean") return Dissimilarity::euclidean;
  fail(Exit::usage, "rsa", "dissimilarity",
       fmt::format("unknown '{}' (expected cosine, correlation or euclidean)", name));
}

std::string_view to_string(Dissimilarity d) {
  switch (d) {
    case Dissimilarity::cosine:
      return "cosine";
    case Dissimilarity::correlation:
      return "correlation";
    case Dissimilarity::euclidean:
      return "euclidean";
  }
  return "?";
}

arma::mat rdm(const arma::mat& X, Dissimilarity d) {
  const std::size_t m = X.n_cols;
  if (m < 2 || X.n_rows == 0)
    fail(Exit::usage, "rsa", "rdm", fmt::format("{}x{} items matrix (expected d >= 1, m >= 2)", X.n_rows, m));
  if (!X.is_finite()) data_error("rsa", "rdm", "NaN or Inf in items");
  arma::mat R(m, m);
  if (d == Dissimilarity::euclidean) {
    // Direct differences (not |a|^2 + |b|^2 - 2ab) so near-identical items keep full precision.
    for (std::size_t j = 0; j < m; ++j) {
      R(j, j) = 0.0;
      for (std::size_t i = 0; i < j; ++i) {
        double s = 0.0;
        for (std::size_t r = 0; r < X.n_rows; ++r) {
          const double t = X(r, i) - X(r, j);
          s += t * t;
        }
        R(i, j) = R(j, i) = std::sqrt(s);
      }
    }
    return R;
  }
  arma::mat U = X;  // (d, m) items, centred for correlation, then unit columns
  if (d == Dissimilarity::correlation) U.each_row() -= arma::mean(U, 0);
  for (std::size_t j = 0; j < m; ++j) {
    const double nrm = arma::norm(U.col(j));
    if (!(nrm > 0.0))
      data_error(
          "rsa", fmt::format("rdm: item {}", j),
          d == Dissimilarity::cosine ? "zero vector (cosine undefined)" : "constant vector (correlation undefined)");
    U.col(j) /= nrm;
  }
  const arma::mat G = U.t() * U;  // (m, m)
  for (std::size_t j = 0; j < m; ++j) {
    R(j, j) = 0.0;
    for (std::size_t i = 0; i < j; ++i) R(i, j) = R(j, i) = 1.0 - std::clamp(G(i, j), -1.0, 1.0);
  }
  return R;
}

arma::mat rdm(const arma::fmat& X, Dissimilarity d) { return rdm(arma::conv_to<arma::mat>::from(X), d); }

arma::vec upper_triangle(const arma::mat& R) {
  if (R.n_rows != R.n_cols)
    fail(Exit::usage, "rsa", "upper_triangle", fmt::format("{}x{} (expected square)", R.n_rows, R.n_cols));
  const std::size_t m = R.n_rows;
  arma::vec v(m < 2 ? 0 : m * (m - 1) / 2);
  std::size_t k = 0;
  for (std::size_t i = 0; i < m; ++i)
    for (std::size_t j = i + 1; j < m; ++j) v[k++] = R(i, j);
  return v;
}

}  // namespace embedlab::rsa
