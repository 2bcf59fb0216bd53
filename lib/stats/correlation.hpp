#pragma once
// Correlation of paired samples: Pearson, Spearman, Kendall tau-a / tau-b, cosine. All accumulate
// in double and throw Error(usage) on length mismatch or fewer than 2 pairs, Error(data) on
// NaN/Inf. A constant input (zero variance or zero norm) gives NaN, as scipy does.
#include <armadillo>

#include <cstdint>
#include <vector>

namespace embedlab::stats {

// Ranks 1..n; ties get the average of the ranks they span (scipy.stats.rankdata 'average').
arma::vec rank_average(const arma::vec& x);

double pearson(const arma::vec& x, const arma::vec& y);   // clamped to [-1, 1]
double spearman(const arma::vec& x, const arma::vec& y);  // Pearson of average ranks (= scipy.stats.spearmanr)
double cosine(const arma::vec& x, const arma::vec& y);    // x.y / (|x| |y|), clamped to [-1, 1]

// Kendall's tau from Knight's O(n log n) algorithm (sort by x then y, count discordant pairs as
// merge-sort swaps). With n0 = n(n-1)/2, n1 / n2 pairs tied in x / y, n3 pairs tied in both:
//   S = concordant - discordant = n0 - n1 - n2 + n3 - 2 swaps,
//   tau_a = S / n0,   tau_b = S / sqrt((n0 - n1)(n0 - n2))  (= scipy.stats.kendalltau, variant 'b').
struct Kendall {
  double tau_a = 0.0;
  double tau_b = 0.0;  // NaN when x or y is constant
  std::int64_t s = 0;  // concordant - discordant
  std::uint64_t pairs = 0, ties_x = 0, ties_y = 0, ties_xy = 0;
};
Kendall kendall(const arma::vec& x, const arma::vec& y);
double kendall_tau_a(const arma::vec& x, const arma::vec& y);

// Kendall's tau against a fixed x for many y (permutation tests): the sort of x and its ties are
// computed once; each `operator()(y)` then costs one O(n log n) pass over y.
class KendallPrepared {
 public:
  explicit KendallPrepared(const arma::vec& x);
  Kendall operator()(const arma::vec& y) const;
  std::size_t size() const { return order_.size(); }

 private:
  std::vector<std::size_t> order_;   // indices of x in ascending order (ties by index)
  std::vector<std::size_t> groups_;  // start offsets of runs of equal x in order_, plus n
  std::uint64_t ties_x_ = 0;
};

}  // namespace embedlab::stats
