#include "rsa/similarity_metrics.hpp"
#include "comm/comm.hpp"

#include "core/error.hpp"
#include "core/threads.hpp"
#include "linalg/topk.hpp"
#include "rsa/rdm.hpp"
#include "stats/correlation.hpp"
#include "stats/resampling.hpp"

#include <cblas.h>
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <limits>
#include <mutex>
#include <numeric>
#include <type_traits>

namespace embedlab::rsa {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

struct Name {
  Metric m;
  const char* name;
};
constexpr Name kNames[] = {
    {Metric::linear_cka, "linear_cka"},
    {Metric::linear_cka_debiased, "linear_cka_debiased"},
    {Metric::rbf_cka, "rbf_cka"},
    {Metric::mutual_knn, "mutual_knn"},
    {Metric::jaccard_knn, "jaccard_knn"},
    {Metric::procrustes_angular, "procrustes_angular"},
    {Metric::procrustes_residual, "procrustes_residual"},
    {Metric::svcca, "svcca"},
    {Metric::rsa_spearman, "rsa_spearman"},
};

bool wants(const std::vector<Metric>& ms, std::initializer_list<Metric> any) {
  for (const auto m : ms)
    for (const auto a : any)
      if (m == a) return true;
  return false;
}

// ---- Precision of the linear family (CKA, debiased CKA, Procrustes, SVCCA) ----
// 1. Means, centring and the squared row norms a_i = ‖x_i − x̄‖² in double, from the double input.
// 2. The centred values are kept in the Gram precision (MetricOptions::gram): double, or rounded
//    once to float32 (relative 2⁻²⁴ per entry); they feed every Gram product, observed and permuted.
// 3. Gram products XcXcᵀ, YcYcᵀ (SYRK) and XcYc_πᵀ (GEMM) over chunks of kChunk words: sums of at
//    most kChunk terms inside one single-threaded BLAS call in the Gram precision, each chunk's
//    product added to a double accumulator in chunk order (the float error grows with √kChunk,
//    not √n, and no result depends on the worker count).
// 4. Everything after the Grams in double: Frobenius norms, HSIC_u terms, SVDs, eigen-bases.
// With float Grams a metric carries ~1e-7 relative error (tests: ≤ 1e-6 absolute against the
// float64 reference on GloVe); arccos ν is ill-conditioned near ν = 1, so procrustes_angular of
// nearly identical spaces (ν > 1 − 1e-6) is only good to ~√(2·1e-7) ≈ 5e-4 there: gram = double.
constexpr arma::uword kChunk = 2048;

// auto: float32 Grams once their double cost would matter (n·(p+q)² ≥ 2³⁰, ~1 GFLOP: 50257×768
// pairs are 1.2e11), double below (every GloVe- or test-sized comparison).
bool float_grams(GramPrecision g, arma::uword n, arma::uword p, arma::uword q) {
  if (g != GramPrecision::automatic) return g == GramPrecision::float32;
  const double pq = static_cast<double>(p + q);
  return static_cast<double>(n) * pq * pq >= 1073741824.0;
}

template <class T>
void gemm_nt(int m, int n, int k, const T* a, int lda, const T* b, int ldb, T* c, int ldc) {
  if constexpr (std::is_same_v<T, float>)
    cblas_sgemm(CblasColMajor, CblasNoTrans, CblasTrans, m, n, k, 1.0f, a, lda, b, ldb, 0.0f, c, ldc);
  else
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasTrans, m, n, k, 1.0, a, lda, b, ldb, 0.0, c, ldc);
}
template <class T>
void syrk_n(int n, int k, const T* a, int lda, T* c, int ldc) {
  if constexpr (std::is_same_v<T, float>)
    cblas_ssyrk(CblasColMajor, CblasUpper, CblasNoTrans, n, k, 1.0f, a, lda, 0.0f, c, ldc);
  else
    cblas_dsyrk(CblasColMajor, CblasUpper, CblasNoTrans, n, k, 1.0, a, lda, 0.0, c, ldc);
}

// Column means removed (p, n), column i = word i (the "column means" of the n×p matrix of the
// definitions are the row means here), in T; a(i) = ‖x_i − x̄‖² in double; mu the means.
template <class T>
void centre_columns(const arma::mat& X, arma::Mat<T>& Xc, arma::vec& a, arma::vec& mu, int workers) {
  const arma::uword p = X.n_rows, n = X.n_cols;
  mu = arma::mean(X, 1);
  Xc.set_size(p, n);
  a.set_size(n);
  const arma::uword chunks = (n + kChunk - 1) / kChunk;
  std::atomic<arma::uword> next{0};
  run_workers(std::max(1, std::min<int>(workers, static_cast<int>(chunks))), [&](int) {
    for (arma::uword c; (c = next.fetch_add(1)) < chunks;) {
      const arma::uword end = std::min(n, (c + 1) * kChunk);
      for (arma::uword i = c * kChunk; i < end; ++i) {
        const double* x = X.colptr(i);
        T* f = Xc.colptr(i);
        double s = 0.0;
        for (arma::uword r = 0; r < p; ++r) {
          const double v = x[r] - mu[r];
          s += v * v;
          f[r] = static_cast<T>(v);
        }
        a[i] = s;
      }
    }
  });
}

// C = Σ_i x_i y_π(i)ᵀ (p, q) and, when Gx/Gy are given, the self Grams Σ_i x_i x_iᵀ, Σ_i y_i y_iᵀ,
// from the columns of X (p, n) and Y (q, n); perm empty = identity. One single-threaded GEMM/SYRK
// per chunk of kChunk columns (geometry fixed by n), chunks spread over `workers`, their products
// added to the double results in chunk order: bit-identical for any worker count. A permutation
// gathers one chunk of Y's columns at a time (no n-column copy).
template <class T>
void chunked_products(const arma::Mat<T>& X, const arma::Mat<T>& Y, const std::vector<arma::uword>& perm, int workers,
                      arma::mat& C, arma::mat* Gx = nullptr, arma::mat* Gy = nullptr) {
  const arma::uword p = X.n_rows, q = Y.n_rows, n = X.n_cols;
  const bool self = Gx != nullptr;
  const arma::uword chunks = (n + kChunk - 1) / kChunk;
  C.zeros(p, q);
  if (self) {
    Gx->zeros(p, p);
    Gy->zeros(q, q);
  }
  const BlasSingleThread single;
  std::atomic<arma::uword> next{0};
  std::mutex mu;
  std::condition_variable cv;
  arma::uword turn = 0;
  const int P = static_cast<int>(p), Q = static_cast<int>(q);
  auto add = [](arma::mat& acc, const arma::Mat<T>& f, bool upper) {
    for (arma::uword j = 0; j < acc.n_cols; ++j) {
      double* a = acc.colptr(j);
      const T* b = f.colptr(j);
      const arma::uword rows = upper ? j + 1 : acc.n_rows;
      for (arma::uword i = 0; i < rows; ++i) a[i] += static_cast<double>(b[i]);
    }
  };
  run_workers(std::max(1, std::min<int>(workers, static_cast<int>(chunks))), [&](int) {
    arma::Mat<T> Cf(p, q), Gxf, Gyf, Yp;
    if (self) {
      Gxf.set_size(p, p);
      Gyf.set_size(q, q);
    }
    if (!perm.empty()) Yp.set_size(q, std::min(kChunk, n));
    for (arma::uword c; (c = next.fetch_add(1)) < chunks;) {
      const arma::uword c0 = c * kChunk, len = std::min(kChunk, n - c0);
      const int K = static_cast<int>(len);
      const T* yb = Y.colptr(c0);
      if (!perm.empty()) {
        for (arma::uword i = 0; i < len; ++i) std::copy_n(Y.colptr(perm[c0 + i]), q, Yp.colptr(i));
        yb = Yp.memptr();
      }
      // Cf (p, q) = X[:, chunk] (p, len) · Y_π[:, chunk]ᵀ (len, q)
      gemm_nt<T>(P, Q, K, X.colptr(c0), P, yb, Q, Cf.memptr(), P);
      if (self) {
        syrk_n<T>(P, K, X.colptr(c0), P, Gxf.memptr(), P);
        syrk_n<T>(Q, K, Y.colptr(c0), Q, Gyf.memptr(), Q);
      }
      std::unique_lock lock(mu);
      cv.wait(lock, [&] { return turn == c; });
      add(C, Cf, false);
      if (self) {
        add(*Gx, Gxf, true);
        add(*Gy, Gyf, true);
      }
      ++turn;
      lock.unlock();
      cv.notify_all();
    }
  });
  if (self) {
    *Gx = arma::symmatu(*Gx);
    *Gy = arma::symmatu(*Gy);
  }
}

void check_pair(const arma::mat& X, const arma::mat& Y, arma::uword min_rows) {
  if (X.n_cols != Y.n_cols)
    throw Error(Exit::usage, fmt::format("compare: the two spaces have different numbers of rows (got {} and {}, "
                                         "expected equal)",
                                         X.n_cols, Y.n_cols));
  if (X.n_cols < min_rows)
    throw Error(Exit::data,
                fmt::format("compare: rows: too few shared rows (got {}, expected at least {})", X.n_cols, min_rows));
  if (X.n_rows == 0 || Y.n_rows == 0)
    throw Error(Exit::data,
                fmt::format("compare: dims: a space has no dimensions (got {} and {})", X.n_rows, Y.n_rows));
  if (!X.is_finite() || !Y.is_finite()) throw Error(Exit::data, "compare: values: a space holds NaN or Inf");
}

// The columns a linear_cka_matrix call reads: column j of a space is its column (*idx)[j], or j
// itself when idx is null (every column, no copy either way).
struct ColumnMap {
  const std::vector<arma::uword>* idx = nullptr;
  arma::uword operator()(arma::uword j) const { return idx ? (*idx)[j] : j; }
};

// Columns c0 … c0+len−1 (through `cols`) of the float states S minus the means m, computed in
// double, rounded to T.
template <class T>
void centre_block(const arma::fmat& S, const arma::vec& m, arma::uword c0, arma::uword len, arma::Mat<T>& dst,
                  ColumnMap cols = {}) {
  dst.set_size(S.n_rows, len);
  for (arma::uword j = 0; j < len; ++j) {
    const float* s = S.colptr(cols(c0 + j));
    T* d = dst.colptr(j);
    for (arma::uword r = 0; r < S.n_rows; ++r) d[r] = static_cast<T>(static_cast<double>(s[r]) - m[r]);
  }
}

template <class T>
void gemm_tn(int m, int n, int k, const T* a, int lda, const T* b, int ldb, T* c, int ldc) {
  if constexpr (std::is_same_v<T, float>)
    cblas_sgemm(CblasColMajor, CblasTrans, CblasNoTrans, m, n, k, 1.0f, a, lda, b, ldb, 0.0f, c, ldc);
  else
    cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, m, n, k, 1.0, a, lda, b, ldb, 0.0, c, ldc);
}

// ‖X_a,c X_b,cᵀ‖_F² for every pair of the L spaces through the occurrence Grams instead:
// tr(K_a K_b) with K = X_cᵀ X_c (N × N), never held whole. The Grams are walked in tiles of
// kGramTile × kGramTile occurrences (the upper triangle of tiles; an off-diagonal tile counts twice):
// per tile, each space's K tile is one single-threaded GEMM of its centred columns (every space is
// centred once, in T: L·N·C̄ values held beside the spaces while this runs), the L
// tiles become the columns of a double matrix V, and VᵀV adds every pair's Frobenius products at once.
// Tiles go over the workers and their L × L sums are added in tile order (bit-identical for any
// workers). Cost L·N²·C̄ against Σ_{a≤b} 2·N·C_a·C_b for the cross-covariances: fewer FLOPs when
// N < (L+1)·C̄ (layer_geometry's 13 layers × 768 over 4096 occurrences: 2.4× fewer).
constexpr arma::uword kGramTile = 256;
template <class T>
arma::mat cross_by_grams(const std::vector<const arma::fmat*>& spaces, const std::vector<arma::vec>& mean,
                         arma::uword n, ColumnMap cols, int workers) {
  const std::size_t L = spaces.size();
  const arma::uword tiles = (n + kGramTile - 1) / kGramTile;
  std::vector<std::pair<arma::uword, arma::uword>> jobs;
  for (arma::uword i = 0; i < tiles; ++i)
    for (arma::uword j = i; j < tiles; ++j) jobs.emplace_back(i, j);
  // Every space centred once (in double, rounded to T): the tiles then read their columns in place.
  std::vector<arma::Mat<T>> centred(L);
  std::atomic<std::size_t> next_space{0};
  run_workers(std::max(1, std::min<int>(workers, static_cast<int>(L))), [&](int) {
    for (std::size_t l; (l = next_space.fetch_add(1)) < L;)
      centre_block<T>(*spaces[l], mean[l], 0, n, centred[l], cols);
  });
  std::vector<arma::mat> part(jobs.size());
  const BlasSingleThread single;
  std::atomic<std::size_t> next{0};
  run_workers(std::max(1, std::min<int>(workers, static_cast<int>(jobs.size()))), [&](int) {
    arma::Mat<T> K;
    arma::mat V;
    for (std::size_t t; (t = next.fetch_add(1)) < jobs.size();) {
      const auto [ti, tj] = jobs[t];
      const arma::uword i0 = ti * kGramTile, ni = std::min(kGramTile, n - i0);
      const arma::uword j0 = tj * kGramTile, nj = std::min(kGramTile, n - j0);
      V.set_size(ni * nj, L);
      K.set_size(ni, nj);
      for (std::size_t l = 0; l < L; ++l) {
        const arma::Mat<T>& X = centred[l];
        const int P = static_cast<int>(X.n_rows);
        gemm_tn<T>(static_cast<int>(ni), static_cast<int>(nj), P, X.colptr(i0), P, X.colptr(j0), P, K.memptr(),
                   static_cast<int>(ni));
        double* v = V.colptr(l);
        const T* k = K.memptr();
        for (arma::uword e = 0; e < ni * nj; ++e) v[e] = static_cast<double>(k[e]);
      }
      part[t] = V.t() * V;
      if (ti != tj) part[t] *= 2.0;
    }
  });
  arma::mat cross2(L, L, arma::fill::zeros);
  for (const auto& p : part) cross2 += p;
  return cross2;
}

// Σ_j (a_j − μa)(b_j − μb)ᵀ (p, q) over the N columns of float states A (p, N), B (q, N): each chunk
// of kChunk columns centred in double and rounded to T, one single-threaded GEMM (SYRK when A is B)
// per chunk, the chunk products added in double in chunk order (bit-identical for any workers).
template <class T>
arma::mat centred_cross(const arma::fmat& A, const arma::vec& ma, const arma::fmat& B, const arma::vec& mb, bool same,
                        arma::uword n, ColumnMap cols, int workers) {
  const arma::uword p = A.n_rows, q = B.n_rows;
  const arma::uword chunks = (n + kChunk - 1) / kChunk;
  arma::mat out(p, q, arma::fill::zeros);
  const BlasSingleThread single;
  std::atomic<arma::uword> next{0};
  std::mutex mu;
  std::condition_variable cv;
  arma::uword turn = 0;
  const int P = static_cast<int>(p), Q = static_cast<int>(q);
  run_workers(std::max(1, std::min<int>(workers, static_cast<int>(chunks))), [&](int) {
    arma::Mat<T> Ac, Bc, G(p, q);
    for (arma::uword c; (c = next.fetch_add(1)) < chunks;) {
      const arma::uword c0 = c * kChunk, len = std::min(kChunk, n - c0);
      centre_block<T>(A, ma, c0, len, Ac, cols);
      if (same) {
        syrk_n<T>(P, static_cast<int>(len), Ac.memptr(), P, G.memptr(), P);
      } else {
        centre_block<T>(B, mb, c0, len, Bc, cols);
        gemm_nt<T>(P, Q, static_cast<int>(len), Ac.memptr(), P, Bc.memptr(), Q, G.memptr(), P);
      }
      std::unique_lock lock(mu);
      cv.wait(lock, [&] { return turn == c; });
      for (arma::uword j = 0; j < q; ++j)
        for (arma::uword i = 0; i < (same ? j + 1 : p); ++i) out(i, j) += static_cast<double>(G(i, j));
      ++turn;
      lock.unlock();
      cv.notify_all();
    }
  });
  return same ? arma::mat(arma::symmatu(out)) : out;
}

// Procrustes displacement of each word, ‖a_i Q − b_i‖ with a_i = (x_i − x̄)/fx, b_i = (y_i − ȳ)/fy,
// in double (a rotated copy must give ~0, which float products cannot resolve): one
// single-threaded DGEMM Qᵀ·A[:, chunk] per chunk, chunks over workers, each column on its own.
arma::vec displacements(const arma::mat& X, const arma::mat& Y, const arma::vec& mx, const arma::vec& my,
                        const arma::mat& Q, double fx, double fy, int workers) {
  const arma::uword n = X.n_cols;
  arma::vec out(n);
  const arma::uword chunks = (n + kChunk - 1) / kChunk;
  const BlasSingleThread single;
  std::atomic<arma::uword> next{0};
  run_workers(std::max(1, std::min<int>(workers, static_cast<int>(chunks))), [&](int) {
    for (arma::uword c; (c = next.fetch_add(1)) < chunks;) {
      const arma::uword c0 = c * kChunk, c1 = std::min(n, c0 + kChunk) - 1;
      arma::mat A = X.cols(c0, c1), B = Y.cols(c0, c1);  // (p, len), (q, len)
      A.each_col() -= mx;
      B.each_col() -= my;
      A /= fx;
      B /= fy;
      const arma::mat D = Q.t() * A - B;  // row a_i Q is (Qᵀ a_i) as a column
      out.subvec(c0, c1) = arma::sqrt(arma::sum(arma::square(D), 0)).t();
    }
  });
  return out;
}

// Σ_{i<j} P(i, j) Q(π(i), π(j)) + ½ Σ_i P(i, i) Q(π(i), π(i)) for symmetric P, Q (n, n): half the
// Frobenius inner product of P and Q permuted on both sides.
double half_perm_inner(const arma::mat& P, const arma::mat& Q, const std::vector<arma::uword>& perm) {
  const arma::uword n = P.n_rows;
  double total = 0.0;
  for (arma::uword j = 0; j < n; ++j) {
    const arma::uword pj = perm.empty() ? j : perm[j];
    const double* pc = P.colptr(j);
    const double* qc = Q.colptr(pj);
    double s = 0.0;
    if (perm.empty()) {
      for (arma::uword i = 0; i < j; ++i) s += pc[i] * qc[i];
    } else {
      for (arma::uword i = 0; i < j; ++i) s += pc[i] * qc[perm[i]];
    }
    total += s + 0.5 * pc[j] * qc[pj];
  }
  return total;
}

// The kernel matrix K_ij = exp(−‖x_i − x_j‖² / (2σ²)), σ = median of the distances over i < j,
// double-centred (HKH). (n, n).
arma::mat centred_rbf(const arma::mat& X) {
  const arma::uword n = X.n_cols;
  const arma::mat G = X.t() * X;  // (n, n)
  const arma::vec sq = G.diag();
  arma::mat D2(n, n);
  std::vector<double> dist;
  dist.reserve(n * (n - 1) / 2);
  for (arma::uword j = 0; j < n; ++j) {
    D2(j, j) = 0.0;
    for (arma::uword i = 0; i < j; ++i) {
      const double d2 = std::max(0.0, sq[i] + sq[j] - 2.0 * G(i, j));
      D2(i, j) = D2(j, i) = d2;
      dist.push_back(std::sqrt(d2));
    }
  }
  // numpy.median: the mean of the two middle values when the count is even
  const std::size_t m = dist.size(), mid = m / 2;
  std::nth_element(dist.begin(), dist.begin() + static_cast<std::ptrdiff_t>(mid), dist.end());
  double sigma = dist[mid];
  if (m % 2 == 0)
    sigma = 0.5 * (sigma + *std::max_element(dist.begin(), dist.begin() + static_cast<std::ptrdiff_t>(mid)));
  if (!(sigma > 0.0))
    throw Error(Exit::data, "rbf_cka: sigma: the median pairwise distance is 0 (more than half the rows coincide)");
  arma::mat K = arma::exp(D2 * (-1.0 / (2.0 * sigma * sigma)));
  const arma::rowvec colmean = arma::mean(K, 0);
  const arma::vec rowmean = arma::mean(K, 1);
  const double all = arma::mean(rowmean);
  K.each_col() -= rowmean;
  K.each_row() -= colmean;
  K += all;
  return K;
}

// The 1 − cos RDM's upper triangle ranked (average ties) and centred, as a symmetric (n, n)
// matrix with a zero diagonal, and its squared norm over i < j.
arma::mat centred_rdm_ranks(const arma::mat& X, double& sumsq) {
  const arma::mat R = rdm(X, Dissimilarity::cosine);
  arma::vec r = stats::rank_average(upper_triangle(R));
  r -= arma::mean(r);
  sumsq = arma::dot(r, r);
  const arma::uword n = X.n_cols;
  arma::mat out(n, n, arma::fill::zeros);
  std::size_t t = 0;
  for (arma::uword i = 0; i < n; ++i)
    for (arma::uword j = i + 1; j < n; ++j) out(i, j) = out(j, i) = r[t++];
  return out;
}

void check_pairwise(const std::vector<Metric>& ms, arma::uword n, const MetricOptions& o) {
  for (const auto m : ms)
    if (is_pairwise(m) && n > o.max_pairwise_rows)
      throw Error(Exit::config, fmt::format("{}: {} holds n×n matrices and is refused for {} rows (got {}, expected "
                                            "at most {}; raise the key or leave the metric out)",
                                            o.pairwise_key, to_string(m), n, n, o.max_pairwise_rows));
}

// Eigen-decomposition of a Gram matrix G = Z Zᵀ (Z centred, (p, n)) sorted descending: the kept
// leading directions reaching `energy` of the trace, scaled by 1/s so that Zᵀ V S⁻¹ is an
// orthonormal basis of the kept coordinates.
arma::mat svcca_basis(const arma::mat& G, double energy, arma::uword& kept) {
  arma::vec lambda;
  arma::mat V;
  if (!arma::eig_sym(lambda, V, G)) throw Error(Exit::data, "svcca: eigen-decomposition failed");
  lambda = arma::flipud(lambda);
  V = arma::fliplr(V);
  lambda.transform([](double v) { return std::max(v, 0.0); });
  const double total = arma::accu(lambda);
  if (!(total > 0.0)) throw Error(Exit::data, "svcca: a space has zero variance");
  double run = 0.0;
  kept = 0;
  while (kept < lambda.n_elem) {
    run += lambda[kept++];
    if (run >= energy * total) break;
  }
  arma::mat B = V.cols(0, kept - 1);
  for (arma::uword c = 0; c < kept; ++c) B.col(c) /= std::sqrt(lambda[c]);
  return B;  // (p, kept)
}

double nuclear_norm(const arma::mat& M) {
  arma::vec s;
  if (!arma::svd(s, M)) throw Error(Exit::data, "compare: singular value decomposition failed");
  return arma::accu(s);
}

}  // namespace

const std::vector<Metric>& all_metrics() {
  static const std::vector<Metric> v = [] {
    std::vector<Metric> out;
    for (const auto& n : kNames) out.push_back(n.m);
    return out;
  }();
  return v;
}

const std::vector<std::string>& metric_names() {
  static const std::vector<std::string> v = [] {
    std::vector<std::string> out;
    for (const auto& n : kNames) out.emplace_back(n.name);
    return out;
  }();
  return v;
}

std::string_view to_string(Metric m) {
  for (const auto& n : kNames)
    if (n.m == m) return n.name;
  return "?";
}

Metric parse_metric(std::string_view name) {
  for (const auto& n : kNames)
    if (name == n.name) return n.m;
  std::string allowed;
  for (const auto& n : kNames) {
    if (!allowed.empty()) allowed += '|';
    allowed += n.name;
  }
  throw Error(Exit::usage, fmt::format("metric: unknown '{}' (expected one of {})", name, allowed));
}

bool is_pairwise(Metric m) { return m == Metric::rbf_cka || m == Metric::rsa_spearman; }
GramPrecision parse_gram_precision(std::string_view name) {
  if (name == "auto") return GramPrecision::automatic;
  if (name == "float") return GramPrecision::float32;
  if (name == "double") return GramPrecision::float64;
  throw Error(Exit::usage, fmt::format("gram precision: unknown '{}' (expected one of auto|float|double)", name));
}
std::string_view to_string(GramPrecision g) {
  return g == GramPrecision::automatic ? "auto" : g == GramPrecision::float32 ? "float" : "double";
}
bool uses_float_grams(GramPrecision g, arma::uword n, arma::uword p, arma::uword q) { return float_grams(g, n, p, q); }
bool higher_is_similar(Metric m) { return m != Metric::procrustes_angular && m != Metric::procrustes_residual; }

arma::mat unit_columns(const arma::mat& X, const std::string& what) {
  arma::mat U = X;
  for (arma::uword i = 0; i < X.n_cols; ++i) {
    const double nrm = arma::norm(X.col(i));
    if (!(nrm > 0.0) || !std::isfinite(nrm))
      throw Error(Exit::data, fmt::format("{}: row {}: zero or non-finite vector (cannot be made unit)", what, i));
    U.col(i) /= nrm;
  }
  return U;
}

arma::Mat<arma::uword> knn_cosine(const arma::mat& X, arma::uword k, int workers) {
  const arma::uword n = X.n_cols;
  if (n < 2) throw Error(Exit::data, fmt::format("knn: need at least 2 rows (got {})", n));
  const arma::mat U = unit_columns(X, "knn");
  const arma::uword k_eff = std::min(k, n - 1);
  // Float cosines pick candidates with a margin; the exact order is decided in double.
  linalg::TopKOptions o;
  o.k = std::min<arma::uword>(k_eff + 8, n - 1);
  o.workers = workers;
  const linalg::TopK cand = linalg::topk_all(arma::conv_to<arma::fmat>::from(U), o);
  arma::Mat<arma::uword> out(k_eff, n);
  std::vector<std::pair<double, arma::uword>> c(cand.ids.n_cols);
  for (arma::uword i = 0; i < n; ++i) {
    for (arma::uword e = 0; e < cand.ids.n_cols; ++e) {
      const arma::uword j = cand.ids(i, e);
      c[e] = {std::clamp(arma::dot(U.col(i), U.col(j)), -1.0, 1.0), j};
    }
    std::sort(c.begin(), c.end(), [](const auto& a, const auto& b) {
      return a.first != b.first ? a.first > b.first : a.second < b.second;
    });
    for (arma::uword e = 0; e < k_eff; ++e) out(e, i) = c[e].second;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
struct Comparison::Impl {
  std::vector<Metric> metrics;
  MetricOptions o;
  arma::uword n = 0, p = 0, q = 0;
  bool need_gram = false, need_knn = false;
  // Linear family (X, Y centred): self Grams and what a permutation reuses.
  bool single = false;      // float32 Gram products (else double)
  arma::fmat Xf, Yf;        // (p, n), (q, n) centred, float32 (single) ...
  arma::mat Xd, Yd;         // ... or double: every Gram product, observed and permuted
  arma::mat C;              // (p, q) observed cross product Xc Ycᵀ, chunk products summed in double
  arma::vec a, b;           // squared row norms of Xc, Yc (n), double; K̃1 = −a, L̃1 = −b
  double sK = 0, sL = 0;    // 1ᵀK̃1, 1ᵀL̃1
  double gx = 0, gy = 0;    // ‖XcᵀXc‖_F, ‖YcᵀYc‖_F (the same as ‖Gx‖_F, ‖Gy‖_F)
  double hKK = 0, hLL = 0;  // HSIC_u(K, K), HSIC_u(L, L)
  double fx = 0, fy = 0;    // ‖Xc‖_F, ‖Yc‖_F
  arma::mat Bx, By;         // SVCCA bases (p, kx), (q, ky)
  Procrustes proc;
  Svcca sv;
  // k-NN lists (k_eff, n)
  arma::Mat<arma::uword> nx, ny;
  // Pairwise: centred RBF kernels, centred RDM ranks (n, n)
  arma::mat Kc, Lc, RA, RB;
  double kcn = 0, lcn = 0, ra2 = 0, rb2 = 0;

  arma::vec knn_mutual, knn_jaccard;  // per word, observed (n)

  // Per word i: |N_X(i) ∩ N_Yπ(i)| / k and the Jaccard ratio, with N_Yπ(i) = π⁻¹(N_Y(π(i))): Y's
  // lists re-indexed, not recomputed.
  void knn_words(const std::vector<arma::uword>& perm, arma::vec& wm, arma::vec& wj) const {
    const bool ident = perm.empty();
    const arma::uword k = nx.n_rows;
    std::vector<arma::uword> inv(n);
    for (arma::uword i = 0; i < n; ++i) inv[ident ? i : perm[i]] = i;
    std::vector<arma::uword> stamp(n, 0);
    wm.set_size(n);
    wj.set_size(n);
    for (arma::uword i = 0; i < n; ++i) {
      for (arma::uword e = 0; e < k; ++e) stamp[nx(e, i)] = i + 1;
      const arma::uword pi = ident ? i : perm[i];
      arma::uword common = 0;
      for (arma::uword e = 0; e < k; ++e) common += stamp[inv[ny(e, pi)]] == i + 1;
      wm[i] = static_cast<double>(common) / static_cast<double>(k);
      wj[i] = static_cast<double>(common) / static_cast<double>(2 * k - common);
    }
  }

  double hsic(double tr, double s1, double s2, double one) const {
    const double nn = static_cast<double>(n);
    return (tr + s1 * s2 / ((nn - 1) * (nn - 2)) - 2.0 / (nn - 2) * one) / (nn * (nn - 3));
  }
};

Comparison::Comparison(const arma::mat& X, const arma::mat& Y, std::vector<Metric> metrics, const MetricOptions& o)
    : impl_(std::make_unique<Impl>()) {
  auto& s = *impl_;
  s.metrics = std::move(metrics);
  s.o = o;
  const bool debiased = wants(s.metrics, {Metric::linear_cka_debiased});
  check_pair(X, Y, debiased ? 4 : 3);
  check_pairwise(s.metrics, X.n_cols, o);
  s.n = X.n_cols;
  s.p = X.n_rows;
  s.q = Y.n_rows;
  s.need_gram = wants(s.metrics, {Metric::linear_cka, Metric::linear_cka_debiased, Metric::procrustes_angular,
                                  Metric::procrustes_residual, Metric::svcca});
  s.need_knn = wants(s.metrics, {Metric::mutual_knn, Metric::jaccard_knn});
  if (s.need_gram) {
    const int workers = worker_count(o.workers);
    arma::vec mx, my;
    s.single = float_grams(o.gram, s.n, s.p, s.q);
    arma::mat Gx, Gy;
    if (s.single) {
      centre_columns(X, s.Xf, s.a, mx, workers);
      centre_columns(Y, s.Yf, s.b, my, workers);
      chunked_products(s.Xf, s.Yf, {}, workers, s.C, &Gx, &Gy);
    } else {
      centre_columns(X, s.Xd, s.a, mx, workers);
      centre_columns(Y, s.Yd, s.b, my, workers);
      chunked_products(s.Xd, s.Yd, {}, workers, s.C, &Gx, &Gy);
    }
    s.gx = arma::norm(Gx, "fro");
    s.gy = arma::norm(Gy, "fro");
    s.fx = std::sqrt(arma::accu(s.a));
    s.fy = std::sqrt(arma::accu(s.b));
    if (!(s.fx > 0.0) || !(s.fy > 0.0))
      throw Error(Exit::data, fmt::format("compare: {}: every row is the same vector (zero variance after centring)",
                                          s.fx > 0.0 ? "space_b" : "space_a"));
    // K = XcXcᵀ with Xc centred: K1 = Xc(Xcᵀ1) = 0, so K̃1 = −diag(K) = −a and 1ᵀK̃1 = −Σa exactly
    // (likewise for L); the HSIC_u terms need no n×n matrix and no further pass over the data.
    s.sK = -arma::accu(s.a);
    s.sL = -arma::accu(s.b);
    if (debiased) {
      s.hKK = s.hsic(s.gx * s.gx - arma::dot(s.a, s.a), s.sK, s.sK, arma::dot(s.a, s.a));
      s.hLL = s.hsic(s.gy * s.gy - arma::dot(s.b, s.b), s.sL, s.sL, arma::dot(s.b, s.b));
    }
    if (wants(s.metrics, {Metric::svcca})) {
      s.Bx = svcca_basis(Gx, o.svcca_energy, s.sv.kept_x);
      s.By = svcca_basis(Gy, o.svcca_energy, s.sv.kept_y);
      arma::vec cc = arma::svd(s.Bx.t() * s.C * s.By);
      cc = arma::clamp(cc, 0.0, 1.0);
      s.sv.correlations = cc;
      s.sv.value = arma::mean(cc);
    }
    if (wants(s.metrics, {Metric::procrustes_angular, Metric::procrustes_residual})) {
      const arma::mat M = s.C / (s.fx * s.fy);  // AᵀB (p, q)
      const bool rotation = s.p == s.q && o.procrustes_details;
      arma::mat U, V;
      arma::vec sv;
      if (!(rotation ? arma::svd(U, sv, V, M) : arma::svd(sv, M)))
        throw Error(Exit::data, "procrustes: singular value decomposition failed");
      s.proc.nu = std::min(arma::accu(sv), 1.0);
      s.proc.angular = std::acos(s.proc.nu);
      s.proc.residual = 2.0 - 2.0 * s.proc.nu;
      if (rotation) {
        s.proc.has_rotation = true;
        s.proc.Q = U * V.t();
        s.proc.displacement = displacements(X, Y, mx, my, s.proc.Q, s.fx, s.fy, workers);
      }
    }
  }
  if (s.need_knn) {
    s.nx = knn_cosine(X, o.k, o.workers);
    s.ny = knn_cosine(Y, o.k, o.workers);
    s.knn_words({}, s.knn_mutual, s.knn_jaccard);
  }
  if (wants(s.metrics, {Metric::rbf_cka})) {
    s.Kc = centred_rbf(X);
    s.Lc = centred_rbf(Y);
    s.kcn = arma::norm(s.Kc, "fro");
    s.lcn = arma::norm(s.Lc, "fro");
  }
  if (wants(s.metrics, {Metric::rsa_spearman})) {
    s.RA = centred_rdm_ranks(X, s.ra2);
    s.RB = centred_rdm_ranks(Y, s.rb2);
  }
}

Comparison::~Comparison() = default;
Comparison::Comparison(Comparison&&) noexcept = default;
Comparison& Comparison::operator=(Comparison&&) noexcept = default;
const std::vector<Metric>& Comparison::metrics() const { return impl_->metrics; }
arma::uword Comparison::rows() const { return impl_->n; }
const Procrustes& Comparison::procrustes() const { return impl_->proc; }
const Svcca& Comparison::svcca() const { return impl_->sv; }
const arma::vec& Comparison::knn_per_word(Metric m) const {
  if (!impl_->need_knn || (m != Metric::mutual_knn && m != Metric::jaccard_knn))
    throw Error(Exit::software, "compare: per-word overlaps of a metric that is not a requested k-NN metric");
  return m == Metric::mutual_knn ? impl_->knn_mutual : impl_->knn_jaccard;
}

std::vector<double> Comparison::values(const std::vector<arma::uword>& perm) const {
  const auto& s = *impl_;
  const bool ident = perm.empty();
  if (!ident && perm.size() != s.n) throw Error(Exit::software, "compare: permutation of the wrong length");
  std::vector<double> out;
  // The permuted cross product Xc Ycπᵀ (one SGEMM) and the permuted pairings of the row terms.
  arma::mat C;
  double ab = 0, kl = 0;
  if (s.need_gram) {
    if (ident)
      C = s.C;
    else if (s.single)
      chunked_products(s.Xf, s.Yf, perm, 1, C);  // the one n·p·q product of a permutation
    else
      chunked_products(s.Xd, s.Yd, perm, 1, C);
    for (arma::uword i = 0; i < s.n; ++i) ab += s.a[i] * s.b[ident ? i : perm[i]];
    kl = ab;  // (K̃1)ᵀ(L̃_π1) = aᵀb_π
  }
  double nu = kNaN;
  auto procrustes_nu = [&] {
    if (std::isnan(nu)) nu = ident ? s.proc.nu : std::min(nuclear_norm(C) / (s.fx * s.fy), 1.0);
    return nu;
  };
  double mutual = kNaN, jaccard = kNaN;
  auto knn = [&] {
    if (!std::isnan(mutual)) return;
    arma::vec wm, wj;
    s.knn_words(perm, wm, wj);
    double sm = 0, sj = 0;
    for (arma::uword i = 0; i < s.n; ++i) {
      sm += wm[i];
      sj += wj[i];
    }
    mutual = sm / static_cast<double>(s.n);
    jaccard = sj / static_cast<double>(s.n);
  };
  for (const auto m : s.metrics) {
    switch (m) {
      case Metric::linear_cka:
        out.push_back(arma::accu(arma::square(C)) / (s.gx * s.gy));
        break;
      case Metric::linear_cka_debiased: {
        const double cc = arma::accu(arma::square(C));
        const double h = s.hsic(cc - ab, s.sK, s.sL, kl);
        out.push_back(s.hKK * s.hLL > 0.0 ? h / std::sqrt(s.hKK * s.hLL) : kNaN);
        break;
      }
      case Metric::rbf_cka:
        // ⟨Kc, Lcπ⟩ over the full matrices = 2 × the half inner product
        out.push_back(2.0 * half_perm_inner(s.Kc, s.Lc, perm) / (s.kcn * s.lcn));
        break;
      case Metric::mutual_knn:
        knn();
        out.push_back(mutual);
        break;
      case Metric::jaccard_knn:
        knn();
        out.push_back(jaccard);
        break;
      case Metric::procrustes_angular:
        out.push_back(ident ? s.proc.angular : std::acos(procrustes_nu()));
        break;
      case Metric::procrustes_residual:
        out.push_back(ident ? s.proc.residual : 2.0 - 2.0 * procrustes_nu());
        break;
      case Metric::svcca:
        if (ident) {
          out.push_back(s.sv.value);
        } else {
          const arma::vec cc = arma::clamp(arma::vec(arma::svd(s.Bx.t() * C * s.By)), 0.0, 1.0);
          out.push_back(arma::mean(cc));
        }
        break;
      case Metric::rsa_spearman: {
        // the diagonal of the rank matrices is zero, so the half inner product is Σ_{i<j}
        const double r = half_perm_inner(s.RA, s.RB, perm) / std::sqrt(s.ra2 * s.rb2);
        out.push_back(std::clamp(r, -1.0, 1.0));
        break;
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
double linear_cka(const arma::mat& X, const arma::mat& Y) { return Comparison(X, Y, {Metric::linear_cka}).values()[0]; }
double linear_cka_debiased(const arma::mat& X, const arma::mat& Y) {
  return Comparison(X, Y, {Metric::linear_cka_debiased}).values()[0];
}
double rbf_cka(const arma::mat& X, const arma::mat& Y, const MetricOptions& o) {
  return Comparison(X, Y, {Metric::rbf_cka}, o).values()[0];
}
double rsa_spearman(const arma::mat& X, const arma::mat& Y, const MetricOptions& o) {
  return Comparison(X, Y, {Metric::rsa_spearman}, o).values()[0];
}
arma::mat linear_cka_matrix(const std::vector<const arma::fmat*>& spaces, const MetricOptions& o,
                            const std::vector<arma::uword>* columns) {
  const std::size_t L = spaces.size();
  arma::mat out(L, L, arma::fill::zeros);
  if (L == 0) return out;
  const arma::uword width = spaces[0]->n_cols;  // every space's column count
  const ColumnMap cols{columns};
  const arma::uword n = columns ? static_cast<arma::uword>(columns->size()) : width;  // the columns used
  if (columns)
    for (std::size_t j = 0; j < columns->size(); ++j)
      if ((*columns)[j] >= width)
        throw Error(Exit::software,
                    fmt::format("linear_cka_matrix: column {}: index {} out of range (spaces have {} columns)", j,
                                (*columns)[j], width));
  arma::uword widest = 0;
  for (std::size_t l = 0; l < L; ++l) {
    const arma::fmat& S = *spaces[l];
    if (S.n_cols != width)
      throw Error(Exit::data,
                  fmt::format("linear_cka_matrix: space {}: {} columns (expected {}, as space 0)", l, S.n_cols, width));
    for (arma::uword j = 0; j < n; ++j)  // the columns used, only
      if (!std::all_of(S.colptr(cols(j)), S.colptr(cols(j)) + S.n_rows, [](float x) { return std::isfinite(x); }))
        throw Error(Exit::data, fmt::format("linear_cka_matrix: space {}: NaN or Inf", l));
    widest = std::max(widest, S.n_rows);
  }
  if (n < 2) return out;
  const int workers = worker_count(o.workers);
  std::vector<arma::vec> mean(L);
  for (std::size_t l = 0; l < L; ++l) {
    const arma::fmat& S = *spaces[l];
    mean[l].zeros(S.n_rows);
    double* m = mean[l].memptr();
    for (arma::uword j = 0; j < n; ++j) {
      const float* s = S.colptr(cols(j));
      for (arma::uword r = 0; r < S.n_rows; ++r) m[r] += s[r];
    }
    mean[l] /= static_cast<double>(n);
  }
  const bool single = float_grams(o.gram, n, widest, widest);
  double width_sum = 0;
  for (const auto* s : spaces) width_sum += static_cast<double>(s->n_rows);
  arma::mat cross2(L, L);  // ‖X_c Y_cᵀ‖_F² (columns = occurrences)
  if (static_cast<double>(n) < static_cast<double>(L + 1) * width_sum / static_cast<double>(L)) {
    cross2 = single ? cross_by_grams<float>(spaces, mean, n, cols, workers)
                    : cross_by_grams<double>(spaces, mean, n, cols, workers);
  } else {
    for (std::size_t a = 0; a < L; ++a)
      for (std::size_t b = a; b < L; ++b) {
        const arma::mat G =
            single ? centred_cross<float>(*spaces[a], mean[a], *spaces[b], mean[b], a == b, n, cols, workers)
                   : centred_cross<double>(*spaces[a], mean[a], *spaces[b], mean[b], a == b, n, cols, workers);
        cross2(a, b) = cross2(b, a) = arma::accu(arma::square(G));
      }
  }
  for (std::size_t a = 0; a < L; ++a)
    for (std::size_t b = 0; b < L; ++b) {
      const double den = std::sqrt(cross2(a, a)) * std::sqrt(cross2(b, b));
      out(a, b) = den > 0 ? std::clamp(cross2(a, b) / den, 0.0, 1.0) : 0.0;
    }
  return out;
}

KnnOverlap knn_overlap(const arma::mat& X, const arma::mat& Y, arma::uword k, int workers) {
  MetricOptions o;
  o.k = k;
  o.workers = workers;
  const auto v = Comparison(X, Y, {Metric::mutual_knn, Metric::jaccard_knn}, o).values();
  return {v[0], v[1], std::min(k, X.n_cols - 1)};
}
Procrustes procrustes(const arma::mat& X, const arma::mat& Y, GramPrecision gram) {
  MetricOptions o;
  o.gram = gram;
  return Comparison(X, Y, {Metric::procrustes_angular}, o).procrustes();
}
Svcca svcca(const arma::mat& X, const arma::mat& Y, double energy, GramPrecision gram) {
  MetricOptions o;
  o.svcca_energy = energy;
  o.gram = gram;
  return Comparison(X, Y, {Metric::svcca}, o).svcca();
}

Interval interval_method(Metric m) {
  if (m == Metric::mutual_knn || m == Metric::jaccard_knn) return Interval::word_mean;
  if (m == Metric::svcca) return Interval::basic;
  return Interval::percentile;
}
std::string_view to_string(Interval i) {
  switch (i) {
    case Interval::percentile:
      return "percentile";
    case Interval::basic:
      return "basic";
    case Interval::word_mean:
      return "word_mean";
  }
  return "?";
}

std::vector<Calibrated> calibrate(const arma::mat& X, const arma::mat& Y, const std::vector<Metric>& metrics,
                                  const MetricOptions& mo, const CalibrationOptions& co, const Rng& rng) {
  const int workers = worker_count(co.workers);
  MetricOptions inner = mo;
  inner.workers = 1;                 // the workers below are the parallelism
  inner.procrustes_details = false;  // a resample needs the metric values only
  std::vector<Calibrated> out(metrics.size());
  std::vector<std::vector<double>> null(metrics.size(), std::vector<double>(co.permutations));
  std::vector<std::vector<double>> boot(metrics.size(), std::vector<double>(co.bootstrap));
  MetricOptions outer = mo;
  outer.workers = workers;
  const Comparison cmp(X, Y, metrics, outer);
  const std::vector<double> observed = cmp.values();
  const arma::uword n = cmp.rows();
  // A resample recomputes every metric except the k-NN pair: duplicated words would be each
  // other's nearest neighbours in both spaces and inflate the overlap, so the k-NN interval
  // resamples the observed per-word overlaps instead (neighbour lists fixed over all words).
  std::vector<Metric> recomputed;
  std::vector<std::size_t> where(metrics.size(), metrics.size());
  for (std::size_t m = 0; m < metrics.size(); ++m)
    if (metrics[m] != Metric::mutual_knn && metrics[m] != Metric::jaccard_knn) {
      where[m] = recomputed.size();
      recomputed.push_back(metrics[m]);
    }
  // Permutation t draws from rng.child(0).child(t), resample b from rng.child(1).child(b). Under
  // mpirun (comm::for_kernel) each rank takes a fixed block of the permutations and one of the
  // resamples, and the values are gathered in order: every result is the same bits for any rank
  // count and equal to the serial run.
  const comm::Comm& comm = comm::for_kernel(nullptr);
  const comm::Range pr = comm::block(comm, co.permutations), br = comm::block(comm, co.bootstrap);
  comm.agree([&] {
    comm::fault_point(comm, true);
    BlasSingleThread single;
    const Rng prng = rng.child(0), brng = rng.child(1);
    std::atomic<std::size_t> next{0};
    const std::size_t total = pr.size() + br.size();
    run_workers(workers, [&](int) {
      std::vector<arma::uword> perm(n);
      for (std::size_t u; (u = next.fetch_add(1)) < total;) {
        if (u < pr.size()) {
          const std::size_t t = pr.begin + u;
          Rng r = prng.child(t);
          std::iota(perm.begin(), perm.end(), arma::uword{0});
          r.shuffle(perm.begin(), perm.end());
          const auto v = cmp.values(perm);
          for (std::size_t m = 0; m < metrics.size(); ++m) null[m][t] = v[m];
        } else {
          const std::size_t b = br.begin + (u - pr.size());
          Rng r = brng.child(b);
          arma::uvec idx(n);
          for (arma::uword i = 0; i < n; ++i) idx[i] = r.below(n);
          std::vector<double> v(recomputed.size(), kNaN);
          if (!recomputed.empty()) try {
              v = Comparison(X.cols(idx), Y.cols(idx), recomputed, inner).values();
            } catch (const Error&) {
              // a degenerate resample (e.g. too few distinct rows) counts as failed
            }
          for (std::size_t m = 0; m < metrics.size(); ++m) {
            if (where[m] < recomputed.size()) {
              boot[m][b] = v[where[m]];
            } else {
              const arma::vec& w = cmp.knn_per_word(metrics[m]);
              double sum = 0;
              for (arma::uword i = 0; i < n; ++i) sum += w[idx[i]];
              boot[m][b] = sum / static_cast<double>(n);
            }
          }
        }
      }
    });
  });
  if (comm.distributed()) {  // every rank's blocks, in permutation (resample) order
    const std::size_t M = metrics.size();
    const auto gather = [&](std::vector<std::vector<double>>& values, const comm::Range& r, std::size_t count) {
      std::vector<double> part;
      part.reserve(r.size() * M);
      for (std::size_t t = r.begin; t < r.end; ++t)
        for (std::size_t m = 0; m < M; ++m) part.push_back(values[m][t]);
      const std::vector<double> all = comm::gather_blocks(comm, part, count, M);
      for (std::size_t t = 0; t < count; ++t)
        for (std::size_t m = 0; m < M; ++m) values[m][t] = all[t * M + m];
    };
    gather(null, pr, co.permutations);
    gather(boot, br, co.bootstrap);
  }
  for (std::size_t m = 0; m < metrics.size(); ++m) {
    auto& c = out[m];
    c.metric = metrics[m];
    c.value = observed[m];
    c.permutations = co.permutations;
    c.bootstrap = co.bootstrap;
    c.level = co.level;
    if (co.permutations > 0) {
      c.p_value = stats::permutation_p_value(c.value, null[m]);
      double s = 0, s2 = 0;
      std::size_t cnt = 0;
      for (const double v : null[m])
        if (std::isfinite(v)) {
          s += v;
          ++cnt;
        }
      c.null_mean = cnt ? s / static_cast<double>(cnt) : kNaN;
      for (const double v : null[m])
        if (std::isfinite(v)) s2 += (v - c.null_mean) * (v - c.null_mean);
      c.null_sd = cnt > 1 ? std::sqrt(s2 / static_cast<double>(cnt - 1)) : kNaN;
      c.z = c.null_sd > 0 ? (c.value - c.null_mean) / c.null_sd : kNaN;
      c.excess = c.value - c.null_mean;
    } else {
      c.p_value = c.null_mean = c.null_sd = c.z = c.excess = kNaN;
    }
    c.null = std::move(null[m]);
    c.failed = static_cast<std::size_t>(
        std::count_if(boot[m].begin(), boot[m].end(), [](double v) { return !std::isfinite(v); }));
    c.interval = interval_method(c.metric);
    if (co.bootstrap > c.failed) {
      const auto ci = stats::percentile_interval(boot[m], co.level);
      if (c.interval == Interval::basic) {
        // SVCCA over fewer distinct words overfits more, so its resamples sit above the observed
        // value by about as much as the observed value sits above the population's: the basic
        // (reverse percentile) interval [2θ̂ − q_hi, 2θ̂ − q_lo] removes that shift; clipped to [0, 1].
        c.ci_low = std::clamp(2.0 * c.value - ci.hi, 0.0, 1.0);
        c.ci_high = std::clamp(2.0 * c.value - ci.lo, 0.0, 1.0);
      } else {
        c.ci_low = ci.lo;
        c.ci_high = ci.hi;
      }
    } else {
      c.ci_low = c.ci_high = kNaN;
    }
  }
  return out;
}

}  // namespace embedlab::rsa
