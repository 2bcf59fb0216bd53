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
#include "core/threads.hpp"

namespace embedlab::linalg::detail {

using embedlab::BlasSingleThread;
using embedlab::run_workers;

// Worker count for a kernel: `requested` if > 0, else the OpenBLAS thread setting
// (embedlab::threads()), at least 1.
int worker_count(int requested);

}  // namespace embedlab::linalg::detail
