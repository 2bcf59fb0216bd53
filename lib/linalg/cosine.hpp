#pragma once
// Exact cosines for pairs and small token sets (the local view; the full vocabulary goes through
// allpairs.hpp / topk.hpp).
//
// E is (d, n) float, column j = token j, any scale: each requested column is normalised in double,
// dot products accumulate in double and results are clamped to [-1, 1]. A zero or non-finite column
// has no cosine: Error(Exit::data) naming the column.
#include <armadillo>

namespace embedlab::linalg {

// cos(E(:, a[i]), E(:, b[i])) for each i; a and b have the same length. Identical ids give exactly 1.
arma::vec cosine_pairs(const arma::fmat& E, const arma::uvec& a, const arma::uvec& b);

// Local cosine matrix S for the token list `ids` (m): S is (m, m) double, symmetric,
// S(i, j) = cos(E(:, ids[i]), E(:, ids[j])) clamped to [-1, 1], diagonal exactly 1.
arma::mat local_cosine(const arma::fmat& E, const arma::uvec& ids);

// max over all pairs i < j of the token list of | ||x̂_i - x̂_j||² - (2 - 2 cos_ij) |, every term
// computed in double from the float columns (a numeric check of the identity; ~1e-15 expected).
double unit_distance_identity_error(const arma::fmat& E, const arma::uvec& ids);

}  // namespace embedlab::linalg
