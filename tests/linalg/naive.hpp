#pragma once
// Naive O(n²) double references for the linalg tests.
#include "core/rng.hpp"

#include <armadillo>

#include <algorithm>
#include <cmath>
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

// M (r, c) averaged over blocks so that neither side exceeds max_side: block edges are
// ceil(r / max_side) × ceil(c / max_side), the last block averaged over its own cells (the brute
// force of linalg::offset_cosine_stats's image).
inline arma::mat block_average(const arma::mat& M, arma::uword max_side) {
  const arma::uword br = std::max<arma::uword>(1, (M.n_rows + max_side - 1) / max_side);
  const arma::uword bc = std::max<arma::uword>(1, (M.n_cols + max_side - 1) / max_side);
  const arma::uword r = (M.n_rows + br - 1) / br, c = (M.n_cols + bc - 1) / bc;
  arma::mat out(r, c);
  for (arma::uword J = 0; J < c; ++J)
    for (arma::uword I = 0; I < r; ++I) {
      const arma::uword i1 = std::min(M.n_rows, (I + 1) * br) - 1, j1 = std::min(M.n_cols, (J + 1) * bc) - 1;
      out(I, J) = arma::mean(arma::vectorise(M.submat(I * br, J * bc, i1, j1)));
    }
  return out;
}

// For a square S (n, n): mean[k] and population sd of S(i, i + k) over i, count[k] = n − k (the
// brute force of linalg::offset_cosine_stats's profile).
struct OffsetProfile {
  arma::vec mean, sd;
  arma::uvec count;
};
inline OffsetProfile offset_profile(const arma::mat& S) {
  const arma::uword n = S.n_rows;
  OffsetProfile p;
  p.mean.zeros(n);
  p.sd.zeros(n);
  p.count.zeros(n);
  for (arma::uword k = 0; k < n; ++k) {
    const arma::vec diag = S.diag(static_cast<arma::sword>(k));  // S(i, i + k)
    const double m = arma::mean(diag);
    p.mean[k] = m;
    p.sd[k] = std::sqrt(arma::mean(arma::square(diag - m)));
    p.count[k] = n - k;
  }
  return p;
}

}  // namespace embedlab::test
