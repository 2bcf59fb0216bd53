#pragma once
// Seeded permutation and bootstrap helpers on embedlab::Rng: same generator state, same result.
#include "core/rng.hpp"
#include "stats/moments.hpp"

#include <cstddef>
#include <functional>
#include <span>
#include <vector>

namespace embedlab::stats {

// A uniformly random permutation of 0..n-1 (Fisher–Yates).
std::vector<std::size_t> permutation(std::size_t n, Rng& rng);
// n indices drawn uniformly from 0..n-1 with replacement.
std::vector<std::size_t> bootstrap_sample(std::size_t n, Rng& rng);

// One-sided (upper tail) permutation p-value, counting the observed labelling as one permutation:
// p = (1 + #{null >= observed}) / (1 + null.size()). NaN null values count as not exceeding.
double permutation_p_value(double observed, const std::vector<double>& null);

// Percentile interval [q(a/2), q(1 - a/2)], a = 1 - level, of the finite values in `samples`
// (type-7 quantiles). Throws Error(data) when no value is finite.
Interval percentile_interval(const std::vector<double>& samples, double level);

}  // namespace embedlab::stats
