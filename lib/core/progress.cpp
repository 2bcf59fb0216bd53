#include "core/progress.hpp"

#include <fmt/format.h>

#include <atomic>
#include <cstdio>

namespace embedlab {

namespace {
std::atomic<bool> g_quiet{false};
constexpr double kShowAfterSeconds = 2.0;
constexpr double kEverySeconds = 0.5;
}  // namespace

void Progress::set_quiet(bool quiet) { g_quiet = quiet; }
bool Progress::quiet() { return g_quiet; }

Progress::Progress(std::string label, std::uint64_t total, std::string unit)
    : label_(std::move(label)), unit_(std::move(unit)), total_(total), start_(clock::now()), last_print_(start_) {}

Progress::~Progress() { finish(); }

void Progress::update(std::uint64_t done) {
  if (g_quiet || finished_) return;
  const auto now = clock::now();
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  if (elapsed < kShowAfterSeconds || std::chrono::duration<double>(now - last_print_).count() < kEverySeconds) return;
  last_print_ = now;
  const double rate = static_cast<double>(done) / elapsed;
  const double eta = rate > 0 && total_ >= done ? static_cast<double>(total_ - done) / rate : 0.0;
  const double pct = total_ > 0 ? 100.0 * static_cast<double>(done) / static_cast<double>(total_) : 100.0;
  fmt::print(stderr, "\r{}: {}/{} {} ({:.1f}%), {:.3g} {}/s, ETA {:.0f} s   ", label_, done, total_, unit_, pct, rate,
             unit_, eta);
  std::fflush(stderr);
  printed_ = true;
}

void Progress::finish() {
  if (finished_) return;
  finished_ = true;
  if (printed_ && !g_quiet) {
    const double elapsed = std::chrono::duration<double>(clock::now() - start_).count();
    fmt::print(stderr, "\r{}: done in {:.1f} s{:40}\n", label_, elapsed, "");
  }
}

}  // namespace embedlab
