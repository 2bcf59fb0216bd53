#pragma once
// Thread control for OpenBLAS (the only parallel runtime embedlab uses) and the worker scheme of
// the kernels that make their own parallelism around single-threaded BLAS calls (linalg's blocked
// kernels, the GPT-2 forward pass).
//
// Why not OpenBLAS's own threads: OpenBLAS 0.3.21 (Haswell kernels) partitions a threaded sgemm
// over rows of C and the edge micro-kernels round differently, so the same tile computed with 1
// and with 2 OpenBLAS threads differs in the last bits (measured: ~4% of the entries of a
// 1500×1500×768 tile). Histogram counts at bin edges, top-k ties and greedy tokens would then depend
// on the thread count. Instead every block is computed by ONE single-threaded BLAS call with a
// geometry fixed by the problem, and the blocks are spread over `workers` threads; anything
// order-dependent (double sums) is stored per block and reduced in block order. Results are
// bit-identical for any worker count.
#include <algorithm>
#include <atomic>
#include <cstddef>
#include <functional>

//
// OpenBLAS's thread count is process-wide state with one owner, this file: nothing else calls
// openblas_set_num_threads. The configured count (set_threads, what threads() and worker_count
// return) is embedlab's own value, not OpenBLAS's current one, so a kernel asks for its workers
// correctly also inside another kernel's single-threaded scope. BlasSingleThread scopes are
// counted under one mutex: the first to open sets OpenBLAS to 1 thread, the last to close applies
// the configured count, so nested or concurrent kernels (on any threads) cannot restore a stale
// value while another still relies on single-threaded BLAS.
namespace embedlab {
// The configured thread count (n < 1 counts as 1); applied to OpenBLAS at once unless a
// BlasSingleThread scope is open, else when the last one closes.
void set_threads(int n);
int threads();  // the configured count (initially OpenBLAS's own setting, e.g. OPENBLAS_NUM_THREADS)
// Worker count for a kernel: `requested` if > 0, else threads(), at least 1.
int worker_count(int requested);
// What OpenBLAS itself runs with now (1 inside a BlasSingleThread scope); for tests and reports.
int blas_threads_in_effect();

// While alive, OpenBLAS runs single-threaded (callers make their own parallelism).
class BlasSingleThread {
 public:
  BlasSingleThread();
  ~BlasSingleThread();
  BlasSingleThread(const BlasSingleThread&) = delete;
  BlasSingleThread& operator=(const BlasSingleThread&) = delete;
};

// Runs fn(worker) on `workers` threads (worker 0 on the calling thread) and joins them. The first
// exception thrown by any worker is rethrown after all have finished.
void run_workers(int workers, const std::function<void(int)>& fn);

// fn(i) for i in 0 .. n−1 over at most `workers` threads (worker_count), in runs of `run` items
// handed out in order from a shared counter. Each item is done by one thread, so when fn(i) writes
// only item i's results they do not depend on the worker count.
template <class F>
void parallel_for(std::size_t n, int workers, std::size_t run, F&& fn) {
  const std::size_t runs = (n + run - 1) / run;
  if (runs == 0) return;
  std::atomic<std::size_t> next{0};
  run_workers(static_cast<int>(std::min<std::size_t>(static_cast<std::size_t>(worker_count(workers)), runs)), [&](int) {
    for (std::size_t r; (r = next.fetch_add(1)) < runs;)
      for (std::size_t i = r * run; i < std::min(n, (r + 1) * run); ++i) fn(i);
  });
}

// A reusable barrier for `count` threads that spins, then yields, instead of sleeping. The GPT-2
// forward pass crosses 11 barriers per layer for each generated token (134 for GPT-2 small); with
// std::barrier, which sleeps and is woken through the kernel, a token took 15–25% longer (A/B runs
// on the project VM, 2 workers).
class SpinBarrier {
 public:
  explicit SpinBarrier(int count) : count_(count), waiting_(count) {}
  SpinBarrier(const SpinBarrier&) = delete;
  SpinBarrier& operator=(const SpinBarrier&) = delete;
  void arrive_and_wait();

 private:
  const int count_;
  std::atomic<int> waiting_;
  std::atomic<unsigned> generation_{0};
};
}  // namespace embedlab
