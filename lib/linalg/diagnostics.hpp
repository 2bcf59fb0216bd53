#pragma once
// Diagnostics of an embedding space that distort what cosine similarity says (issue 15): hubness
// and its usual correction CSLS, rogue dimensions, intrinsic dimension (TwoNN) and isotropy
// (Mu & Viswanath's partition-function ratio, IsoScore). All pairs are considered; the n×n matrix
// is never formed.
//
// Shapes: U is (d, n) float with UNIT columns exactly as linalg::normalize_rows stores them
// (x·(1/‖x‖) in double, rounded to float); W is (d, n) float, the raw vectors of the same rows.
// Every definition below is on these float columns, evaluated in double:
//   cos(i, j)   = clamp(Σ_r U(r, i)·U(r, j), −1, 1)          (the stored unit columns, not renormalised)
//   dist(i, j)  = ‖U(:, i) − U(:, j)‖                          (computed from the differences)
//   kNN(i)      = the k columns j ≠ i of highest cos(i, j), ties to the lower j
// scripts/gen_diagnostics_reference.py implements the same definitions in float64 NumPy.
//
// Exactness of the neighbour lists: one blocked float pass (linalg::topk_all) keeps k + margin
// candidates per row; they are re-scored in double and re-ranked. The float cosines differ from the
// double ones by at most δ = γ_d = d·2⁻²⁴/(1 − d·2⁻²⁴) (|Σ a_r b_r| error bound with ‖a‖, ‖b‖ ≈ 1,
// any summation order), so when the worst kept float score f plus δ is still below the k-th double
// score, no column left out can belong to the top k. Rows where this does not hold (near-ties at
// the margin) are searched again over all columns with the threshold (k-th double score − δ) and
// re-scored. The lists are therefore exactly those of the double definition, whatever the tiles or
// the worker count.
#include "linalg/allpairs.hpp"

#include <armadillo>

#include <optional>
#include <vector>

namespace embedlab::linalg {

// --- exact k nearest neighbours by cosine (or CSLS) ---------------------------------------------------

struct KnnOptions {
  arma::uword k = 10;
  arma::uword margin = 6;   // float candidates kept per row beyond k for the double re-ranking
  arma::uword tile = 2048;  // tile edge of the float pass
  int workers = 0;          // <= 0: the OpenBLAS thread setting
  ProgressFn progress;      // of the float pass (units: pairs)
};

struct Knn {
  // (n, k_eff), k_eff = min(k, n − 1): best first by descending double score, ties to the lower id.
  arma::Mat<arma::uword> ids;
  arma::mat score;            // (n, k_eff) cos(i, ids(i, e)) in double, or the CSLS score
  arma::uword rescanned = 0;  // rows whose float candidates did not certify the top k (searched again)
};

// The k nearest columns of every column (self excluded). With `csls_r` (n entries) the score of j for
// row i is CSLS(i, j) = 2·cos(i, j) − r_i − r_j (Conneau et al. 2018, "Word translation without
// parallel data"; r from csls_radius), else cos(i, j). Needs n >= 2 and finite unit columns.
Knn knn_exact(const arma::fmat& U, const KnnOptions& options = {}, const arma::vec* csls_r = nullptr);

// cos(i, j) as defined above (the dot of the stored unit columns in double, clamped).
double pair_cosine(const arma::fmat& U, arma::uword i, arma::uword j);

// CSLS's r: the mean of the first k scores of each row of a cosine Knn (n); k <= knn.ids.n_cols.
arma::vec csls_radius(const Knn& knn, arma::uword k);

// --- hubness ----------------------------------------------------------------------------------------

struct Hubness {
  arma::uword k = 0;         // the k used (min(k, n − 1))
  arma::uvec counts;         // (n) N_k(x): how many rows have x among their k nearest
  double skewness = 0;       // population third standardised moment of N_k; NaN when all N_k are equal
  double antihub_share = 0;  // share of rows with N_k = 0
  double hub_share = 0;      // share of rows with N_k > 2k
  double robin_hood = 0;     // ½·Σ|N_k − k| / Σ N_k: share of the k-occurrences to move for equal N_k
};

// From the first k columns of a Knn (k <= knn.ids.n_cols).
Hubness hubness(const Knn& knn, arma::uword k);

// --- intrinsic dimension (TwoNN, Facco et al. 2017) -------------------------------------------------

struct TwoNN {
  // m / Σ_{rows with r1 > 0} log(r2 / r1), m = the number of those rows; NaN when m = 0 or the sum
  // is 0. r1 = dist(i, first neighbour), r2 = dist(i, second neighbour) in the kNN order. A row
  // with r1 = 0 has an identical unit column (a duplicate row, or a positive multiple of one) and is
  // left out of both m and the sum.
  double dimension = 0;
  arma::uword rows_used = 0;     // m
  arma::uword rows_r1_zero = 0;  // n − m
  arma::vec r1, r2;              // (n)
};

// From a cosine Knn with at least 2 columns (n >= 3).
TwoNN twonn(const arma::fmat& U, const Knn& knn);

// --- rogue dimensions (Timkey & van Schijndel 2021) ---------------------------------------------------

struct RogueDimensions {
  // (d) contribution of dimension j to the mean cosine over the n(n − 1) ordered pairs i ≠ i':
  // ((Σ_i u_ij)² − Σ_i u_ij²) / (n(n − 1)); the contributions sum to mean_cosine.
  arma::vec contribution;
  double mean_cosine = 0;
  arma::uvec dims;  // the `top` largest contributions, descending (ties: lower dimension)
  arma::vec share;  // contribution[dims] / mean_cosine (NaN when the mean cosine is 0)
};

// On the unit columns U (n >= 2).
RogueDimensions rogue_dimensions(const arma::fmat& U, arma::uword top = 3);

// The standardised cosine: each dimension of the raw W is z-scored over the rows (population sd;
// a constant dimension becomes 0), each row is then scaled to unit norm in double (a row equal to
// the mean has no direction and stays zero: cos 0 with every row), and the contributions are those
// of rogue_dimensions over these rows. n >= 2.
RogueDimensions rogue_dimensions_standardized(const arma::fmat& W, arma::uword top = 3);

// --- isotropy ---------------------------------------------------------------------------------------

struct PartitionIsotropy {
  // Mu & Viswanath (ICLR 2018, "All-but-the-Top"): min_c Z(c) / max_c Z(c), Z(c) = Σ_i exp(cᵀw_i)
  // over the unit eigenvectors c of WᵀW (raw rows w_i). An eigenvector is defined up to its sign,
  // so both c and −c are taken (2d values). log Z is accumulated as a log-sum-exp
  // (max + log Σ exp(x − max)) in double, so large projections do not overflow; the value is
  // exp(min log Z − max log Z). With repeated eigenvalues the eigen-solver's basis is used.
  double mu = 0;
  arma::vec eigenvalues;  // (d) of WᵀW, descending
  arma::vec log_z_plus;   // (d) log Z(c_i)   (c_i: eigenvector of eigenvalues[i], largest |entry| positive)
  arma::vec log_z_minus;  // (d) log Z(−c_i)
};

// On the raw columns W (n >= 1), in fixed column blocks: bit-identical for any worker count.
PartitionIsotropy mu_viswanath(const arma::fmat& W, int workers = 0);

// --- all of them --------------------------------------------------------------------------------------

struct DiagnosticsOptions {
  arma::uword k = 10;         // k of N_k and of CSLS's r
  bool csls = false;          // also the hubness of the CSLS neighbours (a second blocked pass)
  bool standardized = false;  // also the rogue dimensions of the standardised cosine
  arma::uword tile = 2048;
  int workers = 0;
  ProgressFn progress;       // the cosine pass
  ProgressFn csls_progress;  // the CSLS pass
};

struct Diagnostics {
  Knn knn;           // cosine, max(k, 2) columns: N_k, r1/r2 and CSLS's r all come from this one pass
  Hubness hubness;   // of the cosine neighbours
  arma::vec csls_r;  // (n) mean cos of each row to its k nearest
  std::optional<Knn> csls_knn;
  std::optional<Hubness> csls_hubness;
  RogueDimensions rogue;
  std::optional<RogueDimensions> rogue_standardized;
  TwoNN twonn;
  PartitionIsotropy isotropy;
  double iso_score = 0;  // linalg::iso_score(W); NaN unless n >= d >= 2
};

// U: unit columns (what hubness, TwoNN and the rogue dimensions see); W: the raw vectors of the same
// rows (isotropy, standardised rogue dimensions). n >= 3.
Diagnostics diagnostics(const arma::fmat& U, const arma::fmat& W, const DiagnosticsOptions& options = {});

// --- CSLS neighbours of one query ----------------------------------------------------------------------

struct CslsNeighbours {
  std::vector<arma::uword> ids;  // best first by CSLS, ties to the lower id
  std::vector<double> csls;      // 2·cos(q, j) − r_q − r_j
  std::vector<double> cos;       // cos(q, j)
  double r_query = 0;            // mean of the r_k highest cos(q, j), j not excluded
};

// q (d): a unit vector as normalize_rows makes it (a column of U gives exactly that row's r).
// r (n): csls_radius of U. Columns in `exclude` are neither answers nor part of r_q.
CslsNeighbours csls_neighbours(const arma::fmat& U, const arma::vec& r, const arma::fvec& q,
                               const std::vector<arma::uword>& exclude, arma::uword k, arma::uword r_k);

}  // namespace embedlab::linalg
