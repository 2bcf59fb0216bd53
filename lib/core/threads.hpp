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
#include <atomic>
#include <functional>

namespace embedlab {
void set_threads(int n);  // n >= 1
int threads();
// Worker count for a kernel: `requested` if > 0, else threads(), at least 1.
int worker_count(int requested);

// While alive, OpenBLAS runs single-threaded (callers make their own parallelism); restores the
// previous setting on destruction.
class BlasSingleThread {
 public:
  BlasSingleThread();
  ~BlasSingleThread();
  BlasSingleThread(const BlasSingleThread&) = delete;
  BlasSingleThread& operator=(const BlasSingleThread&) = delete;

 private:
  int previous_;
};

// Runs fn(worker) on `workers` threads (worker 0 on the calling thread) and joins them. The first
// exception thrown by any worker is rethrown after all have finished.
void run_workers(int workers, const std::function<void(int)>& fn);

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
