#include "stats/moments.hpp"

#include "core/error.hpp"

#include <boost/math/distributions/chi_squared.hpp>
#include <boost/math/distributions/normal.hpp>

#include <algorithm>
#include <cmath>
#include <limits>

namespace embedlab::stats {

namespace {
void need(bool ok, const char* where, const std::string& what) {
  if (!ok) fail(Exit::usage, "stats", where, what);
}
}  // namespace

Moments Moments::of(const arma::vec& x) {
  Moments m;
  if (x.is_empty()) return m;
  double s = 0.0;
  for (const double v : x) {
    if (!std::isfinite(v)) data_error("stats", "Moments::of", fmt::format("non-finite value {}", v));
    s += v;
  }
  m.n_ = x.n_elem;
  m.mean_ = s / static_cast<double>(x.n_elem);
  double c1 = 0.0;  // sum of residuals: corrects the rounding error of the mean (two-pass compensated)
  for (const double v : x) {
    const double d = v - m.mean_;
    const double d2 = d * d;
    c1 += d;
    m.m2_ += d2;
    m.m4_ += d2 * d2;
  }
  m.m2_ -= c1 * c1 / static_cast<double>(x.n_elem);
  m.min_ = x.min();
  m.max_ = x.max();
  return m;
}

double Moments::mean() const {
  need(n_ >= 1, "Moments::mean", "empty sample");
  return mean_;
}

double Moments::variance() const {
  need(n_ >= 2, "Moments::variance", fmt::format("needs at least 2 values (got {})", n_));
  return m2_ / static_cast<double>(n_ - 1);
}

double Moments::sd() const { return std::sqrt(variance()); }

double Moments::excess_kurtosis() const {
  need(n_ >= 2, "Moments::excess_kurtosis", fmt::format("needs at least 2 values (got {})", n_));
  if (m2_ <= 0.0) return std::numeric_limits<double>::quiet_NaN();
  const double n = static_cast<double>(n_);
  return n * m4_ / (m2_ * m2_) - 3.0;
}

Interval variance_ci(const Moments& m, double level, VarianceCi method) {
  need(level > 0.0 && level < 1.0, "variance_ci", fmt::format("level {} (expected in (0, 1))", level));
  const double alpha = 1.0 - level;
  const double s2 = m.variance();
  const double n = static_cast<double>(m.count());
  if (method == VarianceCi::normal_chi2) {
    const boost::math::chi_squared chi2(n - 1.0);
    return {(n - 1.0) * s2 / boost::math::quantile(chi2, 1.0 - alpha / 2.0),
            (n - 1.0) * s2 / boost::math::quantile(chi2, alpha / 2.0), level};
  }
  need(m.count() >= 4, "variance_ci", fmt::format("asymptotic interval needs at least 4 values (got {})", m.count()));
  // g2 >= -2 always, so 2/(n-1) + g2/n > 0 for every sample.
  const double kappa = s2 > 0.0 ? m.excess_kurtosis() : 0.0;
  const double se = s2 * std::sqrt(2.0 / (n - 1.0) + kappa / n);
  const double z = boost::math::quantile(boost::math::normal(), 1.0 - alpha / 2.0);
  return {std::max(0.0, s2 - z * se), s2 + z * se, level};
}

}  // namespace embedlab::stats
