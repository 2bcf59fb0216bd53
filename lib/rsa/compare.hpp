#pragma once
// Comparison of two RDMs over the same m items on their upper triangles (i < j), a Mantel
// permutation test and a bootstrap-over-items confidence interval. Only the upper triangles of
// the RDMs are read. Both tests are deterministic given the state of the Rng passed in.
// Each takes one draw from that Rng as the base of its streams: permutation (resample) p uses
// Rng(base).child(p). Under mpirun (comm::for_kernel) the permutations and resamples split over the
// ranks in fixed blocks and are gathered in order, so every result is the same bits for any rank
// count and equal to the serial run; an error on any rank ends every rank with that error.
#include "core/rng.hpp"
#include "stats/moments.hpp"

#include <armadillo>

#include <cstddef>
#include <string_view>

namespace embedlab::rsa {

enum class Comparison { pearson, spearman, kendall_tau_a, cosine };
Comparison parse_comparison(std::string_view name);  // "pearson" | "spearman" | "kendall_tau_a" | "cosine"
std::string_view to_string(Comparison c);

// The comparison statistic of the two upper-triangle vectors. Needs equal square shapes and
// m >= 3; NaN when one triangle is constant (pearson / spearman) or zero (cosine).
double compare_rdms(const arma::mat& A, const arma::mat& B, Comparison c);

struct MantelResult {
  double statistic = 0.0;  // observed statistic (same code path as the permutations)
  double p_value = 1.0;    // (1 + #{perm >= observed}) / (1 + permutations), upper tail
  std::size_t permutations = 0;
};

// Mantel test: the items of B are permuted (rows and columns together) `permutations` times and
// the statistic recomputed. Nothing is recomputed from scratch per permutation: both triangles are
// transformed once (centred and scaled for Pearson/cosine, ranked once for Spearman — permuting
// items only reindexes the ranks — and sorted once for Kendall), then each permutation gathers
// B(p_i, p_j). Throws Error(data) when the observed statistic is NaN (a constant RDM).
MantelResult mantel_test(const arma::mat& A, const arma::mat& B, Comparison c, std::size_t permutations, Rng& rng);

struct BootstrapResult {
  double statistic = 0.0;  // compare_rdms(A, B, c) on all items
  stats::Interval ci;      // percentile interval of the resampled statistics
  std::size_t resamples = 0;
  std::size_t failed = 0;  // resamples with < 2 distinct pairs or a NaN statistic, left out of ci
};

// Bootstrap over items: draw m items with replacement, keep the pairs (s < t) of draws that are
// different original items, recompute the statistic on those sub-RDM entries (re-ranking for
// Spearman), and take the percentile interval at `level`.
BootstrapResult bootstrap_rdm_ci(const arma::mat& A, const arma::mat& B, Comparison c, std::size_t resamples,
                                 double level, Rng& rng);

}  // namespace embedlab::rsa
