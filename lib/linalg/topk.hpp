#pragma once
// Exact k nearest neighbours by cosine over a whole vocabulary, FAISS-style (BLAS tiles feeding
// bounded per-row heaps, memory independent of n²) but using symmetry: in the all-rows search
// each unordered tile pair (I <= J) is computed once and feeds the heaps of BOTH sides.
//
// U is (d, n) float with UNIT columns (linalg::normalize_rows), column j = token j.
// Order of neighbours: descending cosine, ties broken by the lower id (a total order, so the
// result does not depend on tile order or worker count). Cosines are the float tile values
// clamped to [-1, 1].
//
// Distributed (topk_all over a comm::Comm of N ranks, by default the ambient comm::world()): the
// tile list is dealt out as in all_pairs (tile t to rank t mod N), each rank keeps bounded heaps
// for the rows its tiles touch, then the partial heaps of a block of rows go to that block's owner
// (rows in N contiguous blocks), which merges them — the top k under the total order above is
// unique, so the merge order does not matter — and every rank receives every block. Result: the
// same bits on every rank for any N, equal to the serial run. Sent per rank: at most 2 · n · k ·
// 16 bytes (partial heaps out, the final lists to the others).
#include "linalg/allpairs.hpp"

#include <armadillo>

namespace embedlab::linalg {

struct TopKOptions {
  arma::uword k = 10;
  arma::uword tile = 2048;   // tile edge in columns
  int workers = 0;           // <= 0: the OpenBLAS thread setting
  bool exclude_self = true;  // queries only (the all-rows search always excludes self)
  ProgressFn progress;       // optional; units are query×database pairs computed
  // CSLS (Conneau et al. 2018) instead of cosine when set: row i ranks candidate j by
  // 2·cos(i, j) − r[i] − r[j] (r has one entry per column of U, e.g. the mean cosine of each
  // column to its k nearest); TopK::cos then holds these scores (float, not clamped).
  const arma::fvec* csls_r = nullptr;
  const comm::Comm* comm = nullptr;  // topk_all only; nullptr: comm::for_kernel (the job under mpirun)
};

struct TopK {
  // Row r belongs to query r (token r in the all-rows search); k_eff = min(k, candidates) columns
  // where candidates = n − 1 with self excluded, n otherwise.
  arma::Mat<arma::uword> ids;  // (q, k_eff) neighbour ids
  arma::fmat cos;              // (q, k_eff) their cosines, row-wise descending
};

// k nearest neighbours of every column among all others (self excluded).
TopK topk_all(const arma::fmat& U, const TopKOptions& options = {});

// k nearest neighbours of the columns `queries` among all n columns; a query's own column is
// skipped when options.exclude_self.
TopK topk_queries(const arma::fmat& U, const arma::uvec& queries, const TopKOptions& options = {});

}  // namespace embedlab::linalg
