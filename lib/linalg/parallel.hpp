#pragma once
// Internal to linalg: the worker scheme shared by the blocked kernels.
//
// Why not OpenBLAS's own threads: OpenBLAS 0.3.21 (Haswell kernels) partitions a threaded sgemm
// over rows of C and the edge micro-kernels round differently, so the same tile computed with 1
// and with 2 OpenBLAS threads differs in the last bits (measured: ~4% of the entries of a
// 1500×1500×768 tile). Histogram counts at bin edges and top-k ties would then depend on the thread
// count. Instead every tile is computed by ONE single-threaded BLAS call with a fixed geometry, and
// the tiles are spread over `workers` threads; anything order-dependent (double sums) is stored
// per tile and reduced in tile order. Results are bit-identical for any worker count.
#include <cstddef>
#include <functional>

namespace embedlab::linalg::detail {

// Worker count for a kernel: `requested` if > 0, else the OpenBLAS thread setting
// (embedlab::threads()), at least 1.
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

}  // namespace embedlab::linalg::detail
