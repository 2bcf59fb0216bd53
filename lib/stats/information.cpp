#include "stats/information.hpp"

#include "core/error.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace embedlab::stats {

namespace {

// p / sum(p) after checking it is a valid unnormalised probability vector.
arma::vec normalised(const arma::vec& p, const char* where) {
  if (p.is_empty()) fail(Exit::usage, "stats", where, "empty probability vector");
  double s = 0.0;
  for (const double v : p) {
    if (!std::isfinite(v) || v < 0.0)
      data_error("stats", where, fmt::format("probability {} (expected finite and >= 0)", v));
    s += v;
  }
  if (!(s > 0.0)) data_error("stats", where, "probabilities sum to 0");
  return p / s;
}

}  // namespace

double entropy(const arma::vec& p) {
  const arma::vec pn = normalised(p, "entropy");
  double h = 0.0;
  for (const double v : pn)
    if (v > 0.0) h -= v * std::log(v);
  return h;
}

double kl_divergence_logits(const arma::vec& zp, const arma::vec& zq) {
  if (zp.n_elem != zq.n_elem)
    fail(Exit::usage, "stats", "kl_divergence_logits",
         fmt::format("length mismatch (got {} and {})", zp.n_elem, zq.n_elem));
  const arma::vec lp = log_softmax(zp), lq = log_softmax(zq);
  constexpr double ninf = -std::numeric_limits<double>::infinity();
  double kl = 0.0;
  for (std::size_t i = 0; i < lp.n_elem; ++i) {
    if (lp[i] == ninf) continue;  // p_i = 0 exactly
    if (lq[i] == ninf) return std::numeric_limits<double>::infinity();
    kl += std::exp(lp[i]) * (lp[i] - lq[i]);
  }
  // Rounding can leave a KL of identical distributions a few ulps below 0.
  return std::max(kl, 0.0);
}

double entropy_logits(const arma::vec& z) {
  const arma::vec lp = log_softmax(z);
  double h = 0.0;
  for (const double l : lp)
    if (l != -std::numeric_limits<double>::infinity()) h -= std::exp(l) * l;
  return std::max(h, 0.0);
}

double logsumexp(const arma::vec& x) {
  if (x.is_empty()) fail(Exit::usage, "stats", "logsumexp", "empty vector");
  double mx = -std::numeric_limits<double>::infinity();
  for (const double v : x) {
    if (std::isnan(v) || v == std::numeric_limits<double>::infinity())
      data_error("stats", "logsumexp", fmt::format("value {} (expected finite or -inf)", v));
    mx = std::max(mx, v);
  }
  if (mx == -std::numeric_limits<double>::infinity()) return mx;
  double s = 0.0;
  for (const double v : x) s += std::exp(v - mx);
  return mx + std::log(s);
}

arma::vec log_softmax(const arma::vec& x) {
  const double lse = logsumexp(x);
  if (lse == -std::numeric_limits<double>::infinity()) data_error("stats", "log_softmax", "all logits are -inf");
  return x - lse;
}

arma::vec softmax(const arma::vec& x) { return arma::exp(log_softmax(x)); }

arma::vec softmax(const arma::fvec& x) { return softmax(arma::conv_to<arma::vec>::from(x)); }

}  // namespace embedlab::stats
