#pragma once
// Fixed-range histograms (streaming, mergeable) with approximate quantiles, and exact sample
// quantiles.
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
  // Adds another histogram's counts; throws Error(usage) unless range and bins are identical.
  void merge(const Histogram& other);

  double lo() const { return lo_; }
  double hi() const { return hi_; }
  std::size_t bins() const { return counts_.size(); }
  double bin_width() const { return width_; }
  double bin_lo(std::size_t b) const;  // left edge of bin b
  const std::vector<std::uint64_t>& counts() const { return counts_; }
  std::uint64_t underflow() const { return underflow_; }
  std::uint64_t overflow() const { return overflow_; }
  std::uint64_t total() const { return total_; }  // in range + underflow + overflow

  // Quantile q in [0, 1] over all counted values, assuming values are spread uniformly inside
  // each bin (linear interpolation of the cumulative count). Underflow values sit at lo, overflow
  // values at hi, so a quantile falling among them returns lo or hi. q = 0 / 1 give the left edge
  // of the first / right edge of the last non-empty bin. Error is at most one bin width for
  // quantiles inside [lo, hi]. Throws Error(usage) when empty.
  double quantile(double q) const;

 private:
  double lo_, hi_, width_;
  std::vector<std::uint64_t> counts_;
  std::uint64_t underflow_ = 0, overflow_ = 0, total_ = 0;
};

// Exact sample quantile with linear interpolation between order statistics (numpy.quantile's
// default, Hyndman–Fan type 7). Takes the values by copy (partially sorted in place).
double quantile(std::vector<double> values, double q);
double quantile(const arma::vec& values, double q);

}  // namespace embedlab::stats
