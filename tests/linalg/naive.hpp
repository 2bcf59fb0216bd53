#pragma once
// Naive O(n²) double references for the linalg tests.
#include "core/rng.hpp"

#include <armadillo>

#include <algorithm>
#include <vector>

namespace embedlab::test {

// (d, n) float, standard normal entries from the seeded Rng, columns scaled to unit norm in double.
inline arma::fmat random_unit(arma::uword d, arma::uword n, std::uint64_t seed) {
  Rng rng(seed);
  arma::fmat E(d, n);
  for (arma::uword j = 0; j < n; ++j) {
    double s = 0;
    for (arma::uword r = 0; r < d; ++r) {
      E(r, j) = static_cast<float>(rng.normal());
      s += static_cast<double>(E(r, j)) * E(r, j);
    }
    for (arma::uword r = 0; r < d; ++r) E(r, j) = static_cast<float>(E(r, j) / std::sqrt(s));
  }
  return E;
}

// All cosines (n, n) in double from the float unit columns (no renormalisation).
inline arma::mat naive_dots(const arma::fmat& U) {
  const arma::mat X = arma::conv_to<arma::mat>::from(U);
  arma::mat C(U.n_cols, U.n_cols);
  for (arma::uword i = 0; i < U.n_cols; ++i)
    for (arma::uword j = 0; j < U.n_cols; ++j) {
      double s = 0;
      for (arma::uword r = 0; r < U.n_rows; ++r) s += X(r, i) * X(r, j);
      C(i, j) = s;
    }
  return C;
}

struct NaiveNeighbour {
  double cos;
  arma::uword id;
};

// Row i's candidates (self excluded) best first: descending cos, ascending id.
inline std::vector<NaiveNeighbour> naive_ranking(const arma::mat& C, arma::uword i, bool exclude_self = true) {
  std::vector<NaiveNeighbour> r;
  for (arma::uword j = 0; j < C.n_cols; ++j)
    if (!(exclude_self && j == i)) r.push_back({std::min(1.0, std::max(-1.0, C(i, j))), j});
  std::stable_sort(r.begin(), r.end(), [](const NaiveNeighbour& a, const NaiveNeighbour& b) {
    return a.cos > b.cos || (a.cos == b.cos && a.id < b.id);
  });
  return r;
}

}  // namespace embedlab::test
