#include "linalg/parallel.hpp"

#include "core/threads.hpp"

#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace embedlab::linalg::detail {

int worker_count(int requested) {
  if (requested > 0) return requested;
  const int t = embedlab::threads();
  return t > 0 ? t : 1;
}

BlasSingleThread::BlasSingleThread() : previous_(embedlab::threads()) { embedlab::set_threads(1); }
BlasSingleThread::~BlasSingleThread() { embedlab::set_threads(previous_); }

void run_workers(int workers, const std::function<void(int)>& fn) {
  if (workers <= 1) {
    fn(0);
    return;
  }
  std::exception_ptr first;
  std::mutex mu;
  auto guarded = [&](int w) {
    try {
      fn(w);
    } catch (...) {
      std::lock_guard<std::mutex> lock(mu);
      if (!first) first = std::current_exception();
    }
  };
  std::vector<std::thread> threads;
  threads.reserve(static_cast<std::size_t>(workers - 1));
  for (int w = 1; w < workers; ++w) threads.emplace_back(guarded, w);
  guarded(0);
  for (auto& t : threads) t.join();
  if (first) std::rethrow_exception(first);
}

}  // namespace embedlab::linalg::detail
