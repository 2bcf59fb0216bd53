#include "linalg/anisotropy.hpp"

#include "core/error.hpp"

#include <fmt/format.h>

namespace embedlab::linalg {

Anisotropy anisotropy(const GramStats& g) {
  if (g.n < 2) fail(Exit::usage, "anisotropy", "matrix", fmt::format("needs at least 2 columns (got {})", g.n));
  Anisotropy a;
  a.moments = pair_moments(g);
  a.mean_cosine = a.moments.mean;
  a.mean_unit_norm = arma::norm(g.sum / static_cast<double>(g.n));
  const arma::vec lambda = arma::eig_sym(g.gram);  // ascending
  const double trace = arma::trace(g.gram);
  a.top_sv_share = trace > 0 ? lambda.max() / trace : 0.0;
  return a;
}

Anisotropy anisotropy(const arma::fmat& U, int workers) {
  if (!U.is_finite()) data_error("anisotropy", "matrix", "non-finite entries");
  return anisotropy(gram_stats(U, nullptr, workers));
}

}  // namespace embedlab::linalg
