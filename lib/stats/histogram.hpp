#pragma once
// Fixed-range histograms, exact sample quantiles, and the printing resolution of a value known to
// a bin width.
#include <armadillo>

#include <cstdint>
#include <vector>

namespace embedlab::stats {

// `bins` equal-width bins over [lo, hi]. Bin b covers [lo + b w, lo + (b+1) w); the last bin
// also holds x == hi (numpy.histogram convention). Values below lo / above hi are counted as
// underflow / overflow; NaN/Inf throw Error(data).
class Histogram {
 public:
  Histogram(double lo, double hi, std::size_t bins);  // needs lo < hi, both finite, bins >= 1

  void add(double x);
  void add(const arma::vec& x);
  void add(const arma::fvec& x);

  double lo() const { return lo_; }
  double hi() const { return hi_; }
  std::size_t bins() const { return counts_.size(); }
  double bin_width() const { return width_; }
  double bin_lo(std::size_t b) const;  // left edge of bin b
  const std::vector<std::uint64_t>& counts() const { return counts_; }
  std::uint64_t underflow() const { return underflow_; }
  std::uint64_t overflow() const { return overflow_; }
  std::uint64_t total() const { return total_; }  // in range + underflow + overflow

 private:
  double lo_, hi_, width_;
  std::vector<std::uint64_t> counts_;
  std::uint64_t underflow_ = 0, overflow_ = 0, total_ = 0;
};

// Decimal places at which to print a value known to ± err (a histogram quantile to its bin width):
// those of err's first significant digit (0.005 → 3, 0.0008 → 4, 0.03 → 2; err >= 1 → 0), so no
// digit is printed that the resolution does not support. err must be finite and > 0 (else
// Error(usage)).
int decimals_for_error(double err);

// Exact sample quantile with linear interpolation between order statistics (numpy.quantile's
// default, Hyndman–Fan type 7). Takes the values by copy (partially sorted in place).
double quantile(std::vector<double> values, double q);
double quantile(const arma::vec& values, double q);

}  // namespace embedlab::stats
