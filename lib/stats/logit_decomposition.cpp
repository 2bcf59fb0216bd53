#include "stats/logit_decomposition.hpp"

#include "core/error.hpp"
#include "stats/information.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace embedlab::stats {

LogitDecomposition decompose_logits(const arma::fmat& W, const arma::fvec& h) {
  if (W.n_rows != h.n_elem)
    fail(Exit::usage, "stats", "decompose_logits",
         fmt::format("dimension mismatch (got W {}×{} and h of {})", W.n_rows, W.n_cols, h.n_elem));
  if (W.n_cols == 0) fail(Exit::usage, "stats", "decompose_logits", "empty output matrix");
  const arma::uword C = W.n_rows, V = W.n_cols;
  // hd is h in double, hu its unit vector (C).
  arma::vec hd(C);
  double hh = 0;
  for (arma::uword k = 0; k < C; ++k) {
    if (!std::isfinite(h(k))) data_error("stats", "decompose_logits", fmt::format("h[{}] is not finite", k));
    hd(k) = h(k);
    hh += hd(k) * hd(k);
  }
  if (!(hh > 0)) data_error("stats", "decompose_logits", "h is the zero vector (cos θ undefined)");
  LogitDecomposition d;
  d.h_norm = std::sqrt(hh);
  const arma::vec hu = hd / d.h_norm;
  d.z.set_size(V);
  d.norms.set_size(V);
  d.cos.set_size(V);
  for (arma::uword i = 0; i < V; ++i) {
    const float* v = W.colptr(i);
    double dot = 0, vv = 0;
    for (arma::uword k = 0; k < C; ++k) {
      const double x = v[k];
      dot += x * hd(k);
      vv += x * x;
    }
    if (!std::isfinite(dot) || !std::isfinite(vv))
      data_error("stats", "decompose_logits", fmt::format("column {} of W is not finite", i));
    const double nv = std::sqrt(vv);
    double c = 0;
    if (nv > 0) {
      for (arma::uword k = 0; k < C; ++k) c += (static_cast<double>(v[k]) / nv) * hu(k);
    }
    d.z(i) = dot;
    d.norms(i) = nv;
    d.cos(i) = std::clamp(c, -1.0, 1.0);
  }
  return d;
}

arma::vec logits_from_parts(const arma::vec& norms, const arma::vec& cos, double h_norm) {
  if (norms.n_elem != cos.n_elem)
    fail(Exit::usage, "stats", "logits_from_parts",
         fmt::format("length mismatch (got {} norms and {} cosines)", norms.n_elem, cos.n_elem));
  return norms % cos * h_norm;
}

ReconstructionError reconstruction_error(const LogitDecomposition& d) {
  const arma::vec r = logits_from_parts(d.norms, d.cos, d.h_norm);
  ReconstructionError e;
  e.max_abs = arma::abs(d.z - r).max();
  const double scale = arma::abs(d.z).max();
  e.max_rel = scale > 0 ? e.max_abs / scale : e.max_abs;
  return e;
}

std::vector<arma::uword> top_k_indices(const arma::vec& x, std::size_t k) {
  std::vector<arma::uword> idx(x.n_elem);
  std::iota(idx.begin(), idx.end(), arma::uword{0});
  k = std::min<std::size_t>(k, idx.size());
  const auto better = [&](arma::uword a, arma::uword b) { return x(a) > x(b) || (x(a) == x(b) && a < b); };
  std::partial_sort(idx.begin(), idx.begin() + static_cast<std::ptrdiff_t>(k), idx.end(), better);
  idx.resize(k);
  return idx;
}

std::size_t rank_of(const arma::vec& x, arma::uword i) {
  if (i >= x.n_elem) fail(Exit::usage, "stats", "rank_of", fmt::format("index {} out of range (size {})", i, x.n_elem));
  std::size_t above = 0;
  for (const double v : x) above += v > x(i) ? 1 : 0;
  return above + 1;
}

DistributionShift compare_distributions(const arma::vec& zp, const arma::vec& zq, std::size_t k) {
  DistributionShift s;
  s.kl = kl_divergence_logits(zp, zq);
  s.entropy_p = entropy_logits(zp);
  s.entropy_q = entropy_logits(zq);
  const auto tp = top_k_indices(zp, k), tq = top_k_indices(zq, k);
  s.top1_agree = !tp.empty() && tp.front() == tq.front();
  for (const auto a : tp) s.top_overlap += std::count(tq.begin(), tq.end(), a) > 0 ? 1 : 0;
  return s;
}

LogProbSensitivity log_prob_sensitivity(const LogitDecomposition& d, const arma::vec& p, arma::uword i) {
  if (i >= p.n_elem || p.n_elem != d.norms.n_elem)
    fail(Exit::usage, "stats", "log_prob_sensitivity",
         fmt::format("index {} or sizes out of range (p {}, V {})", i, p.n_elem, d.norms.n_elem));
  return {d.norms(i) * d.h_norm * (1 - p(i)), d.h_norm * d.cos(i) * (1 - p(i))};
}

}  // namespace embedlab::stats
