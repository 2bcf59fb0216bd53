#pragma once
// Spectra: eigen-decomposition of a local cosine matrix, PCA/SVD of an embedding matrix through
// its d×d Gram/covariance (n ≫ d), and the "all-but-the-top" post-processing
// (Mu & Viswanath 2018, "All-but-the-Top: Simple and Effective Postprocessing for Word
// Representations").
//
// E is (d, n) float, column j = token j. Everything accumulates in double. Eigenvector signs are
// fixed (largest-|.| entry positive) so results are reproducible.
#include <armadillo>

namespace embedlab::linalg {

struct EigenDecomposition {
  arma::vec values;   // (m) descending
  arma::mat vectors;  // (m, m) column i is the unit eigenvector of values[i]: S u = λ u
  arma::vec shares;   // (m) λ_i / Σλ (Σλ = trace S); NaN when the trace is 0
};

// S must be square, symmetric (checked to 1e-12 relative) and finite.
EigenDecomposition eigen_symmetric(const arma::mat& S);

struct Pca {
  bool centered = true;
  arma::vec mean;             // (d) column mean in double (zeros when not centred)
  arma::mat components;       // (d, d) column i = i-th principal direction (descending)
  arma::vec singular_values;  // (d) σ_i of the (centred) d×n data matrix: σ_i² = eigenvalue of Y Yᵀ
  arma::vec variance;         // (d) σ_i² / (n − 1) centred, σ_i² / n uncentred
  arma::vec shares;           // (d) σ_i² / Σσ²
};

// PCA/SVD of the columns of E through Y Yᵀ (d, d) (Y = E − mean when centred); workers <= 0: the
// OpenBLAS thread setting (the result does not depend on it).
Pca pca(const arma::fmat& E, bool centered = true, int workers = 0);

// All-but-the-top: subtract the mean, then remove the projections on the top `D` principal
// directions of the centred data: x' = (x − μ) − Σ_{i<D} u_i u_iᵀ (x − μ). Returns (d, n) float
// (computed in double). D must be <= d.
arma::fmat all_but_the_top(const arma::fmat& E, arma::uword D, int workers = 0);
// The same with the centred PCA of E computed once (several D over one matrix): `p` must be
// pca(E, true).
arma::fmat all_but_the_top(const arma::fmat& E, const Pca& p, arma::uword D);

}  // namespace embedlab::linalg
