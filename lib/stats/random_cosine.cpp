#include "stats/random_cosine.hpp"

#include "core/error.hpp"

#include <algorithm>
#include <atomic>
#include <bit>
#include <cmath>
#include <exception>
#include <thread>
#include <vector>

namespace embedlab::stats {

RandomDistribution parse_distribution(const std::string& name) {
  if (name == "gaussian") return RandomDistribution::gaussian;
  if (name == "sphere") return RandomDistribution::sphere;
  if (name == "rademacher") return RandomDistribution::rademacher;
  throw Error(Exit::usage, "random distribution: unknown (got '" + name + "', expected gaussian|sphere|rademacher)");
}

std::string distribution_name(RandomDistribution d) {
  switch (d) {
    case RandomDistribution::gaussian:
      return "gaussian";
    case RandomDistribution::sphere:
      return "sphere";
    case RandomDistribution::rademacher:
      return "rademacher";
  }
  return "?";
}

namespace {

constexpr std::uint64_t kChunk = 4096;

double clamp1(double c) { return std::clamp(c, -1.0, 1.0); }

// out[0..count) for pairs of one chunk.
void gaussian_chunk(std::uint64_t d, bool normalise, Rng& rng, double* out, std::uint64_t count, std::vector<double>& x,
                    std::vector<double>& y) {
  for (std::uint64_t p = 0; p < count; ++p) {
    double xx = 0, yy = 0;
    for (std::uint64_t i = 0; i < d; ++i) {
      x[i] = rng.normal();
      xx += x[i] * x[i];
    }
    for (std::uint64_t i = 0; i < d; ++i) {
      y[i] = rng.normal();
      yy += y[i] * y[i];
    }
    if (normalise) {  // points on the sphere, then the dot product of unit vectors
      const double sx = 1.0 / std::sqrt(xx), sy = 1.0 / std::sqrt(yy);
      double dot = 0;
      for (std::uint64_t i = 0; i < d; ++i) dot += (x[i] * sx) * (y[i] * sy);
      out[p] = clamp1(dot);
    } else {
      double dot = 0;
      for (std::uint64_t i = 0; i < d; ++i) dot += x[i] * y[i];
      out[p] = clamp1(dot / std::sqrt(xx * yy));
    }
  }
}

// ±1 vectors as bits: x·y = d − 2·popcount(x xor y).
void rademacher_chunk(std::uint64_t d, Rng& rng, double* out, std::uint64_t count) {
  const std::uint64_t words = (d + 63) / 64;
  const std::uint64_t tail_bits = d % 64;
  const std::uint64_t tail_mask = tail_bits == 0 ? ~0ULL : ((1ULL << tail_bits) - 1);
  for (std::uint64_t p = 0; p < count; ++p) {
    std::uint64_t differ = 0;
    for (std::uint64_t w = 0; w < words; ++w) {
      std::uint64_t v = rng.next_u64() ^ rng.next_u64();
      if (w + 1 == words) v &= tail_mask;
      differ += static_cast<std::uint64_t>(std::popcount(v));
    }
    out[p] = (static_cast<double>(d) - 2.0 * static_cast<double>(differ)) / static_cast<double>(d);
  }
}

}  // namespace

arma::vec random_pair_cosines(RandomDistribution dist, std::uint64_t d, std::uint64_t n, const Rng& rng, int threads) {
  if (d == 0) throw Error(Exit::usage, "random_pair_cosines: dimension must be ≥ 1 (got 0)");
  arma::vec out(n);
  const std::uint64_t chunks = (n + kChunk - 1) / kChunk;
  std::atomic<std::uint64_t> next{0};
  std::exception_ptr error;
  std::atomic<bool> failed{false};
  auto worker = [&] {
    std::vector<double> x(d), y(d);
    try {
      for (std::uint64_t c; (c = next++) < chunks && !failed;) {
        Rng r = rng.child(c);
        const std::uint64_t begin = c * kChunk, count = std::min(kChunk, n - begin);
        if (dist == RandomDistribution::rademacher)
          rademacher_chunk(d, r, out.memptr() + begin, count);
        else
          gaussian_chunk(d, dist == RandomDistribution::sphere, r, out.memptr() + begin, count, x, y);
      }
    } catch (...) {
      if (!failed.exchange(true)) error = std::current_exception();
    }
  };
  const int workers = static_cast<int>(std::clamp<std::uint64_t>(static_cast<std::uint64_t>(std::max(threads, 1)), 1,
                                                                 std::max<std::uint64_t>(chunks, 1)));
  std::vector<std::thread> pool;
  for (int t = 1; t < workers; ++t) pool.emplace_back(worker);
  worker();
  for (auto& t : pool) t.join();
  if (error) std::rethrow_exception(error);
  return out;
}

}  // namespace embedlab::stats
