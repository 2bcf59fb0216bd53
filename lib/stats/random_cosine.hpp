#pragma once
// Cosines between independent pairs of random vectors: the random baseline of the lesson
// (E[cos] = 0, Var(cos) = 1/d for every distribution below).
#include "core/rng.hpp"

#include <armadillo>

#include <cstdint>
#include <string>

namespace embedlab::stats {

enum class RandomDistribution {
  gaussian,    // x ~ N(0, I_d)
  sphere,      // x uniform on S^{d-1} (a normalised Gaussian, normalised explicitly)
  rademacher,  // x_i = ±1 with probability 1/2
};
RandomDistribution parse_distribution(const std::string& name);  // throws Error(usage)
std::string distribution_name(RandomDistribution d);

// n cosines (double, clamped to [-1, 1]) of pairs of independent random vectors in R^d.
// Pairs come in chunks of 4096, chunk c drawn from rng.child(c): the result depends only on
// (rng seed, dist, d, n), never on `threads` (≥ 1 worker threads).
arma::vec random_pair_cosines(RandomDistribution dist, std::uint64_t d, std::uint64_t n, const Rng& rng,
                              int threads = 1);

// Exact quantile q in [0, 1] of cos θ between two independent N(0, I_d) vectors (the same law for
// uniform directions on S^{d-1}): (1 + cos θ)/2 ~ Beta((d−1)/2, (d−1)/2), inverted by Boost.Math.
// Needs d >= 2 (for d = 1, cos θ = ±1); otherwise, or for q outside [0, 1], Error(usage).
double gaussian_cosine_quantile(std::uint64_t d, double q);

}  // namespace embedlab::stats
