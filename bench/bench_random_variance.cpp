// random_variance throughput: pairs × d per second over the default sweep (2 threads by default).
// Usage: bench_random_variance [PAIRS] [THREADS]
#include "core/rng.hpp"
#include "stats/moments.hpp"
#include "stats/random_cosine.hpp"

#include <fmt/format.h>

#include <chrono>
#include <cstdlib>

using namespace embedlab;

int main(int argc, char** argv) {
  const std::uint64_t pairs = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 20000;
  const int threads = argc > 2 ? std::atoi(argv[2]) : 2;
  const std::uint64_t dims[] = {2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 768};
  const Rng root(42);
  double work = 0, check = 0;
  const auto t0 = std::chrono::steady_clock::now();
  for (const char* name : {"gaussian", "sphere", "rademacher"}) {
    const auto dist = stats::parse_distribution(name);
    for (const auto d : dims) {
      const arma::vec cos = stats::random_pair_cosines(dist, d, pairs, root.child(d), threads);
      check += stats::Moments::of(cos).variance() * static_cast<double>(d);
      work += static_cast<double>(pairs) * static_cast<double>(d);
    }
  }
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  fmt::print(
      "embedlab random_variance: {} pairs/cell, 3 distributions × 13 dims, {} threads: {:.2f} s, {:.3g} pair·dim/s "
      "(mean d·Var {:.3f})\n",
      pairs, threads, s, work / s, check / 39);
  fmt::print("RESULT seconds={:.4f} rate={:.6g}\n", s, work / s);
  return 0;
}
