#pragma once
// Anisotropy summaries of a set of unit vectors U (d, n), column j = token j.
//
// IsoScore (Rudman, Gillman, Rayne & Eickhoff, Findings of ACL 2022, "IsoScore: Measuring the
// Uniformity of Embedding Space Utilization"), checked against the authors' Python implementation.
#include "linalg/allpairs.hpp"

#include <armadillo>

namespace embedlab::linalg {

struct Anisotropy {
  double mean_cosine = 0;     // mean over the n(n-1)/2 off-diagonal cosines (exact, from the Gram)
  double mean_unit_norm = 0;  // |m̂|, m̂ = (1/n) Σ_i x̂_i
  double top_sv_share = 0;    // σ₁² / Σσ² of the uncentred U (= λ₁(G) / trace G)
  PairMoments moments;        // the pair moments behind mean_cosine
};

// U must have unit columns (linalg::normalize_rows) and n >= 2.
Anisotropy anisotropy(const arma::fmat& U, int workers = 0);
Anisotropy anisotropy(const GramStats& unit_gram);

// IsoScore of the point cloud E (d, n), n >= d >= 2 (any scale, not normalised): the variances
// along the principal directions v (d) are scaled to norm √d, δ = |v − 1| / √(2(d − √d)), and
// IsoScore = ((d − δ²(d − √d))² − d) / (d(d − 1)): 1 for isotropic clouds, 0 for a line,
// (k − 1)/(d − 1) for k equally used dimensions. Expanding δ² = (d − √d·Σv/|v|)/(d − √d) gives
// d − δ²(d − √d) = √d·Σλ/|λ|₂, so IsoScore = ((Σλ)²/Σλ² − 1)/(d − 1) with λ the covariance's
// eigenvalues: (Σλ)² = tr(S)² and Σλ² = ‖S‖_F², and no eigendecomposition is needed.
// float32_products: the scatter matrix from float32 products of each block of 2048 centred columns
// (the blocks added in double; ~1e-6 relative, twice as fast), else in double throughout.
double iso_score(const arma::fmat& E, int workers = 0, bool float32_products = false);
// The same from the centred Gram (scatter) matrix S of the cloud (any positive scale of S).
double iso_score_from_scatter(const arma::mat& S);

}  // namespace embedlab::linalg
