#pragma once
// Anisotropy summaries of a set of unit vectors U (d, n), column j = token j.
//
// IsoScore (Rudman et al. 2022) is not implemented: no reference implementation or published
// worked examples were available here to verify it against.
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

}  // namespace embedlab::linalg
