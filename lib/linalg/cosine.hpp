#pragma once
// Exact cosines for pairs and small token sets (the local view; the full vocabulary goes through
// allpairs.hpp / topk.hpp).
//
// E is (d, n) float, column j = token j, any scale: each requested column is normalised in double,
// dot products accumulate in double and results are clamped to [-1, 1]. A zero or non-finite column
// has no cosine: Error(Exit::data) naming the column.
#include <armadillo>

namespace embedlab::linalg {

// Local cosine matrix S for the token list `ids` (m): S is (m, m) double, symmetric,
// S(i, j) = cos(E(:, ids[i]), E(:, ids[j])) clamped to [-1, 1], diagonal exactly 1.
arma::mat local_cosine(const arma::fmat& E, const arma::uvec& ids);

// max over all pairs i < j of | ||x̂_i - x̂_j||² - (2 - 2 cos θ_ij) | where x̂ are the unit columns
// the analysis used (float, d × m) and cos θ_ij = r_i·r_j / (|r_i||r_j|) comes from the raw columns
// r (double, d × m, any scale) they were normalised from. Both sides from the same unit vectors
// would agree by algebra whatever the normalisation did; against the raw data the error is the
// float rounding of x̂ (~1e-7) and exposes a wrong unit vector. Sizes must match, raw columns be
// non-zero and finite (else Error).
double unit_distance_identity_error(const arma::fmat& unit, const arma::mat& raw);

}  // namespace embedlab::linalg
