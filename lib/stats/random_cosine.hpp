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

}  // namespace embedlab::stats
