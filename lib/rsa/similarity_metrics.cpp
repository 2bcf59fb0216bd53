#include "rsa/similarity_metrics.hpp"

#include "core/error.hpp"
#include "core/threads.hpp"
#include "linalg/topk.hpp"
#include "rsa/rdm.hpp"
#include "stats/correlation.hpp"
#include "stats/resampling.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <numeric>

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

// Column means removed: (p, n) with column i = word i, so the "column means" of the n×p matrix of
// the definitions are the row means here.
arma::mat centred(const arma::mat& X) { return X.each_col() - arma::mean(X, 1); }

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
  arma::fmat Xf, Yf;        // (p, n), (q, n) centred, float: the permuted cross products (SGEMM)
  arma::mat C;              // (p, q) observed cross product Xc Ycᵀ in double
  arma::vec a, b;           // squared row norms of Xc, Yc (n)
  arma::vec kone, lone;     // K̃1 and L̃1 (n)
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
    const arma::mat Xc = centred(X), Yc = centred(Y);
    s.C = Xc * Yc.t();
    const arma::mat Gx = Xc * Xc.t(), Gy = Yc * Yc.t();
    s.gx = arma::norm(Gx, "fro");
    s.gy = arma::norm(Gy, "fro");
    s.a = arma::sum(arma::square(Xc), 0).t();
    s.b = arma::sum(arma::square(Yc), 0).t();
    s.fx = std::sqrt(arma::accu(s.a));
    s.fy = std::sqrt(arma::accu(s.b));
    if (!(s.fx > 0.0) || !(s.fy > 0.0))
      throw Error(Exit::data, fmt::format("compare: {}: every row is the same vector (zero variance after centring)",
                                          s.fx > 0.0 ? "space_b" : "space_a"));
    // K̃1 = K1 − diag(K) with K1 = Xc(Xcᵀ1): zero up to rounding, since Xc is centred.
    const arma::vec sx = arma::sum(Xc, 1), sy = arma::sum(Yc, 1);
    s.kone = Xc.t() * sx - s.a;
    s.lone = Yc.t() * sy - s.b;
    s.sK = arma::dot(sx, sx) - arma::accu(s.a);
    s.sL = arma::dot(sy, sy) - arma::accu(s.b);
    if (debiased) {
      s.hKK = s.hsic(s.gx * s.gx - arma::dot(s.a, s.a), s.sK, s.sK, arma::dot(s.kone, s.kone));
      s.hLL = s.hsic(s.gy * s.gy - arma::dot(s.b, s.b), s.sL, s.sL, arma::dot(s.lone, s.lone));
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
      arma::mat U, V;
      arma::vec sv;
      if (!arma::svd(U, sv, V, M)) throw Error(Exit::data, "procrustes: singular value decomposition failed");
      s.proc.nu = std::min(arma::accu(sv), 1.0);
      s.proc.angular = std::acos(s.proc.nu);
      s.proc.residual = 2.0 - 2.0 * s.proc.nu;
      if (s.p == s.q) {
        s.proc.has_rotation = true;
        s.proc.Q = U * V.t();
        // row a_i Q is (Qᵀ a_i) as a column
        const arma::mat D = s.proc.Q.t() * (Xc / s.fx) - Yc / s.fy;
        s.proc.displacement = arma::sqrt(arma::sum(arma::square(D), 0)).t();
      }
    }
    s.Xf = arma::conv_to<arma::fmat>::from(Xc);
    s.Yf = arma::conv_to<arma::fmat>::from(Yc);
  }
  if (s.need_knn) {
    s.nx = knn_cosine(X, o.k, o.workers);
    s.ny = knn_cosine(Y, o.k, o.workers);
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

std::vector<double> Comparison::values(const std::vector<arma::uword>& perm) const {
  const auto& s = *impl_;
  const bool ident = perm.empty();
  if (!ident && perm.size() != s.n) throw Error(Exit::software, "compare: permutation of the wrong length");
  std::vector<double> out;
  // The permuted cross product Xc Ycπᵀ (one SGEMM) and the permuted pairings of the row terms.
  arma::mat C;
  double ab = 0, kl = 0;
  if (s.need_gram) {
    if (ident) {
      C = s.C;
    } else {
      arma::fmat Yp(s.q, s.n);
      for (arma::uword i = 0; i < s.n; ++i) std::copy_n(s.Yf.colptr(perm[i]), s.q, Yp.colptr(i));
      C = arma::conv_to<arma::mat>::from(arma::fmat(s.Xf * Yp.t()));
    }
    for (arma::uword i = 0; i < s.n; ++i) {
      const arma::uword j = ident ? i : perm[i];
      ab += s.a[i] * s.b[j];
      kl += s.kone[i] * s.lone[j];
    }
  }
  double nu = kNaN;
  auto procrustes_nu = [&] {
    if (std::isnan(nu)) nu = ident ? s.proc.nu : std::min(nuclear_norm(C) / (s.fx * s.fy), 1.0);
    return nu;
  };
  double mutual = kNaN, jaccard = kNaN;
  auto knn = [&] {
    if (!std::isnan(mutual)) return;
    const arma::uword k = s.nx.n_rows;
    std::vector<arma::uword> inv(s.n);
    for (arma::uword i = 0; i < s.n; ++i) inv[ident ? i : perm[i]] = i;
    std::vector<arma::uword> stamp(s.n, 0);
    double sm = 0, sj = 0;
    for (arma::uword i = 0; i < s.n; ++i) {
      for (arma::uword e = 0; e < k; ++e) stamp[s.nx(e, i)] = i + 1;
      // N_{Yπ}(i) = π⁻¹(N_Y(π(i))): Y's lists re-indexed, not recomputed
      const arma::uword pi = ident ? i : perm[i];
      arma::uword common = 0;
      for (arma::uword e = 0; e < k; ++e) common += stamp[inv[s.ny(e, pi)]] == i + 1;
      sm += static_cast<double>(common) / static_cast<double>(k);
      sj += static_cast<double>(common) / static_cast<double>(2 * k - common);
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
KnnOverlap knn_overlap(const arma::mat& X, const arma::mat& Y, arma::uword k, int workers) {
  MetricOptions o;
  o.k = k;
  o.workers = workers;
  const auto v = Comparison(X, Y, {Metric::mutual_knn, Metric::jaccard_knn}, o).values();
  return {v[0], v[1], std::min(k, X.n_cols - 1)};
}
Procrustes procrustes(const arma::mat& X, const arma::mat& Y) {
  return Comparison(X, Y, {Metric::procrustes_angular}).procrustes();
}
Svcca svcca(const arma::mat& X, const arma::mat& Y, double energy) {
  MetricOptions o;
  o.svcca_energy = energy;
  return Comparison(X, Y, {Metric::svcca}, o).svcca();
}

std::vector<Calibrated> calibrate(const arma::mat& X, const arma::mat& Y, const std::vector<Metric>& metrics,
                                  const MetricOptions& mo, const CalibrationOptions& co, const Rng& rng) {
  const int workers = worker_count(co.workers);
  MetricOptions inner = mo;
  inner.workers = 1;  // the workers below are the parallelism
  std::vector<Calibrated> out(metrics.size());
  std::vector<std::vector<double>> null(metrics.size(), std::vector<double>(co.permutations));
  std::vector<std::vector<double>> boot(metrics.size(), std::vector<double>(co.bootstrap));
  MetricOptions outer = mo;
  outer.workers = workers;
  const Comparison cmp(X, Y, metrics, outer);
  const std::vector<double> observed = cmp.values();
  const arma::uword n = cmp.rows();
  {
    BlasSingleThread single;
    const Rng prng = rng.child(0), brng = rng.child(1);
    std::atomic<std::size_t> next{0};
    const std::size_t total = co.permutations + co.bootstrap;
    run_workers(workers, [&](int) {
      std::vector<arma::uword> perm(n);
      for (std::size_t t; (t = next.fetch_add(1)) < total;) {
        if (t < co.permutations) {
          Rng r = prng.child(t);
          std::iota(perm.begin(), perm.end(), arma::uword{0});
          r.shuffle(perm.begin(), perm.end());
          const auto v = cmp.values(perm);
          for (std::size_t m = 0; m < metrics.size(); ++m) null[m][t] = v[m];
        } else {
          const std::size_t b = t - co.permutations;
          Rng r = brng.child(b);
          arma::uvec idx(n);
          for (arma::uword i = 0; i < n; ++i) idx[i] = r.below(n);
          std::vector<double> v(metrics.size(), kNaN);
          try {
            v = Comparison(X.cols(idx), Y.cols(idx), metrics, inner).values();
          } catch (const Error&) {
            // a degenerate resample (e.g. too few distinct rows) counts as failed
          }
          for (std::size_t m = 0; m < metrics.size(); ++m) boot[m][b] = v[m];
        }
      }
    });
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
    if (co.bootstrap > c.failed) {
      const auto ci = stats::percentile_interval(boot[m], co.level);
      c.ci_low = ci.lo;
      c.ci_high = ci.hi;
    } else {
      c.ci_low = c.ci_high = kNaN;
    }
  }
  return out;
}

}  // namespace embedlab::rsa
