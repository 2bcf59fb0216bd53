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

void Moments::add(double x) {
  if (!std::isfinite(x)) data_error("stats", "Moments::add", fmt::format("non-finite value {}", x));
  const double n1 = static_cast<double>(n_);
  ++n_;
  const double n = static_cast<double>(n_);
  const double delta = x - mean_;
  const double dn = delta / n;
  const double dn2 = dn * dn;
  const double term1 = delta * dn * n1;
  mean_ += dn;
  m4_ += term1 * dn2 * (n * n - 3.0 * n + 3.0) + 6.0 * dn2 * m2_ - 4.0 * dn * m3_;
  m3_ += term1 * dn * (n - 2.0) - 3.0 * dn * m2_;
  m2_ += term1;
  if (n_ == 1) {
    min_ = max_ = x;
  } else {
    min_ = std::min(min_, x);
    max_ = std::max(max_, x);
  }
}

void Moments::add(const arma::vec& x) {
  for (const double v : x) add(v);
}

void Moments::merge(const Moments& o) {
  if (o.n_ == 0) return;
  if (n_ == 0) {
    *this = o;
    return;
  }
  const double na = static_cast<double>(n_), nb = static_cast<double>(o.n_);
  const double n = na + nb;
  const double d = o.mean_ - mean_;
  const double d2 = d * d;
  const double m2 = m2_ + o.m2_ + d2 * na * nb / n;
  const double m3 = m3_ + o.m3_ + d * d2 * na * nb * (na - nb) / (n * n) + 3.0 * d * (na * o.m2_ - nb * m2_) / n;
  const double m4 = m4_ + o.m4_ + d2 * d2 * na * nb * (na * na - na * nb + nb * nb) / (n * n * n) +
                    6.0 * d2 * (na * na * o.m2_ + nb * nb * m2_) / (n * n) + 4.0 * d * (na * o.m3_ - nb * m3_) / n;
  mean_ += d * nb / n;
  m2_ = m2;
  m3_ = m3;
  m4_ = m4;
  n_ += o.n_;
  min_ = std::min(min_, o.min_);
  max_ = std::max(max_, o.max_);
}

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
    m.m3_ += d2 * d;
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

double Moments::population_variance() const {
  need(n_ >= 1, "Moments::population_variance", "empty sample");
  return m2_ / static_cast<double>(n_);
}

double Moments::sd() const { return std::sqrt(variance()); }

double Moments::skewness() const {
  need(n_ >= 2, "Moments::skewness", fmt::format("needs at least 2 values (got {})", n_));
  if (m2_ <= 0.0) return std::numeric_limits<double>::quiet_NaN();
  const double n = static_cast<double>(n_);
  return std::sqrt(n) * m3_ / std::pow(m2_, 1.5);
}

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
