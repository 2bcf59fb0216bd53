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

int decimals_for_error(double err) {
  if (!std::isfinite(err) || !(err > 0))
    fail(Exit::usage, "stats", "decimals_for_error", fmt::format("error {} (expected finite and > 0)", err));
  // The small slack keeps an exact power of ten (0.001) at its own place despite log10 rounding.
  return std::max(0, static_cast<int>(std::ceil(-std::log10(err) - 1e-9)));
}

}  // namespace embedlab::stats
