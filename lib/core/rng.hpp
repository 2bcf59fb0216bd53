#pragma once
// One seeded generator per run. The engine (xoshiro256**) and the distributions are our own (not
// <random>'s, whose algorithms are implementation-defined), so the same seed gives bit-identical
// numbers everywhere. Independent streams for parallel or per-item work come from
// `Rng::child(k)`, which depends only on (seed, k) — never on thread scheduling.
#include <array>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <utility>

namespace embedlab {

inline std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

namespace detail {
// Ziggurat tables for the standard normal (Marsaglia & Tsang 2000, 256 layers, 53-bit magnitudes).
struct ZigguratTables {
  std::array<double, 256> k, w, f;
  ZigguratTables();
};
const ZigguratTables& ziggurat_tables();
}  // namespace detail

class Rng {
 public:
  explicit Rng(std::uint64_t seed = 0) : seed_(seed) {
    std::uint64_t x = seed;
    for (auto& s : s_) s = splitmix64(x++);
  }
  std::uint64_t seed() const { return seed_; }
  // A generator whose stream depends only on (seed, k).
  Rng child(std::uint64_t k) const { return Rng(splitmix64(seed_ ^ splitmix64(k + 0x632BE59BD9B4E019ULL))); }

  // xoshiro256** (Blackman & Vigna).
  std::uint64_t next_u64() {
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }
  // Uniform in [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }
  // Uniform integer in [0, n) without modulo bias (Lemire's method).
  std::uint64_t below(std::uint64_t n) {
    if (n == 0) return 0;
    while (true) {
      const __uint128_t m = static_cast<__uint128_t>(next_u64()) * n;
      const auto low = static_cast<std::uint64_t>(m);
      if (low >= n || low >= (-n) % n) return static_cast<std::uint64_t>(m >> 64);
    }
  }
  // Standard normal by the ziggurat method: one 64-bit draw per sample in 98.8% of cases
  // (8 bits pick the layer, 1 bit the sign, 53 bits the magnitude).
  double normal() { return normal(detail::ziggurat_tables()); }
  // n standard normals: the same numbers as n calls of normal(), without the per-call overhead.
  void fill_normal(double* out, std::size_t n) {
    const auto& z = detail::ziggurat_tables();
    for (std::size_t i = 0; i < n; ++i) out[i] = normal(z);
  }
  // Fisher–Yates shuffle of [first, last).
  template <class It>
  void shuffle(It first, It last) {
    const auto n = static_cast<std::uint64_t>(last - first);
    for (std::uint64_t i = n; i > 1; --i) std::swap(first[i - 1], first[below(i)]);
  }

 private:
  double normal(const detail::ZigguratTables& z) {
    const std::uint64_t u = next_u64();
    const unsigned i = static_cast<unsigned>(u & 255);
    const auto m = static_cast<double>(u >> 11);
    if (m < z.k[i]) [[likely]] {
      // The sign bit from bit 8 of u without a branch (a random branch mispredicts half the time).
      return std::bit_cast<double>(std::bit_cast<std::uint64_t>(m * z.w[i]) ^ ((u & 256) << 55));
    }
    return normal_slow(z, u);
  }
  // The 1.2% of draws outside a layer's rectangle: the tail or the wedge test, then a new draw.
  double normal_slow(const detail::ZigguratTables& z, std::uint64_t u) {
    while (true) {
      const unsigned i = static_cast<unsigned>(u & 255);
      const double sign = (u & 256) ? -1.0 : 1.0;
      const auto m = static_cast<double>(u >> 11);
      const double x = m * z.w[i];
      if (m < z.k[i]) return sign * x;
      if (i == 0) {  // the tail beyond r
        constexpr double r = 3.6541528853610088;
        double a, b;
        do {
          a = -std::log(1.0 - uniform()) / r;
          b = -std::log(1.0 - uniform());
        } while (b + b < a * a);
        return sign * (r + a);
      }
      if (z.f[i] + uniform() * (z.f[i - 1] - z.f[i]) < std::exp(-0.5 * x * x)) return sign * x;
      u = next_u64();
    }
  }
  static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  std::uint64_t seed_;
  std::array<std::uint64_t, 4> s_{};
};

}  // namespace embedlab
