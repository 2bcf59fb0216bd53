#include "core/threads.hpp"

#include <algorithm>
#include <exception>
#include <mutex>
#include <thread>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif
#include <vector>

extern "C" {
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
}

namespace embedlab {
namespace {
// The one owner of OpenBLAS's thread count: every change happens under this mutex.
struct BlasOwner {
  std::mutex mu;
  int configured = 0;   // 0: not read yet (OpenBLAS's setting at the first call)
  int single_open = 0;  // open BlasSingleThread scopes
  int configured_locked() {
    if (configured == 0) configured = std::max(1, openblas_get_num_threads());
    return configured;
  }
};
BlasOwner& owner() {
  static BlasOwner o;
  return o;
}
}  // namespace

void set_threads(int n) {
  auto& o = owner();
  std::lock_guard<std::mutex> lock(o.mu);
  o.configured = n < 1 ? 1 : n;
  if (o.single_open == 0) openblas_set_num_threads(o.configured);
}
int threads() {
  auto& o = owner();
  std::lock_guard<std::mutex> lock(o.mu);
  return o.configured_locked();
}
int worker_count(int requested) { return requested > 0 ? requested : std::max(threads(), 1); }
int blas_threads_in_effect() {
  auto& o = owner();
  std::lock_guard<std::mutex> lock(o.mu);
  return openblas_get_num_threads();
}

BlasSingleThread::BlasSingleThread() {
  auto& o = owner();
  std::lock_guard<std::mutex> lock(o.mu);
  o.configured_locked();  // remember the setting before the first scope changes it
  if (o.single_open++ == 0) openblas_set_num_threads(1);
}
BlasSingleThread::~BlasSingleThread() {
  auto& o = owner();
  std::lock_guard<std::mutex> lock(o.mu);
  if (--o.single_open == 0) openblas_set_num_threads(o.configured_locked());
}

void run_workers(int workers, const std::function<void(int)>& fn) {
  if (workers <= 1) {
    fn(0);
    return;
  }
  std::exception_ptr first;
  std::mutex mu;
  // No worker starts before every thread exists: workers may wait for each other (SpinBarrier), so
  // a thread that cannot be created must leave nobody waiting for it.
  enum : int { waiting, go, abort };
  std::atomic<int> start{waiting};
  auto guarded = [&](int w) {
    start.wait(waiting);
    if (start.load() == abort) return;
    try {
      fn(w);
    } catch (...) {
      std::lock_guard<std::mutex> lock(mu);
      if (!first) first = std::current_exception();
    }
  };
  std::vector<std::thread> pool;
  const auto release = [&](int state) {
    start.store(state);
    start.notify_all();
  };
  try {
    pool.reserve(static_cast<std::size_t>(workers - 1));
    for (int w = 1; w < workers; ++w) pool.emplace_back(guarded, w);
  } catch (...) {
    release(abort);
    for (auto& t : pool) t.join();
    throw;
  }
  release(go);
  guarded(0);
  for (auto& t : pool) t.join();
  if (first) std::rethrow_exception(first);
}

void SpinBarrier::arrive_and_wait() {
  const unsigned generation = generation_.load(std::memory_order_acquire);
  if (waiting_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
    // the last to arrive: re-arm for the next round, then release the others
    waiting_.store(count_, std::memory_order_relaxed);
    generation_.fetch_add(1, std::memory_order_release);
    return;
  }
  for (int spin = 0; generation_.load(std::memory_order_acquire) == generation; ++spin) {
    if (spin < 4096) {
#if defined(__x86_64__) || defined(__i386__)
      _mm_pause();
#endif
    } else {
      std::this_thread::yield();
    }
  }
}
}  // namespace embedlab
