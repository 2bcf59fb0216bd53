#pragma once
// Representational dissimilarity matrices (RDMs) of a set of items.
#include <armadillo>

#include <string_view>

namespace embedlab::rsa {

enum class Dissimilarity {
  cosine,       // 1 - cos(x_i, x_j)                      (scipy pdist 'cosine')
  correlation,  // 1 - Pearson(x_i, x_j) over dimensions  (scipy pdist 'correlation')
  euclidean,    // |x_i - x_j|                            (scipy pdist 'euclidean')
};
Dissimilarity parse_dissimilarity(std::string_view name);  // "cosine" | "correlation" | "euclidean"
std::string_view to_string(Dissimilarity d);

// The m x m RDM of the items X (d x m, column = item), symmetric with an exact zero diagonal,
// computed in double (cosines clamped to [-1, 1]). Needs m >= 2, finite X; a zero column (cosine)
// or a constant column (correlation) throws Error(data) naming the item.
arma::mat rdm(const arma::mat& X, Dissimilarity d);
arma::mat rdm(const arma::fmat& X, Dissimilarity d);

// The upper triangle (i < j) as a vector in scipy's condensed order (0,1), (0,2), ..., (1,2), ...
arma::vec upper_triangle(const arma::mat& R);

}  // namespace embedlab::rsa
