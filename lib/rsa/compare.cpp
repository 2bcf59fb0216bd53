#include "rsa/compare.hpp"
#include "comm/comm.hpp"

#include "core/error.hpp"
#include "rsa/rdm.hpp"
#include "stats/correlation.hpp"
#include "stats/resampling.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>

namespace embedlab::rsa {

namespace {

void check_rdms(const arma::mat& A, const arma::mat& B, const char* where) {
  if (A.n_rows != A.n_cols || B.n_rows != B.n_cols || A.n_rows != B.n_rows)
    fail(Exit::usage, "rsa", where,
         fmt::format("RDM shapes {}x{} and {}x{} (expected equal and square)", A.n_rows, A.n_cols, B.n_rows, B.n_cols));
  if (A.n_rows < 3) fail(Exit::usage, "rsa", where, fmt::format("{} items (expected >= 3)", A.n_rows));
}

double compare_vectors(const arma::vec& a, const arma::vec& b, Comparison c) {
  switch (c) {
    case Comparison::pearson:
      return stats::pearson(a, b);
    case Comparison::spearman:
      return stats::spearman(a, b);
    case Comparison::kendall_tau_a:
      return stats::kendall_tau_a(a, b);
    case Comparison::cosine:
      return stats::cosine(a, b);
  }
  return std::numeric_limits<double>::quiet_NaN();
}

// The symmetric m x m matrix (zero diagonal) whose condensed upper triangle is v.
arma::mat symmetric_from(const arma::vec& v, std::size_t m) {
  arma::mat S(m, m, arma::fill::zeros);
  std::size_t k = 0;
  for (std::size_t i = 0; i < m; ++i)
    for (std::size_t j = i + 1; j < m; ++j) S(i, j) = S(j, i) = v[k++];
  return S;
}

// Centre (optionally) and scale to unit norm, so Pearson / cosine become one dot product.
// Returns nullopt for a zero vector after centring.
std::optional<arma::vec> unit(arma::vec v, bool centre) {
  if (centre) v -= arma::mean(v);
  const double nrm = arma::norm(v);
  if (!(nrm > 0.0)) return std::nullopt;
  return v / nrm;
}

}  // namespace

Comparison parse_comparison(std::string_view name) {
  if (name == "pearson") return Comparison::pearson;
  if (name == "spearman") return Comparison::spearman;
  if (name == "kendall_tau_a") return Comparison::kendall_tau_a;
  if (name == "cosine") return Comparison::cosine;
  fail(Exit::usage, "rsa", "comparison",
       fmt::format("unknown '{}' (expected pearson, spearman, kendall_tau_a or cosine)", name));
}

std::string_view to_string(Comparison c) {
  switch (c) {
    case Comparison::pearson:
      return "pearson";
    case Comparison::spearman:
      return "spearman";
    case Comparison::kendall_tau_a:
      return "kendall_tau_a";
    case Comparison::cosine:
      return "cosine";
  }
  return "?";
}

double compare_rdms(const arma::mat& A, const arma::mat& B, Comparison c) {
  check_rdms(A, B, "compare_rdms");
  return compare_vectors(upper_triangle(A), upper_triangle(B), c);
}

MantelResult mantel_test(const arma::mat& A, const arma::mat& B, Comparison c, std::size_t permutations, Rng& rng) {
  check_rdms(A, B, "mantel_test");
  const std::size_t m = A.n_rows;
  arma::vec a = upper_triangle(A), b = upper_triangle(B);  // (m(m-1)/2)
  if (!a.is_finite() || !b.is_finite()) data_error("rsa", "mantel_test", "NaN or Inf in RDM");
  const bool kendall = c == Comparison::kendall_tau_a;
  std::optional<stats::KendallPrepared> kp;
  if (kendall) {
    kp.emplace(a);
  } else {
    if (c == Comparison::spearman) {
      a = stats::rank_average(a);
      b = stats::rank_average(b);
    }
    const bool centre = c != Comparison::cosine;
    auto ua = unit(a, centre), ub = unit(b, centre);
    if (!ua || !ub) data_error("rsa", "mantel_test", fmt::format("constant RDM ({} undefined)", to_string(c)));
    a = std::move(*ua);
    b = std::move(*ub);
  }
  const arma::mat Bs = symmetric_from(b, m);  // (m, m) transformed B, gathered per permutation
  arma::vec y(a.n_elem);
  auto statistic = [&](const std::vector<std::size_t>& p) {
    std::size_t k = 0;
    for (std::size_t i = 0; i < m; ++i) {
      const double* col = Bs.colptr(p[i]);
      for (std::size_t j = i + 1; j < m; ++j) y[k++] = col[p[j]];
    }
    if (kendall) return (*kp)(y).tau_a;
    return std::clamp(arma::dot(a, y), -1.0, 1.0);
  };
  std::vector<std::size_t> identity(m);
  for (std::size_t i = 0; i < m; ++i) identity[i] = i;
  MantelResult r;
  r.statistic = statistic(identity);
  if (std::isnan(r.statistic)) data_error("rsa", "mantel_test", "observed statistic is NaN (constant RDM)");
  // Permutation p draws from its own stream base.child(p) (base: one draw of the caller's rng), so
  // the permutations split over the ranks in fixed blocks and gather in permutation order: the
  // p-value is the same bits for any rank count and equal to the serial run.
  const Rng base(rng.next_u64());
  const comm::Comm& comm = comm::for_kernel(nullptr);
  const comm::Range mine = comm::block(comm, permutations);
  std::vector<double> part;
  part.reserve(mine.size());
  comm.agree([&] {
    comm::fault_point(comm, true);
    for (std::size_t p = mine.begin; p < mine.end; ++p) {
      Rng rp = base.child(p);
      part.push_back(statistic(stats::permutation(m, rp)));
    }
  });
  const std::vector<double> null = comm::gather_blocks(comm, part, permutations, 1);
  r.p_value = stats::permutation_p_value(r.statistic, null);
  r.permutations = permutations;
  return r;
}

BootstrapResult bootstrap_rdm_ci(const arma::mat& A, const arma::mat& B, Comparison c, std::size_t resamples,
                                 double level, Rng& rng) {
  check_rdms(A, B, "bootstrap_rdm_ci");
  if (resamples < 1) fail(Exit::usage, "rsa", "bootstrap_rdm_ci", "0 resamples (expected >= 1)");
  if (!(level > 0.0 && level < 1.0))
    fail(Exit::usage, "rsa", "bootstrap_rdm_ci", fmt::format("level {} (expected in (0, 1))", level));
  const std::size_t m = A.n_rows;
  const arma::mat As = symmetric_from(upper_triangle(A), m), Bs = symmetric_from(upper_triangle(B), m);
  BootstrapResult r;
  r.statistic = compare_rdms(A, B, c);
  r.resamples = resamples;
  // Resample s draws from base.child(s); the resamples split over the ranks in fixed blocks and
  // gather in order (as the permutations of mantel_test).
  const Rng base(rng.next_u64());
  const comm::Comm& comm = comm::for_kernel(nullptr);
  const comm::Range mine = comm::block(comm, resamples);
  std::vector<double> part(mine.size());
  arma::vec a(m * (m - 1) / 2), b(m * (m - 1) / 2);
  comm.agree([&] {
    comm::fault_point(comm, true);
    for (std::size_t s = mine.begin; s < mine.end; ++s) {
      Rng rs = base.child(s);
      const auto idx = stats::bootstrap_sample(m, rs);
      std::size_t k = 0;
      for (std::size_t i = 0; i < m; ++i)
        for (std::size_t j = i + 1; j < m; ++j) {
          if (idx[i] == idx[j]) continue;
          a[k] = As(idx[i], idx[j]);
          b[k] = Bs(idx[i], idx[j]);
          ++k;
        }
      double& out = part[s - mine.begin];
      out = std::numeric_limits<double>::quiet_NaN();
      if (k >= 2) out = compare_vectors(a.head(k), b.head(k), c);
    }
  });
  const std::vector<double> stats_ = comm::gather_blocks(comm, part, resamples, 1);
  for (const double out : stats_)
    if (!std::isfinite(out)) ++r.failed;
  if (r.failed == resamples)
    data_error("rsa", "bootstrap_rdm_ci", fmt::format("all {} resamples gave no statistic", resamples));
  r.ci = stats::percentile_interval(stats_, level);
  return r;
}

}  // namespace embedlab::rsa
