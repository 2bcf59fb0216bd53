#pragma once
// Moments of a sample: a streaming, mergeable accumulator (Welford / Pébay update formulas in
// double) and confidence intervals for the variance.
#include <armadillo>

#include <cstdint>

namespace embedlab::stats {

// A closed interval [lo, hi] at confidence `level`.
struct Interval {
  double lo = 0.0;
  double hi = 0.0;
  double level = 0.0;
};

// Mean / variance / kurtosis of a whole sample. (The streaming Welford/Pébay `add` and `merge`
// went when nothing but their tests called them: every caller has the whole vector.)
class Moments {
 public:
  // Two-pass (mean first, then central sums) over a whole vector; throws Error(data) on NaN/Inf.
  static Moments of(const arma::vec& x);

  std::uint64_t count() const { return n_; }
  double mean() const;      // needs count() >= 1
  double variance() const;  // unbiased, divides by n-1; needs count() >= 2
  double sd() const;        // sqrt(variance())
  // g2 = m4 / m2^2 - 3 (biased, = scipy.stats.kurtosis(fisher=True, bias=True)); 0 for a normal
  // population. NaN when all values are equal.
  double excess_kurtosis() const;
  double min() const { return min_; }
  double max() const { return max_; }

 private:
  std::uint64_t n_ = 0;
  double mean_ = 0.0;
  double m2_ = 0.0;  // sum (x - mean)^2
  double m4_ = 0.0;  // sum (x - mean)^4
  double min_ = 0.0;
  double max_ = 0.0;
};

enum class VarianceCi {
  // Asymptotic, distribution-free: Var(s^2) ~ sigma^4 (2/(n-1) + kappa/n) with kappa the excess
  // kurtosis, estimated by s^4 and g2; interval s^2 -/+ z * se, lower end clamped at 0. Use for
  // large n (hundreds and up) on non-normal data such as cosine similarities.
  asymptotic,
  // Exact under normality: [(n-1)s^2 / chi2_{1-a/2}, (n-1)s^2 / chi2_{a/2}] with n-1 degrees of
  // freedom. Too narrow for heavy-tailed data; use for small normal samples.
  normal_chi2,
};

// Confidence interval for the population variance at `level` in (0, 1); needs count() >= 4
// (asymptotic) or >= 2 (normal_chi2).
Interval variance_ci(const Moments& m, double level, VarianceCi method = VarianceCi::asymptotic);

}  // namespace embedlab::stats
