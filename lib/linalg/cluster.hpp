#pragma once
// Clustering of a local neighbourhood: spherical k-means on unit vectors, average-linkage
// agglomerative clustering on a similarity matrix, and the silhouette score. All in double;
// labels are 0..k-1, numbered in order of first appearance (item 0 is always in cluster 0), so
// equal partitions give equal label vectors.
#include "core/rng.hpp"

#include <armadillo>

#include <cstddef>
#include <vector>

namespace embedlab::linalg {

using Labels = std::vector<std::size_t>;

struct KMeansOptions {
  std::size_t k = 2;
  std::size_t max_iter = 100;  // Lloyd iterations per restart
  std::size_t n_init = 10;     // restarts; the best objective wins (earliest on ties)
};

struct KMeansResult {
  Labels labels;               // m labels
  arma::mat centroids;         // d x k unit columns, column c = cluster c
  double objective = 0;        // sum over items of cos(item, own centroid); higher is better
  std::size_t iterations = 0;  // Lloyd iterations of the winning restart
  bool converged = false;      // winning restart stopped because no label changed
};

// Spherical k-means of the m unit columns of X (d x m). Seeding is k-means++ with the cosine
// distance 1 - cos (= half the squared Euclidean distance on the sphere); Lloyd steps assign
// each item to its most similar centroid (ties -> lowest cluster index) and re-normalise the
// cluster sums. An emptied cluster is re-seeded with the item least similar to its own centroid
// (lowest index on ties). Needs 1 <= k <= m, max_iter >= 1, n_init >= 1 (else Error(usage)); columns
// must be finite with norm within 1e-3 of 1 (else Error(data)). Deterministic given rng's state.
KMeansResult spherical_kmeans(const arma::mat& X, const KMeansOptions& opt, Rng& rng);
KMeansResult spherical_kmeans(const arma::fmat& X, const KMeansOptions& opt, Rng& rng);

// Average-linkage (UPGMA) agglomerative clustering on the distance D = 1 - S of a symmetric
// m x m similarity matrix S, merged until k clusters remain (= scipy linkage('average') cut with
// fcluster(criterion='maxclust') when merge heights are distinct). Among equally close cluster
// pairs the one with the lowest (slot i, slot j) wins, where a merged cluster keeps the lower
// slot of its two parts. O(m^2) memory, O(m^2) typical time. Only the upper triangle of S is read
// (here and in the silhouette).
Labels average_linkage(const arma::mat& S, std::size_t k);

// Silhouette of each item on the distance D = 1 - S: s = (b - a) / max(a, b) with a the mean
// distance to the other members of its cluster and b the smallest mean distance to another
// cluster; 0 for members of singleton clusters (as sklearn). Needs 2 <= #clusters <= m - 1.
arma::vec silhouette_samples(const arma::mat& S, const Labels& labels);
double silhouette_score(const arma::mat& S, const Labels& labels);  // mean of silhouette_samples

}  // namespace embedlab::linalg
