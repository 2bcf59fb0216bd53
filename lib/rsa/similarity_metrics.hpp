#pragma once
// Comparison of two embedding spaces over the same n words: CKA (linear, debiased, RBF), mutual
// k-NN and its Jaccard variant, orthogonal Procrustes, SVCCA and RSA (Spearman of the 1 − cos RDMs),
// each calibrated by a permutation null (rows of Y shuffled) and a bootstrap interval over words.
//
// Layout: X is (p, n) and Y is (q, n), column i = word i in both (the n×p matrix of the
// definitions, transposed, as everywhere in embedlab). Everything is computed in double except,
// for large inputs (MetricOptions::gram), the Gram products of the linear family: float32
// SGEMM/SSYRK over chunks of words, summed in double (each step's precision is stated in
// similarity_metrics.cpp; ~1e-7 relative).
//
// Costs: the linear metrics (both CKAs, Procrustes, SVCCA) need only the Gram matrices XXᵀ (p×p),
// YYᵀ (q×q), the cross product XYᵀ (p×q) and the row norms: O(n·(p+q)²), never n×n. A permutation
// of Y's rows changes only the cross product (one n·p·q product, the self terms are reused), the
// row-norm pairing and, for k-NN, the re-indexing of Y's neighbour lists. rbf_cka and rsa_spearman
// hold n×n matrices and are refused above `max_pairwise_rows`.
#include "core/rng.hpp"

#include <armadillo>

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace embedlab::rsa {

enum class Metric {
  linear_cka,
  linear_cka_debiased,
  rbf_cka,
  mutual_knn,
  jaccard_knn,
  procrustes_angular,
  procrustes_residual,
  svcca,
  rsa_spearman
};
// Every metric, in the order of the issue (and of the JSON output).
const std::vector<Metric>& all_metrics();
const std::vector<std::string>& metric_names();
std::string_view to_string(Metric m);
Metric parse_metric(std::string_view name);  // Error(usage) naming the allowed names
bool is_pairwise(Metric m);                  // holds n×n matrices (rbf_cka, rsa_spearman)
// true when a larger value means the spaces are more alike (false for the two Procrustes
// distances). The p-value is the upper tail for every metric, as defined; for the distances the
// evidence of likeness is therefore a p-value near 1 and a negative z.
bool higher_is_similar(Metric m);

// Precision of the linear family's Gram products (XcXcᵀ, YcYcᵀ, XcYcᵀ; everything after them is
// double): automatic = float32 when n·(p+q)² ≥ 2³⁰ (GPT-2-sized vocabularies), double below.
enum class GramPrecision { automatic, float32, float64 };
GramPrecision parse_gram_precision(std::string_view name);  // auto | float | double; Error(usage) else
std::string_view to_string(GramPrecision g);
// Whether a comparison of n rows, p and q dimensions runs its Grams in float32 under `g`.
bool uses_float_grams(GramPrecision g, arma::uword n, arma::uword p, arma::uword q);

struct MetricOptions {
  arma::uword k = 10;                              // neighbours of the k-NN metrics
  double svcca_energy = 0.99;                      // share of the squared singular values kept per side
  arma::uword max_pairwise_rows = 8000;            // rbf_cka / rsa_spearman refuse larger n (n×n doubles)
  int workers = 0;                                 // top-k workers (<= 0: the thread setting)
  std::string pairwise_key = "max_pairwise_rows";  // named in the refusal message
  // With p == q, also the Procrustes rotation and each word's displacement (an n·p² double
  // product); off, Procrustes gives ν and the two distances only.
  bool procrustes_details = true;
  GramPrecision gram = GramPrecision::automatic;
};

// ---- The individual metrics (each prepares what it needs; see Comparison for many at once) ----
double linear_cka(const arma::mat& X, const arma::mat& Y);
double linear_cka_debiased(const arma::mat& X, const arma::mat& Y);  // needs n >= 4
double rbf_cka(const arma::mat& X, const arma::mat& Y, const MetricOptions& o = {});
double rsa_spearman(const arma::mat& X, const arma::mat& Y, const MetricOptions& o = {});

// linear_cka between every pair of spaces over the same N columns (the states of a model's layers:
// each (C_l, N) float32, column j = occurrence j), without copying a space: each chunk of columns is
// centred in double on the fly; Gram products as MetricOptions::gram (float32 for N·(2·max C)² ≥ 2³⁰).
// Through the C × C cross-covariances, or, when N < (L+1)·mean C (fewer FLOPs), through tiles of the
// N × N occurrence Grams (tr(K_a K_b)); the two agree to rounding.
// columns, when given, are the occurrences used (indices into every space's columns, read in place:
// the same bits as the call on copies of those columns). The (L, L) symmetric matrix, diagonal 1
// (0 for a space of constant columns).
arma::mat linear_cka_matrix(const std::vector<const arma::fmat*>& spaces, const MetricOptions& o = {},
                            const std::vector<arma::uword>* columns = nullptr);

struct KnnOverlap {
  double mutual = 0.0, jaccard = 0.0;
  arma::uword k = 0;  // k_eff = min(k, n − 1)
};
KnnOverlap knn_overlap(const arma::mat& X, const arma::mat& Y, arma::uword k = 10, int workers = 0);

// The k nearest columns of each column by cosine (self excluded, ties to the lower index),
// exactly in double: candidates from the float blocked top-k kernel with a margin, re-scored in
// double. Result (k_eff, n), column i = the sorted neighbours of i.
arma::Mat<arma::uword> knn_cosine(const arma::mat& X, arma::uword k, int workers = 0);

struct Procrustes {
  double nu = 0.0;  // min(‖AᵀB‖_*, 1)
  double angular = 0.0, residual = 0.0;
  bool has_rotation = false;  // p == q
  arma::mat Q;                // (p, p) the rotation UVᵀ minimising ‖AQ − B‖_F (p == q only)
  arma::vec displacement;     // (n) ‖a_i Q − b_i‖ (p == q only)
};
Procrustes procrustes(const arma::mat& X, const arma::mat& Y, GramPrecision gram = GramPrecision::automatic);

struct Svcca {
  double value = 0.0;  // mean canonical correlation
  arma::uword kept_x = 0, kept_y = 0;
  arma::vec correlations;  // min(kept_x, kept_y), descending
};
Svcca svcca(const arma::mat& X, const arma::mat& Y, double energy = 0.99,
            GramPrecision gram = GramPrecision::automatic);

// ---- Many metrics on one pair, and their calibration ----
// Prepared once for a pair (X, Y); value(perm) gives every requested metric with Y's columns
// permuted (Y_π column i = Y column perm[i]); an empty perm is the identity (the observed values).
class Comparison {
 public:
  Comparison(const arma::mat& X, const arma::mat& Y, std::vector<Metric> metrics, const MetricOptions& o = {});
  ~Comparison();
  Comparison(Comparison&&) noexcept;
  Comparison& operator=(Comparison&&) noexcept;
  const std::vector<Metric>& metrics() const;
  arma::uword rows() const;
  std::vector<double> values(const std::vector<arma::uword>& perm = {}) const;
  // Observed Procrustes and SVCCA details (computed at construction when requested).
  const Procrustes& procrustes() const;
  const Svcca& svcca() const;
  // The observed per-word terms of mutual_knn or jaccard_knn (n; the metric is their mean).
  const arma::vec& knn_per_word(Metric m) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// How a metric's bootstrap interval is formed from its B resamples of the words (rows of X and Y
// drawn jointly with replacement):
//   percentile — [q(α/2), q(1−α/2)] of the metric recomputed on each resample (CKA, Procrustes,
//                RBF CKA, RSA);
//   basic      — [2θ̂ − q(1−α/2), 2θ̂ − q(α/2)], clipped to [0, 1] (SVCCA: a resample holds ~63% distinct
//                words, its CCA overfits more and the percentile interval sits above the truth);
//   word_mean  — percentile interval of the resampled mean of the observed per-word overlaps, the
//                neighbour lists computed once among all compared words (mutual/jaccard kNN:
//                recomputed on a resample, a duplicated word is its copy's nearest neighbour in
//                both spaces and the overlap inflates). It measures the uncertainty of averaging
//                over these words given their neighbour graph, not the graph's own variability:
//                under independent spaces (true value k/(n−1)) a 95% interval covered 82 of 100.
enum class Interval { percentile, basic, word_mean };
Interval interval_method(Metric m);
std::string_view to_string(Interval i);

struct Calibrated {
  Metric metric{};
  double value = 0.0;
  std::size_t permutations = 0;
  double p_value = 1.0;                   // (1 + #{null >= observed}) / (1 + P), NaN null values not counted
  double null_mean = 0.0, null_sd = 0.0;  // sd with divisor P − 1
  double z = 0.0;                         // (value − null_mean) / null_sd
  double excess = 0.0;                    // value − null_mean
  std::size_t bootstrap = 0;
  double level = 0.0;
  Interval interval = Interval::percentile;
  double ci_low = 0.0, ci_high = 0.0;  // the bootstrap interval (see Interval; NaN when B = 0)
  std::size_t failed = 0;              // bootstrap resamples whose value was not finite
  std::vector<double> null;            // the P null values, in permutation order
};

struct CalibrationOptions {
  std::size_t permutations = 1000;
  std::size_t bootstrap = 200;
  double level = 0.95;
  int workers = 0;  // <= 0: the thread setting
};

// Permutation i shuffles 0..n−1 with rng.child(0).child(i); bootstrap resample b draws n columns
// with replacement from rng.child(1).child(b) (interval per metric: see Interval). Permutations and resamples are
// spread over workers (single-threaded BLAS each), so the results are bit-identical for any worker count.
// Under mpirun (comm::for_kernel) each rank takes a fixed block of the permutations and one of the
// resamples and every rank gathers the values in order: bit-identical for any rank count too.
std::vector<Calibrated> calibrate(const arma::mat& X, const arma::mat& Y, const std::vector<Metric>& metrics,
                                  const MetricOptions& mo, const CalibrationOptions& co, const Rng& rng);

// Columns scaled to unit norm (compare.vectors = unit); a zero column throws Error(data) naming it.
arma::mat unit_columns(const arma::mat& X, const std::string& what);

}  // namespace embedlab::rsa
