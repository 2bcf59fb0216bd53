#include "linalg/normalize.hpp"

#include "core/error.hpp"

#include <fmt/format.h>

#include <cmath>

namespace embedlab::linalg {

namespace {

bool column_finite(const float* x, arma::uword d) {
  for (arma::uword r = 0; r < d; ++r)
    if (!std::isfinite(x[r])) return false;
  return true;
}

double column_norm(const float* x, arma::uword d) {
  double s = 0.0;
  for (arma::uword r = 0; r < d; ++r) s += static_cast<double>(x[r]) * static_cast<double>(x[r]);
  return std::sqrt(s);
}

}  // namespace

void fail_bad_rows(const std::vector<BadRow>& bad, const std::vector<std::string>& names, arma::uword n,
                   const std::string& source) {
  std::size_t zero = 0;
  for (const auto& b : bad) zero += b.reason == "zero";
  constexpr std::size_t kShown = 5;
  std::string list;
  for (std::size_t i = 0; i < bad.size() && i < kShown; ++i) {
    const std::string row = i < names.size() && !names[i].empty() ? fmt::format("row {} '{}'", bad[i].index, names[i])
                                                                  : fmt::format("row {}", bad[i].index);
    list += fmt::format("{}{} {}", i ? ", " : "", row, bad[i].reason);
  }
  if (bad.size() > kShown) list += ", ...";
  data_error(source, "rows",
             fmt::format("{} bad rows ({} zero, {} non-finite) of {}: {} (policy fail; use exclude to drop them)",
                         bad.size(), zero, bad.size() - zero, n, list));
}

Normalized normalize_rows(const arma::fmat& E, const NormalizeOptions& options) {
  const arma::uword d = E.n_rows, n = E.n_cols;
  Normalized out;
  out.norms.set_size(n);
  std::vector<arma::uword> kept;
  kept.reserve(n);
  for (arma::uword j = 0; j < n; ++j) {
    const float* x = E.colptr(j);
    if (!column_finite(x, d)) {
      out.norms[j] = arma::datum::nan;
      out.excluded.push_back({j, "non-finite"});
      continue;
    }
    out.norms[j] = column_norm(x, d);
    if (out.norms[j] == 0.0)
      out.excluded.push_back({j, "zero"});
    else
      kept.push_back(j);
  }

  if (!out.excluded.empty() && options.policy == BadRowPolicy::fail) {
    std::vector<std::string> names;
    for (const auto& b : out.excluded) names.push_back(b.index < options.names.size() ? options.names[b.index] : "");
    fail_bad_rows(out.excluded, names, n, options.source);
  }

  out.kept = arma::uvec(kept);
  out.unit.set_size(d, kept.size());
  for (arma::uword i = 0; i < kept.size(); ++i) {
    const float* x = E.colptr(kept[i]);
    float* u = out.unit.colptr(i);
    const double inv = 1.0 / out.norms[kept[i]];
    for (arma::uword r = 0; r < d; ++r) u[r] = static_cast<float>(static_cast<double>(x[r]) * inv);
  }
  return out;
}

}  // namespace embedlab::linalg
