#pragma once
// Statistics of all n(n-1)/2 pairwise cosines of a vocabulary, without ever materialising the
// n×n cosine matrix (GPT-2: n = 50257, 1.26e9 pairs).
//
// U is (d, n) float with UNIT columns (linalg::normalize_rows), column j = token j.
//
// (a) Moments exactly in O(n d²) from the Gram G = Σ_i x̂_i x̂_iᵀ (d, d) accumulated in double:
//     Σ_{i≠j} cos_ij = |Σ_i x̂_i|² − Σ_i ‖x̂_i‖²,   Σ_{i≠j} cos_ij² = ‖G‖_F² − Σ_i ‖x̂_i‖⁴
//     (the diagonal is removed with the computed ‖x̂_i‖², not with 1).
// (b) One blocked O(n² d) pass for what has no shortcut: min/max with their pairs, a fixed-range
//     histogram on [-1, 1], quantiles from it, and the pass's own double sums (cross-check of (a)).
//     Tiles (tile, tile) of C = U_Iᵀ U_J are computed for I <= J only (ssyrk on the diagonal
//     tiles, of which only i < j is used), so each unordered pair is seen once; memory is one
//     tile buffer per worker whatever n. Results are bit-identical for any worker count
//     (see core/threads.hpp): counts are integers, double sums are kept per tile and reduced in
//     tile order, extremes are broken by the lower (i, j).
//     Distributed (comm::Comm of N ranks, by default the ambient comm::world()): the same tile
//     list is dealt out, tile t to rank t mod N; counts are summed exactly, the per-tile double
//     sums are gathered into their tile slots and reduced in tile order on every rank, extremes
//     by the same (value, lower pair) rule — so the result is the same bits for any N, on every
//     rank, and equal to the serial run.
#include "comm/comm.hpp"

#include <armadillo>

#include <cstdint>
#include <functional>
#include <vector>

namespace embedlab::linalg {

// Progress of a long kernel: (units done, units total), called after each tile from worker
// threads one at a time (serialised by the kernel). Unit = pairs for allpairs, rows×rows for topk.
using ProgressFn = std::function<void(std::uint64_t done, std::uint64_t total)>;

struct GramStats {
  arma::mat gram;        // (d, d) Σ_i y_i y_iᵀ in double, y_i = U(:, i) − center (or U(:, i))
  arma::vec sum;         // (d) Σ_i y_i in double
  double sum_norm2 = 0;  // Σ_i ‖y_i‖²
  double sum_norm4 = 0;  // Σ_i ‖y_i‖⁴
  arma::uword n = 0;
};

// Gram statistics of the columns of E (any scale), optionally centred by `center` (d). Blocks of
// columns are converted to double and accumulated with dsyrk into two fixed partial sums, added at
// the end: bit-identical for any worker count. workers <= 0: the OpenBLAS thread setting.
GramStats gram_stats(const arma::fmat& E, const arma::vec* center = nullptr, int workers = 0);

struct PairMoments {
  double n_pairs = 0;   // n(n-1)/2
  double sum = 0;       // Σ_{i<j} cos_ij
  double sum_sq = 0;    // Σ_{i<j} cos_ij²
  double mean = 0;      // sum / n_pairs
  double variance = 0;  // population variance over the pairs: sum_sq / n_pairs − mean²
};

// Exact mean and variance of the off-diagonal cosines from the Gram of unit columns (part (a)).
PairMoments pair_moments(const GramStats& unit_gram);
PairMoments pair_moments(const arma::fmat& U, int workers = 0);

struct PairExtreme {
  float cos = 0;
  arma::uword i = 0, j = 0;  // i < j
};

struct AllPairsOptions {
  arma::uword bins = 2000;           // fixed range [-1, 1]
  arma::uword tile = 2048;           // tile edge (columns per block); 2048 measured best for d = 768
  int workers = 0;                   // <= 0: the OpenBLAS thread setting (embedlab::threads())
  ProgressFn progress;               // optional (this rank's share, scaled to the whole)
  const comm::Comm* comm = nullptr;  // nullptr: comm::for_kernel (the job under mpirun, else serial)
};

struct AllPairsStats {
  std::uint64_t n_pairs = 0;  // n(n-1)/2
  PairExtreme min, max;       // lowest / highest cosine and the lowest (i, j) attaining it
  // counts[b]: cosines c (float, clamped to [-1, 1]) with floor((c + 1) * bins / 2) = b, the top
  // edge c = 1 counted in the last bin.
  std::vector<std::uint64_t> counts;
  double sum = 0;          // Σ_{i<j} c_ij over the float tile values, double accumulation
  double sum_sq = 0;       // Σ_{i<j} c_ij²
  double tile_flops = 0;   // FLOPs of the GEMM/SYRK calls actually made, all ranks (for % of peak reports)
  double local_flops = 0;  // the part of tile_flops this rank made (= tile_flops when serial)

  double mean() const { return n_pairs ? sum / static_cast<double>(n_pairs) : 0.0; }
  double variance() const;
  double bin_lo(arma::uword b) const { return -1.0 + 2.0 * static_cast<double>(b) / counts.size(); }
  // Quantile q in [0, 1] from the histogram: linear interpolation inside the bin holding rank
  // q * n_pairs, clamped to [min.cos, max.cos].
  double quantile(double q) const;
};

// Part (b). Needs n >= 2 and unit columns; non-finite entries are a data error.
AllPairsStats all_pairs(const arma::fmat& U, const AllPairsOptions& options = {});

// The cosine matrix S = UᵀU of n positions (S_ij = cos(u_i, u_j), columns re-normalised in
// double, clamped, diagonal exactly 1 — as local_cosine) summarised without forming it: by offset
// k = |i − j| (mean and population sd over the n − k pairs) and block-averaged to an image of at
// most image_side × image_side (blocks of ceil(n / image_side) positions, as block_average).
// Tiles (tile, tile) I <= J are computed in double by single-threaded dgemm and their entries
// summed in 2^-60 fixed point into 128-bit integers, so the sums are the same bits for any tile
// order and worker count. Memory: per worker one tile, 32 bytes per position and 16 per pixel.
struct OffsetCosineOptions {
  arma::uword image_side = 256;  // 0: no image
  arma::uword tile = 512;
  int workers = 0;  // <= 0: embedlab::threads()
};
struct OffsetCosineStats {
  arma::vec mean, sd;  // index k = offset 0..n-1
  arma::uvec count;    // n − k
  arma::mat image;     // (r, r) block means, r = ceil(n / block)
  arma::uword block = 1;
};
OffsetCosineStats offset_cosine_stats(const arma::fmat& U, const OffsetCosineOptions& options = {});
// Bytes offset_cosine_stats holds at once for n positions (what the memory guard declares).
double offset_cosine_bytes(arma::uword n, const OffsetCosineOptions& options, int workers);

// Quantile from histogram counts over [lo, hi] (equal bins): the value at rank q * total,
// interpolated linearly inside its bin. Empty histogram: NaN.
double histogram_quantile(const std::vector<std::uint64_t>& counts, double lo, double hi, double q);

}  // namespace embedlab::linalg
