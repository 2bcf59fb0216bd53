#include "stats/random_cosine.hpp"

#include "core/error.hpp"

#include <fmt/format.h>
#include <boost/math/distributions/beta.hpp>

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

// Σ a_i b_i in double with four partial sums (a fixed order, so results do not depend on the
// compiler's vectorisation).
double dot4(const double* a, const double* b, std::uint64_t d) {
  double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  std::uint64_t i = 0;
  for (; i + 4 <= d; i += 4) {
    s0 += a[i] * b[i];
    s1 += a[i + 1] * b[i + 1];
    s2 += a[i + 2] * b[i + 2];
    s3 += a[i + 3] * b[i + 3];
  }
  for (; i < d; ++i) s0 += a[i] * b[i];
  return (s0 + s1) + (s2 + s3);
}

// out[0..count) for pairs of one chunk.
void gaussian_chunk(std::uint64_t d, bool normalise, Rng& rng, double* out, std::uint64_t count, std::vector<double>& x,
                    std::vector<double>& y) {
  for (std::uint64_t p = 0; p < count; ++p) {
    rng.fill_normal(x.data(), d);
    rng.fill_normal(y.data(), d);
    const double xx = dot4(x.data(), x.data(), d), yy = dot4(y.data(), y.data(), d);
    if (normalise) {  // points on the sphere, then the dot product of unit vectors
      const double sx = 1.0 / std::sqrt(xx), sy = 1.0 / std::sqrt(yy);
      for (std::uint64_t i = 0; i < d; ++i) {
        x[i] *= sx;
        y[i] *= sy;
      }
      out[p] = clamp1(dot4(x.data(), y.data(), d));
    } else {
      out[p] = clamp1(dot4(x.data(), y.data(), d) / std::sqrt(xx * yy));
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

double gaussian_cosine_quantile(std::uint64_t d, double q) {
  if (d < 2) fail(Exit::usage, "stats", "gaussian_cosine_quantile", fmt::format("dimension {} (expected d >= 2)", d));
  if (!(q >= 0.0 && q <= 1.0))
    fail(Exit::usage, "stats", "gaussian_cosine_quantile", fmt::format("level {} (expected 0 <= q <= 1)", q));
  const double a = (static_cast<double>(d) - 1.0) / 2.0;
  const boost::math::beta_distribution<double> law(a, a);
  return std::clamp(2.0 * boost::math::quantile(law, q) - 1.0, -1.0, 1.0);
}

}  // namespace embedlab::stats
