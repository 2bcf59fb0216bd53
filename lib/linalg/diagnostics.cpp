#include "linalg/diagnostics.hpp"

#include "core/error.hpp"
#include "core/threads.hpp"
#include "linalg/anisotropy.hpp"
#include "linalg/spectra.hpp"
#include "linalg/topk.hpp"

#include <cblas.h>
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <numeric>

namespace embedlab::linalg {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Σ_r a_r b_r in double with four interleaved partial sums combined as (s0 + s1) + (s2 + s3): one
// fixed order for every caller, so equal columns give bit-equal scores (exact ties stay ties).
double dot_d(const float* a, const float* b, arma::uword d) {
  double s[4] = {0, 0, 0, 0};
  arma::uword r = 0;
  for (; r + 4 <= d; r += 4)
    for (int t = 0; t < 4; ++t) s[t] += static_cast<double>(a[r + t]) * static_cast<double>(b[r + t]);
  for (; r < d; ++r) s[r % 4] += static_cast<double>(a[r]) * static_cast<double>(b[r]);
  return (s[0] + s[1]) + (s[2] + s[3]);
}

double dist_d(const float* a, const float* b, arma::uword d) {
  double s[4] = {0, 0, 0, 0};
  arma::uword r = 0;
  for (; r + 4 <= d; r += 4)
    for (int t = 0; t < 4; ++t) {
      const double x = static_cast<double>(a[r + t]) - static_cast<double>(b[r + t]);
      s[t] += x * x;
    }
  for (; r < d; ++r) {
    const double x = static_cast<double>(a[r]) - static_cast<double>(b[r]);
    s[r % 4] += x * x;
  }
  return std::sqrt((s[0] + s[1]) + (s[2] + s[3]));
}

double clamp1(double v) { return std::clamp(v, -1.0, 1.0); }

struct Scored {
  double score;
  arma::uword id;
};
bool better(const Scored& a, const Scored& b) { return a.score > b.score || (a.score == b.score && a.id < b.id); }

// The score of candidate j for row i in double (see the header).
struct Scorer {
  const arma::fmat& U;
  const arma::vec* r;
  double operator()(arma::uword i, arma::uword j) const {
    const double c = clamp1(dot_d(U.colptr(i), U.colptr(j), U.n_rows));
    return r ? 2.0 * c - (*r)[i] - (*r)[j] : c;
  }
};

void check_unit(const arma::fmat& U, const char* what, arma::uword min_n) {
  if (U.n_cols < min_n) data_error(what, "rows", fmt::format("need at least {} rows (got {})", min_n, U.n_cols));
  if (U.n_rows < 1) data_error(what, "dims", "need at least 1 dimension (got 0)");
  if (!U.is_finite()) data_error(what, "matrix", "non-finite entries (normalise with linalg::normalize_rows first)");
}

// Rows `rows` searched again over all columns: every j ≠ i whose float score reaches thr[q] is
// re-scored in double; the best k_eff are written to out.
void rescan(const arma::fmat& U, const std::vector<arma::uword>& rows, const std::vector<double>& thr,
            const Scorer& score, const arma::fvec* rf, arma::uword k_eff, arma::uword tile, int workers_req, Knn& out) {
  const arma::uword d = U.n_rows, n = U.n_cols, q = rows.size();
  constexpr arma::uword kQueryBlock = 256;
  const arma::uword qblocks = (q + kQueryBlock - 1) / kQueryBlock;
  const arma::uword b = std::min(tile, n);
  std::atomic<arma::uword> next{0};
  const int workers = std::min<int>(worker_count(workers_req), static_cast<int>(qblocks));
  BlasSingleThread single;
  run_workers(workers, [&](int) {
    std::vector<float> C(static_cast<std::size_t>(kQueryBlock) * b);
    for (arma::uword B = next++; B < qblocks; B = next++) {
      const arma::uword q0 = B * kQueryBlock, mq = std::min(kQueryBlock, q - q0);
      arma::fmat Q(d, mq);
      for (arma::uword t = 0; t < mq; ++t) Q.col(t) = U.col(rows[q0 + t]);
      std::vector<std::vector<arma::uword>> found(mq);
      for (arma::uword j0 = 0; j0 < n; j0 += b) {
        const arma::uword mj = std::min(b, n - j0);
        // C (mq, mj) = Qᵀ U(:, j0 .. j0 + mj)
        cblas_sgemm(CblasColMajor, CblasTrans, CblasNoTrans, static_cast<int>(mq), static_cast<int>(mj),
                    static_cast<int>(d), 1.0f, Q.memptr(), static_cast<int>(d), U.colptr(j0), static_cast<int>(d), 0.0f,
                    C.data(), static_cast<int>(mq));
        for (arma::uword j = 0; j < mj; ++j)
          for (arma::uword t = 0; t < mq; ++t) {
            const arma::uword i = rows[q0 + t];
            float v = std::clamp(C[j * mq + t], -1.0f, 1.0f);
            if (rf) v = 2.0f * v - (*rf)[i] - (*rf)[j0 + j];
            if (j0 + j != i && static_cast<double>(v) >= thr[q0 + t]) found[t].push_back(j0 + j);
          }
      }
      for (arma::uword t = 0; t < mq; ++t) {
        const arma::uword i = rows[q0 + t];
        std::vector<Scored> c;
        c.reserve(found[t].size());
        for (const auto j : found[t]) c.push_back({score(i, j), j});
        if (c.size() < k_eff)  // cannot happen with a valid bound; never return a short list
          fail(Exit::software, "knn_exact", fmt::format("row {}", i),
               fmt::format("rescan found {} candidates (expected >= {})", c.size(), k_eff));
        std::partial_sort(c.begin(), c.begin() + static_cast<std::ptrdiff_t>(k_eff), c.end(), better);
        for (arma::uword e = 0; e < k_eff; ++e) {
          out.ids(i, e) = c[e].id;
          out.score(i, e) = c[e].score;
        }
      }
    }
  });
}

}  // namespace

Knn knn_exact(const arma::fmat& U, const KnnOptions& options, const arma::vec* csls_r) {
  check_unit(U, "knn_exact", 2);
  if (options.k < 1) fail(Exit::usage, "knn_exact", "k", "must be at least 1 (got 0)");
  const arma::uword d = U.n_rows, n = U.n_cols;
  if (csls_r && (csls_r->n_elem != n || !csls_r->is_finite()))
    fail(Exit::usage, "knn_exact", "csls_r", fmt::format("need {} finite entries (got {})", n, csls_r->n_elem));
  const arma::uword k_eff = std::min(options.k, n - 1);
  const arma::uword kp = std::min(options.k + options.margin, n - 1);

  arma::fvec rf;
  TopKOptions to;
  to.k = kp;
  to.tile = options.tile;
  to.workers = options.workers;
  to.progress = options.progress;
  if (csls_r) {
    rf = arma::conv_to<arma::fvec>::from(*csls_r);
    to.csls_r = &rf;
  }
  const TopK t = topk_all(U, to);

  // The float error bound (header): γ_d for the cosine; CSLS doubles it and adds the rounding of r to
  // float and of the two float subtractions (|score| <= 4).
  const double u = std::ldexp(1.0, -24);
  const double gamma = static_cast<double>(d) * u / (1.0 - static_cast<double>(d) * u) * 1.01 + 1e-12;
  const double delta = csls_r ? 2.0 * gamma + 16.0 * u : gamma;

  const Scorer score{U, csls_r};
  Knn out;
  out.ids.set_size(n, k_eff);
  out.score.set_size(n, k_eff);
  std::vector<char> uncertain(n, 0);
  std::vector<double> thr(n, 0.0);
  constexpr arma::uword kRowBlock = 1024;
  const arma::uword blocks = (n + kRowBlock - 1) / kRowBlock;
  std::atomic<arma::uword> next{0};
  run_workers(std::min<int>(worker_count(options.workers), static_cast<int>(blocks)), [&](int) {
    std::vector<Scored> c(kp);
    for (arma::uword B = next++; B < blocks; B = next++)
      for (arma::uword i = B * kRowBlock; i < std::min(n, (B + 1) * kRowBlock); ++i) {
        for (arma::uword e = 0; e < kp; ++e) c[e] = {score(i, t.ids(i, e)), t.ids(i, e)};
        std::sort(c.begin(), c.end(), better);
        for (arma::uword e = 0; e < k_eff; ++e) {
          out.ids(i, e) = c[e].id;
          out.score(i, e) = c[e].score;
        }
        if (kp == n - 1) continue;  // every candidate was kept
        const double kth = c[k_eff - 1].score;
        if (!(static_cast<double>(t.cos(i, kp - 1)) + delta < kth)) {
          uncertain[i] = 1;
          thr[i] = kth - delta;
        }
      }
  });
  std::vector<arma::uword> rows;
  std::vector<double> rthr;
  for (arma::uword i = 0; i < n; ++i)
    if (uncertain[i]) rows.push_back(i), rthr.push_back(thr[i]);
  out.rescanned = rows.size();
  if (!rows.empty()) rescan(U, rows, rthr, score, csls_r ? &rf : nullptr, k_eff, options.tile, options.workers, out);
  return out;
}

double pair_cosine(const arma::fmat& U, arma::uword i, arma::uword j) {
  if (i >= U.n_cols || j >= U.n_cols)
    fail(Exit::usage, "pair_cosine", "",
         fmt::format("row out of range (got {} and {}, expected < {})", i, j, U.n_cols));
  return clamp1(dot_d(U.colptr(i), U.colptr(j), U.n_rows));
}

arma::vec csls_radius(const Knn& knn, arma::uword k) {
  if (k < 1 || k > knn.score.n_cols)
    fail(Exit::usage, "csls_radius", "k", fmt::format("must be in 1..{} (got {})", knn.score.n_cols, k));
  arma::vec r(knn.score.n_rows);
  for (arma::uword i = 0; i < r.n_elem; ++i) {
    double s = 0;
    for (arma::uword e = 0; e < k; ++e) s += knn.score(i, e);
    r[i] = s / static_cast<double>(k);
  }
  return r;
}

Hubness hubness(const Knn& knn, arma::uword k) {
  if (k < 1 || k > knn.ids.n_cols)
    fail(Exit::usage, "hubness", "k", fmt::format("must be in 1..{} (got {})", knn.ids.n_cols, k));
  const arma::uword n = knn.ids.n_rows;
  Hubness h;
  h.k = k;
  h.counts.zeros(n);
  for (arma::uword e = 0; e < k; ++e)
    for (arma::uword i = 0; i < n; ++i) ++h.counts[knn.ids(i, e)];
  const double nn = static_cast<double>(n), kk = static_cast<double>(k);
  const double mean = kk;  // Σ N_k = n·k
  double m2 = 0, m3 = 0, dev = 0, total = 0;
  arma::uword anti = 0, hubs = 0;
  for (arma::uword i = 0; i < n; ++i) {
    const double x = static_cast<double>(h.counts[i]) - mean;
    m2 += x * x;
    m3 += x * x * x;
    dev += std::abs(x);
    total += static_cast<double>(h.counts[i]);
    anti += h.counts[i] == 0;
    hubs += h.counts[i] > 2 * k;
  }
  m2 /= nn;
  m3 /= nn;
  h.skewness = m2 > 0 ? m3 / std::pow(m2, 1.5) : kNaN;
  h.antihub_share = static_cast<double>(anti) / nn;
  h.hub_share = static_cast<double>(hubs) / nn;
  h.robin_hood = 0.5 * dev / total;
  return h;
}

TwoNN twonn(const arma::fmat& U, const Knn& knn) {
  if (knn.ids.n_cols < 2 || knn.ids.n_rows != U.n_cols)
    fail(Exit::usage, "twonn", "knn",
         fmt::format("needs 2 neighbours of each of the {} rows (got {} × {})", U.n_cols, knn.ids.n_rows,
                     knn.ids.n_cols));
  const arma::uword n = U.n_cols, d = U.n_rows;
  TwoNN t;
  t.r1.set_size(n);
  t.r2.set_size(n);
  double sum = 0;
  for (arma::uword i = 0; i < n; ++i) {
    t.r1[i] = dist_d(U.colptr(i), U.colptr(knn.ids(i, 0)), d);
    t.r2[i] = dist_d(U.colptr(i), U.colptr(knn.ids(i, 1)), d);
    if (t.r1[i] > 0) {
      ++t.rows_used;
      sum += std::log(t.r2[i] / t.r1[i]);
    }
  }
  t.rows_r1_zero = n - t.rows_used;
  t.dimension = t.rows_used > 0 && sum != 0 ? static_cast<double>(t.rows_used) / sum : kNaN;
  return t;
}

namespace {

RogueDimensions rogue_from_sums(const arma::vec& s, const arma::vec& q, arma::uword n, arma::uword top) {
  RogueDimensions r;
  const double pairs = static_cast<double>(n) * static_cast<double>(n - 1);
  r.contribution = (s % s - q) / pairs;
  r.mean_cosine = arma::accu(r.contribution);
  std::vector<arma::uword> order(s.n_elem);
  std::iota(order.begin(), order.end(), arma::uword{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](arma::uword a, arma::uword b) { return r.contribution[a] > r.contribution[b]; });
  const arma::uword m = std::min<arma::uword>(top, s.n_elem);
  r.dims.set_size(m);
  r.share.set_size(m);
  for (arma::uword e = 0; e < m; ++e) {
    r.dims[e] = order[e];
    r.share[e] = r.mean_cosine != 0 ? r.contribution[order[e]] / r.mean_cosine : kNaN;
  }
  return r;
}

}  // namespace

RogueDimensions rogue_dimensions(const arma::fmat& U, arma::uword top) {
  check_unit(U, "rogue_dimensions", 2);
  const arma::uword d = U.n_rows, n = U.n_cols;
  arma::vec s(d, arma::fill::zeros), q(d, arma::fill::zeros);
  for (arma::uword i = 0; i < n; ++i) {
    const float* u = U.colptr(i);
    for (arma::uword j = 0; j < d; ++j) {
      const double x = u[j];
      s[j] += x;
      q[j] += x * x;
    }
  }
  return rogue_from_sums(s, q, n, top);
}

RogueDimensions rogue_dimensions_standardized(const arma::fmat& W, arma::uword top) {
  check_unit(W, "rogue_dimensions_standardized", 2);
  const arma::uword d = W.n_rows, n = W.n_cols;
  arma::vec mean(d, arma::fill::zeros), var(d, arma::fill::zeros);
  for (arma::uword i = 0; i < n; ++i)
    for (arma::uword j = 0; j < d; ++j) mean[j] += W(j, i);
  mean /= static_cast<double>(n);
  for (arma::uword i = 0; i < n; ++i)
    for (arma::uword j = 0; j < d; ++j) {
      const double x = W(j, i) - mean[j];
      var[j] += x * x;
    }
  arma::vec inv_sd(d);
  for (arma::uword j = 0; j < d; ++j) {
    const double sd = std::sqrt(var[j] / static_cast<double>(n));
    inv_sd[j] = sd > 0 ? 1.0 / sd : 0.0;
  }
  arma::vec s(d, arma::fill::zeros), q(d, arma::fill::zeros), z(d);
  for (arma::uword i = 0; i < n; ++i) {
    double norm2 = 0;
    for (arma::uword j = 0; j < d; ++j) {
      z[j] = (W(j, i) - mean[j]) * inv_sd[j];
      norm2 += z[j] * z[j];
    }
    if (norm2 == 0) continue;  // the mean row: no direction
    const double inv = 1.0 / std::sqrt(norm2);
    for (arma::uword j = 0; j < d; ++j) {
      const double x = z[j] * inv;
      s[j] += x;
      q[j] += x * x;
    }
  }
  return rogue_from_sums(s, q, n, top);
}

PartitionIsotropy mu_viswanath(const arma::fmat& W, int workers_req) {
  if (W.n_cols < 1 || W.n_rows < 1) data_error("mu_viswanath", "matrix", "empty");
  if (!W.is_finite()) data_error("mu_viswanath", "matrix", "non-finite entries");
  const arma::uword d = W.n_rows, n = W.n_cols;
  const GramStats g = gram_stats(W, nullptr, workers_req);
  constexpr arma::uword kBlock = 2048;
  const arma::uword blocks = (n + kBlock - 1) / kBlock;
  const int workers = std::min<int>(worker_count(workers_req), static_cast<int>(blocks));  // before single
  // LAPACK on one OpenBLAS thread: a threaded eigen-solver rounds differently with the thread count
  BlasSingleThread single;
  const EigenDecomposition e = eigen_symmetric(g.gram);  // descending, signs fixed
  PartitionIsotropy p;
  p.eigenvalues = e.values;
  // Per column block B: (max, Σ exp(x − max)) of the projections onto +c_i and −c_i, merged in block
  // order after the workers finish (bit-identical for any worker count).
  arma::mat mx(2 * d, blocks), sm(2 * d, blocks);
  std::atomic<arma::uword> next{0};
  run_workers(workers, [&](int) {
    for (arma::uword B = next++; B < blocks; B = next++) {
      const arma::uword c0 = B * kBlock, m = std::min(kBlock, n - c0);
      const arma::mat Wb = arma::conv_to<arma::mat>::from(W.cols(c0, c0 + m - 1));  // (d, m)
      arma::mat P(d, m);                                                            // P = Vᵀ Wb
      cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, static_cast<int>(d), static_cast<int>(m),
                  static_cast<int>(d), 1.0, e.vectors.memptr(), static_cast<int>(d), Wb.memptr(), static_cast<int>(d),
                  0.0, P.memptr(), static_cast<int>(d));
      for (arma::uword i = 0; i < d; ++i)
        for (int sign = 0; sign < 2; ++sign) {
          const double f = sign ? -1.0 : 1.0;
          double best = -std::numeric_limits<double>::infinity();
          for (arma::uword t = 0; t < m; ++t) best = std::max(best, f * P(i, t));
          double s = 0;
          for (arma::uword t = 0; t < m; ++t) s += std::exp(f * P(i, t) - best);
          mx(2 * i + sign, B) = best;
          sm(2 * i + sign, B) = s;
        }
    }
  });
  p.log_z_plus.set_size(d);
  p.log_z_minus.set_size(d);
  for (arma::uword row = 0; row < 2 * d; ++row) {
    double best = -std::numeric_limits<double>::infinity();
    for (arma::uword B = 0; B < blocks; ++B) best = std::max(best, mx(row, B));
    double s = 0;
    for (arma::uword B = 0; B < blocks; ++B) s += sm(row, B) * std::exp(mx(row, B) - best);
    (row % 2 ? p.log_z_minus : p.log_z_plus)[row / 2] = best + std::log(s);
  }
  const double lo = std::min(p.log_z_plus.min(), p.log_z_minus.min());
  const double hi = std::max(p.log_z_plus.max(), p.log_z_minus.max());
  p.mu = std::exp(lo - hi);
  return p;
}

Diagnostics diagnostics(const arma::fmat& U, const arma::fmat& W, const DiagnosticsOptions& o) {
  check_unit(U, "diagnostics", 3);
  if (W.n_rows != U.n_rows || W.n_cols != U.n_cols)
    fail(Exit::usage, "diagnostics", "raw vectors",
         fmt::format("shape {}x{} differs from the unit rows {}x{}", W.n_rows, W.n_cols, U.n_rows, U.n_cols));
  if (o.k < 1) fail(Exit::usage, "diagnostics", "k", "must be at least 1 (got 0)");
  const arma::uword n = U.n_cols, d = U.n_rows;
  const arma::uword k = std::min(o.k, n - 1);
  Diagnostics out;
  KnnOptions ko;
  ko.k = std::max<arma::uword>(k, 2);
  ko.tile = o.tile;
  ko.workers = o.workers;
  ko.progress = o.progress;
  out.knn = knn_exact(U, ko);
  out.hubness = hubness(out.knn, k);
  out.csls_r = csls_radius(out.knn, k);
  out.twonn = twonn(U, out.knn);
  if (o.csls) {
    KnnOptions kc = ko;
    kc.k = k;
    kc.progress = o.csls_progress;
    out.csls_knn = knn_exact(U, kc, &out.csls_r);
    out.csls_hubness = hubness(*out.csls_knn, k);
  }
  out.rogue = rogue_dimensions(U);
  if (o.standardized) out.rogue_standardized = rogue_dimensions_standardized(W);
  out.isotropy = mu_viswanath(W, o.workers);
  out.iso_score = n >= d && d >= 2 ? iso_score(W, o.workers) : kNaN;
  return out;
}

CslsNeighbours csls_neighbours(const arma::fmat& U, const arma::vec& r, const arma::fvec& q,
                               const std::vector<arma::uword>& exclude, arma::uword k, arma::uword r_k) {
  check_unit(U, "csls_neighbours", 1);
  const arma::uword n = U.n_cols, d = U.n_rows;
  if (q.n_elem != d || !q.is_finite())
    fail(Exit::usage, "csls_neighbours", "query", fmt::format("need {} finite entries (got {})", d, q.n_elem));
  if (r.n_elem != n) fail(Exit::usage, "csls_neighbours", "r", fmt::format("need {} entries (got {})", n, r.n_elem));
  if (k < 1 || r_k < 1) fail(Exit::usage, "csls_neighbours", "k", "must be at least 1 (got 0)");
  std::vector<char> skip(n, 0);
  for (const auto j : exclude)
    if (j < n) skip[j] = 1;
  std::vector<Scored> cos;
  cos.reserve(n);
  for (arma::uword j = 0; j < n; ++j)
    if (!skip[j]) cos.push_back({clamp1(dot_d(q.memptr(), U.colptr(j), d)), j});
  if (cos.empty()) fail(Exit::usage, "csls_neighbours", "", "every row is excluded");
  CslsNeighbours out;
  {
    std::vector<Scored> c = cos;
    const arma::uword m = std::min<arma::uword>(r_k, c.size());
    std::partial_sort(c.begin(), c.begin() + static_cast<std::ptrdiff_t>(m), c.end(), better);
    double s = 0;
    for (arma::uword e = 0; e < m; ++e) s += c[e].score;
    out.r_query = s / static_cast<double>(m);
  }
  std::vector<Scored> sc;
  sc.reserve(cos.size());
  for (const auto& c : cos) sc.push_back({2.0 * c.score - out.r_query - r[c.id], c.id});
  const arma::uword m = std::min<arma::uword>(k, sc.size());
  std::partial_sort(sc.begin(), sc.begin() + static_cast<std::ptrdiff_t>(m), sc.end(), better);
  std::vector<double> cos_of(n, 0.0);
  for (const auto& c : cos) cos_of[c.id] = c.score;
  for (arma::uword e = 0; e < m; ++e) {
    out.ids.push_back(sc[e].id);
    out.csls.push_back(sc[e].score);
    out.cos.push_back(cos_of[sc[e].id]);
  }
  return out;
}

}  // namespace embedlab::linalg
