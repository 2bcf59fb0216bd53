#include "linalg/cluster.hpp"

#include "core/error.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace embedlab::linalg {

namespace {

[[noreturn]] void usage(const char* where, const std::string& what) { fail(Exit::usage, "linalg", where, what); }

void check_similarity(const arma::mat& S, const char* where) {
  if (S.n_rows != S.n_cols) usage(where, fmt::format("similarity matrix {}x{} (expected square)", S.n_rows, S.n_cols));
  if (!S.is_finite()) data_error("linalg", where, "NaN or Inf in similarity matrix");
}

// Renumbers labels 0..k-1 in order of first appearance.
Labels canonical(const std::vector<std::size_t>& raw) {
  std::vector<std::size_t> map;
  std::vector<std::size_t> seen_as;
  Labels out(raw.size());
  for (std::size_t i = 0; i < raw.size(); ++i) {
    const auto it = std::find(seen_as.begin(), seen_as.end(), raw[i]);
    if (it == seen_as.end()) {
      seen_as.push_back(raw[i]);
      out[i] = seen_as.size() - 1;
    } else {
      out[i] = static_cast<std::size_t>(it - seen_as.begin());
    }
  }
  return out;
}

struct Run {
  Labels labels;
  arma::mat centroids;
  double objective = -std::numeric_limits<double>::infinity();
  std::size_t iterations = 0;
  bool converged = false;
};

// k-means++ seeding with D(x) = 1 - max_c cos(x, c); the next seed is drawn with probability
// proportional to D (uniformly when every D is 0, i.e. all items coincide with seeds).
arma::mat seed_plus_plus(const arma::mat& X, std::size_t k, Rng& rng) {
  const std::size_t m = X.n_cols;
  arma::mat C(X.n_rows, k);
  std::size_t first = static_cast<std::size_t>(rng.below(m));
  C.col(0) = X.col(first);
  arma::vec dist = arma::clamp(1.0 - (X.t() * C.col(0)), 0.0, 2.0);  // (m)
  for (std::size_t c = 1; c < k; ++c) {
    const double total = arma::accu(dist);
    std::size_t pick = m - 1;
    if (total > 0.0) {
      const double u = rng.uniform() * total;
      double cum = 0.0;
      for (std::size_t i = 0; i < m; ++i) {
        cum += dist[i];
        if (u < cum && dist[i] > 0.0) {
          pick = i;
          break;
        }
      }
      // Rounding can leave u >= the final cum: take the last item with positive weight.
      if (!(u < cum))
        for (std::size_t i = m; i-- > 0;)
          if (dist[i] > 0.0) {
            pick = i;
            break;
          }
    } else {
      pick = static_cast<std::size_t>(rng.below(m));
    }
    C.col(c) = X.col(pick);
    dist = arma::min(dist, arma::clamp(1.0 - (X.t() * C.col(c)), 0.0, 2.0));
  }
  return C;
}

Run lloyd(const arma::mat& X, arma::mat C, std::size_t max_iter) {
  const std::size_t m = X.n_cols, k = C.n_cols;
  Run r;
  r.labels.assign(m, 0);
  arma::vec best(m);
  bool first = true;
  for (std::size_t it = 0; it < max_iter; ++it) {
    const arma::mat sim = arma::clamp(X.t() * C, -1.0, 1.0);  // (m, k)
    bool changed = first;
    for (std::size_t i = 0; i < m; ++i) {
      std::size_t arg = 0;
      for (std::size_t c = 1; c < k; ++c)
        if (sim(i, c) > sim(i, arg)) arg = c;
      if (arg != r.labels[i]) changed = true;
      r.labels[i] = arg;
      best[i] = sim(i, arg);
    }
    first = false;
    r.iterations = it + 1;
    if (!changed) {
      r.converged = true;
      break;
    }
    // Centroid update: normalised cluster sums; empty clusters take the worst-fitting item.
    arma::mat sums(X.n_rows, k, arma::fill::zeros);
    std::vector<std::size_t> size(k, 0);
    for (std::size_t i = 0; i < m; ++i) {
      sums.col(r.labels[i]) += X.col(i);
      ++size[r.labels[i]];
    }
    for (std::size_t c = 0; c < k; ++c) {
      if (size[c] == 0) {
        const std::size_t worst = best.index_min();
        sums.col(c) = X.col(worst);
        best[worst] = std::numeric_limits<double>::infinity();
      }
      const double nrm = arma::norm(sums.col(c));
      // A cluster whose members cancel out keeps its previous centroid.
      if (nrm > 0.0) C.col(c) = sums.col(c) / nrm;
    }
  }
  // Final assignment to the final centroids (a no-op when converged) so labels, centroids and
  // objective agree when max_iter ran out.
  const arma::mat sim = arma::clamp(X.t() * C, -1.0, 1.0);  // (m, k)
  r.objective = 0.0;
  for (std::size_t i = 0; i < m; ++i) {
    std::size_t arg = 0;
    for (std::size_t c = 1; c < k; ++c)
      if (sim(i, c) > sim(i, arg)) arg = c;
    r.labels[i] = arg;
    r.objective += sim(i, arg);
  }
  r.centroids = std::move(C);
  return r;
}

}  // namespace

KMeansResult spherical_kmeans(const arma::mat& X, const KMeansOptions& opt, Rng& rng) {
  const std::size_t m = X.n_cols;
  if (m == 0 || X.n_rows == 0) usage("spherical_kmeans", fmt::format("empty matrix {}x{}", X.n_rows, m));
  if (opt.k < 1 || opt.k > m) usage("spherical_kmeans", fmt::format("k = {} (expected 1..{})", opt.k, m));
  if (opt.max_iter < 1 || opt.n_init < 1)
    usage("spherical_kmeans", fmt::format("max_iter = {}, n_init = {} (expected >= 1)", opt.max_iter, opt.n_init));
  if (!X.is_finite()) data_error("linalg", "spherical_kmeans", "NaN or Inf in input");
  for (std::size_t j = 0; j < m; ++j) {
    const double nrm = arma::norm(X.col(j));
    if (std::abs(nrm - 1.0) > 1e-3)
      data_error("linalg", fmt::format("spherical_kmeans: column {}", j),
                 fmt::format("norm {} (expected unit columns)", nrm));
  }
  Run best;
  for (std::size_t r = 0; r < opt.n_init; ++r) {
    Run run = lloyd(X, seed_plus_plus(X, opt.k, rng), opt.max_iter);
    if (run.objective > best.objective) best = std::move(run);
  }
  // Canonical numbering: reorder centroids to match first-appearance labels.
  const Labels lab = canonical(best.labels);
  arma::mat C(X.n_rows, opt.k, arma::fill::zeros);
  std::vector<std::size_t> to_new(opt.k, opt.k);
  for (std::size_t i = 0; i < m; ++i) to_new[best.labels[i]] = lab[i];
  std::size_t next = 1 + *std::max_element(lab.begin(), lab.end());
  for (std::size_t c = 0; c < opt.k; ++c) {
    if (to_new[c] == opt.k) to_new[c] = next++;  // centroid without members (only if k > #distinct items)
    C.col(to_new[c]) = best.centroids.col(c);
  }
  return {lab, C, best.objective, best.iterations, best.converged};
}

KMeansResult spherical_kmeans(const arma::fmat& X, const KMeansOptions& opt, Rng& rng) {
  return spherical_kmeans(arma::conv_to<arma::mat>::from(X), opt, rng);
}

Labels average_linkage(const arma::mat& S, std::size_t k) {
  check_similarity(S, "average_linkage");
  const std::size_t m = S.n_rows;
  if (k < 1 || k > m) usage("average_linkage", fmt::format("k = {} (expected 1..{})", k, m));
  // D holds cluster distances in its upper triangle, D(i, j) for slots i < j.
  arma::mat D(m, m);
  for (std::size_t j = 0; j < m; ++j)
    for (std::size_t i = 0; i < j; ++i) D(i, j) = 1.0 - S(i, j);
  std::vector<std::size_t> size(m, 1), owner(m);
  std::vector<bool> active(m, true);
  for (std::size_t i = 0; i < m; ++i) owner[i] = i;
  auto d = [&](std::size_t a, std::size_t b) { return a < b ? D(a, b) : D(b, a); };
  // nn[i]: nearest active slot j > i (lowest j on ties), at distance nnd[i]; m when none.
  std::vector<std::size_t> nn(m, m);
  std::vector<double> nnd(m, std::numeric_limits<double>::infinity());
  auto refresh = [&](std::size_t i) {
    nn[i] = m;
    nnd[i] = std::numeric_limits<double>::infinity();
    for (std::size_t j = i + 1; j < m; ++j)
      if (active[j] && D(i, j) < nnd[i]) {
        nnd[i] = D(i, j);
        nn[i] = j;
      }
  };
  for (std::size_t i = 0; i < m; ++i) refresh(i);
  for (std::size_t clusters = m; clusters > k; --clusters) {
    std::size_t a = m;
    for (std::size_t i = 0; i < m; ++i)
      if (active[i] && nn[i] < m && (a == m || nnd[i] < nnd[a])) a = i;
    const std::size_t b = nn[a];  // a < b: merge b into a (Lance–Williams update for UPGMA)
    const double wa = static_cast<double>(size[a]), wb = static_cast<double>(size[b]);
    active[b] = false;
    for (std::size_t c = 0; c < m; ++c) {
      if (!active[c] || c == a) continue;
      const double v = (wa * d(a, c) + wb * d(b, c)) / (wa + wb);
      if (c < a) {
        D(c, a) = v;
      } else {
        D(a, c) = v;
      }
    }
    size[a] += size[b];
    for (std::size_t i = 0; i < m; ++i)
      if (owner[i] == b) owner[i] = a;
    refresh(a);
    for (std::size_t c = 0; c < a; ++c) {
      if (!active[c]) continue;
      if (nn[c] == a || nn[c] == b) {
        refresh(c);
      } else if (D(c, a) < nnd[c] || (D(c, a) == nnd[c] && a < nn[c])) {
        nnd[c] = D(c, a);
        nn[c] = a;
      }
    }
    for (std::size_t c = a + 1; c < b; ++c)
      if (active[c] && nn[c] == b) refresh(c);
  }
  return canonical(owner);
}

arma::vec silhouette_samples(const arma::mat& S, const Labels& labels) {
  check_similarity(S, "silhouette");
  const std::size_t m = S.n_rows;
  if (labels.size() != m) usage("silhouette", fmt::format("{} labels (expected {})", labels.size(), m));
  const Labels lab = canonical(labels);
  const std::size_t k = m == 0 ? 0 : 1 + *std::max_element(lab.begin(), lab.end());
  if (k < 2 || k > m - 1) usage("silhouette", fmt::format("{} clusters (expected 2..{})", k, m - 1));
  std::vector<std::size_t> size(k, 0);
  for (const auto l : lab) ++size[l];
  arma::vec s(m);
  std::vector<double> sum(k);
  for (std::size_t i = 0; i < m; ++i) {
    std::fill(sum.begin(), sum.end(), 0.0);
    for (std::size_t j = 0; j < m; ++j)
      if (j != i) sum[lab[j]] += 1.0 - (i < j ? S(i, j) : S(j, i));
    const std::size_t own = lab[i];
    if (size[own] == 1) {
      s[i] = 0.0;
      continue;
    }
    const double a = sum[own] / static_cast<double>(size[own] - 1);
    double b = std::numeric_limits<double>::infinity();
    for (std::size_t c = 0; c < k; ++c)
      if (c != own) b = std::min(b, sum[c] / static_cast<double>(size[c]));
    const double den = std::max(a, b);
    s[i] = den > 0.0 ? (b - a) / den : 0.0;
  }
  return s;
}

double silhouette_score(const arma::mat& S, const Labels& labels) { return arma::mean(silhouette_samples(S, labels)); }

}  // namespace embedlab::linalg
