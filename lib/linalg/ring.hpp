#pragma once
// `--distribute rows`: the all-pairs kernels when each rank holds only a block of the rows.
//
// Layout: the tiles of the replicated kernels (edge b = min(tile, n), nb = ceil(n / b) tiles, fixed
// by the data's shape) are assigned to the N ranks contiguously: rank r holds tiles
// [nb·r/N, nb·(r+1)/N), i.e. rows [lo(r), hi(r)) (empty when N > nb). Each rank reads only its block
// (io::RowReader) and normalises it.
//
// Circulation (ring_visit): rank r first pairs its block with itself (tiles I <= J inside it), then
// for s = 1 .. floor(N/2) with the block of rank (r + s) mod N, which arrives by a shift around the
// ring (comm::Comm::start_shift: the next block is in flight while the current one is used, so a
// rank holds its own block and two travelling ones: about 3 blocks). Every unordered pair of blocks
// meets exactly once; with N even the pair at distance N/2 is met by both ranks, which split its
// tiles (I + J even: the lower rank; odd: the higher one). A tile (I, J) is always computed as U_Iᵀ U_J with I < J, by
// the same BLAS call on the same columns as in the replicated kernels, and lands in the same global tile slot; the
// reductions are those of allpairs.cpp / topk.cpp (exact counts, per-tile double sums reduced in
// tile order, extremes and heaps under a total order), so the results are bit-identical to the
// replicated mode and to the serial run for any N.
//
// Moments (pair_moments_rows) come from the Gram of gram_stats, accumulated as a pipeline along
// the ranks: rank r continues rank r − 1's two partial sums (d × d doubles each) with its own
// columns in the same 1024-column blocks, passing on the unfinished block — the same additions in
// the same order as gram_stats on the whole matrix. Sent per rank: 2·d²·8 bytes (+ < 1024 columns).
#include "linalg/allpairs.hpp"
#include "linalg/topk.hpp"

#include <armadillo>

#include <functional>

namespace embedlab::linalg {

struct RowLayout {
  arma::uword n = 0, b = 0, nb = 0;  // rows, tile edge, tiles
  int ranks = 1;
  arma::uword tile_lo(int r) const { return static_cast<arma::uword>(nb * static_cast<arma::uword>(r) / ranks); }
  arma::uword lo(int r) const { return std::min(n, tile_lo(r) * b); }
  arma::uword hi(int r) const { return lo(r + 1); }
  arma::uword rows(int r) const { return hi(r) - lo(r); }
};
RowLayout row_layout(arma::uword n, arma::uword tile, int ranks);

// Per-rank memory of the ring (bytes): own block + two travelling blocks of the largest block,
// d floats a row; `results` is what the caller adds (histogram, heaps, ...).
double ring_block_bytes(const RowLayout& layout, arma::uword d);

// Visits this rank's own block (q = rank, other = mine) and then the blocks it must meet; see
// above. `visit(q, other, parity)` gets rank q's block (d, layout.rows(q)) as column data and
// computes the tiles (I, J) of the pair with (I + J) mod 2 == parity, or all of them (parity -1).
void ring_visit(const comm::Comm& comm, const RowLayout& layout, const arma::fmat& mine,
                const std::function<void(int q, const float* other, int parity)>& visit);

// The kernels of allpairs.hpp / topk.hpp on a row-distributed matrix of n rows: `block` is this
// rank's unit columns [layout.lo(rank), layout.hi(rank)) of row_layout(n, options.tile, N).
AllPairsStats all_pairs_rows(const arma::fmat& block, arma::uword n, const AllPairsOptions& options = {});
TopK topk_all_rows(const arma::fmat& block, arma::uword n, const TopKOptions& options = {});
// pair_moments(U) of the whole matrix (the layout of `tile`, every rank gets the same bits).
PairMoments pair_moments_rows(const arma::fmat& block, arma::uword n, arma::uword tile = 2048,
                              const comm::Comm* comm = nullptr);

}  // namespace embedlab::linalg
