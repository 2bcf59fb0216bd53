#include "stats/information.hpp"

#include "core/error.hpp"

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

double kl_divergence(const arma::vec& p, const arma::vec& q) {
  if (p.n_elem != q.n_elem)
    fail(Exit::usage, "stats", "kl_divergence", fmt::format("length mismatch (got {} and {})", p.n_elem, q.n_elem));
  const arma::vec pn = normalised(p, "kl_divergence"), qn = normalised(q, "kl_divergence");
  double kl = 0.0;
  for (std::size_t i = 0; i < pn.n_elem; ++i) {
    if (pn[i] == 0.0) continue;
    if (qn[i] == 0.0) return std::numeric_limits<double>::infinity();
    kl += pn[i] * std::log(pn[i] / qn[i]);
  }
  return kl;
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
