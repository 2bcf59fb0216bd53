#include "stats/histogram.hpp"

#include "core/error.hpp"

#include <algorithm>
#include <cmath>

namespace embedlab::stats {

Histogram::Histogram(double lo, double hi, std::size_t bins) : lo_(lo), hi_(hi), width_(0.0) {
  if (!std::isfinite(lo) || !std::isfinite(hi) || !(lo < hi))
    fail(Exit::usage, "stats", "Histogram", fmt::format("range [{}, {}] (expected finite lo < hi)", lo, hi));
  if (bins == 0) fail(Exit::usage, "stats", "Histogram", "0 bins (expected >= 1)");
  counts_.assign(bins, 0);
  width_ = (hi - lo) / static_cast<double>(bins);
}

double Histogram::bin_lo(std::size_t b) const { return lo_ + static_cast<double>(b) * width_; }

void Histogram::add(double x) {
  if (!std::isfinite(x)) data_error("stats", "Histogram::add", fmt::format("non-finite value {}", x));
  ++total_;
  if (x < lo_) {
    ++underflow_;
  } else if (x > hi_) {
    ++overflow_;
  } else {
    // Clamp: x == hi and rounding of (x - lo) / w near the top both land in the last bin.
    const auto b = static_cast<std::size_t>((x - lo_) / width_);
    ++counts_[std::min(b, counts_.size() - 1)];
  }
}

void Histogram::add(const arma::vec& x) {
  for (const double v : x) add(v);
}

void Histogram::add(const arma::fvec& x) {
  for (const float v : x) add(static_cast<double>(v));
}

void Histogram::merge(const Histogram& o) {
  if (o.lo_ != lo_ || o.hi_ != hi_ || o.counts_.size() != counts_.size())
    fail(Exit::usage, "stats", "Histogram::merge",
         fmt::format("range/bins differ (got [{}, {}] x {}, expected [{}, {}] x {})", o.lo_, o.hi_, o.counts_.size(),
                     lo_, hi_, counts_.size()));
  for (std::size_t b = 0; b < counts_.size(); ++b) counts_[b] += o.counts_[b];
  underflow_ += o.underflow_;
  overflow_ += o.overflow_;
  total_ += o.total_;
}

double Histogram::quantile(double q) const {
  if (!(q >= 0.0 && q <= 1.0))
    fail(Exit::usage, "stats", "Histogram::quantile", fmt::format("q = {} (expected in [0, 1])", q));
  if (total_ == 0) fail(Exit::usage, "stats", "Histogram::quantile", "empty histogram");
  const double target = q * static_cast<double>(total_);
  double cum = static_cast<double>(underflow_);
  if (underflow_ > 0 && target <= cum) return lo_;
  for (std::size_t b = 0; b < counts_.size(); ++b) {
    if (counts_[b] == 0) continue;
    const double c = static_cast<double>(counts_[b]);
    if (cum + c >= target) return bin_lo(b) + std::max(0.0, target - cum) / c * width_;
    cum += c;
  }
  return hi_;
}

double quantile(std::vector<double> v, double q) {
  if (!(q >= 0.0 && q <= 1.0)) fail(Exit::usage, "stats", "quantile", fmt::format("q = {} (expected in [0, 1])", q));
  if (v.empty()) fail(Exit::usage, "stats", "quantile", "empty sample");
  for (const double x : v)
    if (std::isnan(x)) data_error("stats", "quantile", "NaN value");
  const double h = q * static_cast<double>(v.size() - 1);
  const auto k = static_cast<std::size_t>(std::floor(h));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  const double lo = v[k];
  if (k + 1 >= v.size()) return lo;
  const double hi = *std::min_element(v.begin() + static_cast<std::ptrdiff_t>(k) + 1, v.end());
  return lo + (h - static_cast<double>(k)) * (hi - lo);
}

double quantile(const arma::vec& values, double q) {
  return quantile(std::vector<double>(values.begin(), values.end()), q);
}

}  // namespace embedlab::stats
