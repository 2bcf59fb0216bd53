#pragma once
// Small probes of an embedding space used by the geometry experiments: cosines of every column
// with one direction, a Gaussian cloud with a given PCA (mean + covariance), block-averaged
// downsampling of a matrix for images, and mean similarity by index offset (position embeddings).
//
// U / E are (d, n) float, column j = token j. Everything accumulates in double.
#include "core/rng.hpp"
#include "linalg/spectra.hpp"

#include <armadillo>

namespace embedlab::linalg {

// cos(U(:, j), v) for every column j of the UNIT columns U (n), clamped to [-1, 1]; v (d) any
// non-zero finite vector (Error(data) otherwise).
arma::vec cosines_to(const arma::fmat& U, const arma::vec& v);

// n samples x = μ + Σ_i √var_i z_i u_i (z_i ~ N(0, 1) from rng), i.e. N(μ, C) with the mean and the
// covariance C = Σ_i var_i u_i u_iᵀ of `p` (a centred linalg::pca). with_mean = false draws N(0, C).
// Returns (d, n) float. Deterministic given the rng state; n >= 1.
arma::fmat gaussian_like(const Pca& p, arma::uword n, Rng& rng, bool with_mean = true);

}  // namespace embedlab::linalg
