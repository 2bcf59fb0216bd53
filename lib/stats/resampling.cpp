#include "stats/resampling.hpp"

#include "core/error.hpp"
#include "stats/histogram.hpp"

#include <cmath>
#include <numeric>

namespace embedlab::stats {

std::vector<std::size_t> permutation(std::size_t n, Rng& rng) {
  std::vector<std::size_t> p(n);
  std::iota(p.begin(), p.end(), std::size_t{0});
  rng.shuffle(p.begin(), p.end());
  return p;
}

std::vector<std::size_t> bootstrap_sample(std::size_t n, Rng& rng) {
  std::vector<std::size_t> s(n);
  for (auto& i : s) i = static_cast<std::size_t>(rng.below(n));
  return s;
}

double permutation_p_value(double observed, const std::vector<double>& null) {
  std::size_t ge = 0;
  for (const double v : null)
    if (v >= observed) ++ge;
  return static_cast<double>(1 + ge) / static_cast<double>(1 + null.size());
}

Interval percentile_interval(const std::vector<double>& samples, double level) {
  if (!(level > 0.0 && level < 1.0))
    fail(Exit::usage, "stats", "percentile_interval", fmt::format("level {} (expected in (0, 1))", level));
  std::vector<double> finite;
  finite.reserve(samples.size());
  for (const double v : samples)
    if (std::isfinite(v)) finite.push_back(v);
  if (finite.empty())
    data_error("stats", "percentile_interval", fmt::format("no finite value among {} samples", samples.size()));
  const double a = 1.0 - level;
  return {quantile(finite, a / 2.0), quantile(finite, 1.0 - a / 2.0), level};
}

}  // namespace embedlab::stats
