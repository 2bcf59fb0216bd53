#include "stats/correlation.hpp"

#include "core/error.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <utility>

namespace embedlab::stats {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

void check_finite(const arma::vec& x, const char* where) {
  if (!x.is_finite()) data_error("stats", where, "NaN or Inf in input");
}

void check_pair(const arma::vec& x, const arma::vec& y, const char* where) {
  if (x.n_elem != y.n_elem)
    fail(Exit::usage, "stats", where, fmt::format("length mismatch (got {} and {})", x.n_elem, y.n_elem));
  if (x.n_elem < 2) fail(Exit::usage, "stats", where, fmt::format("{} pairs (expected >= 2)", x.n_elem));
  check_finite(x, where);
  check_finite(y, where);
}

double clamp1(double r) { return std::clamp(r, -1.0, 1.0); }

std::uint64_t tie_pairs(std::uint64_t t) { return t * (t - 1) / 2; }

// Sorts v ascending and returns the number of pairs i < j with v[i] > v[j]: insertion sort of
// 32-element runs (each shift is one inversion), then bottom-up merges counting the right-run
// elements that overtake left-run ones.
std::uint64_t sort_count_inversions(std::vector<double>& v) {
  constexpr std::size_t kRun = 32;
  const std::size_t n = v.size();
  std::uint64_t inv = 0;
  for (std::size_t lo = 0; lo < n; lo += kRun) {
    const std::size_t hi = std::min(lo + kRun, n);
    for (std::size_t i = lo + 1; i < hi; ++i) {
      const double x = v[i];
      std::size_t j = i;
      while (j > lo && x < v[j - 1]) {
        v[j] = v[j - 1];
        --j;
      }
      v[j] = x;
      inv += i - j;
    }
  }
  std::vector<double> buf(n);
  for (std::size_t width = kRun; width < n; width *= 2) {
    for (std::size_t lo = 0; lo < n; lo += 2 * width) {
      const std::size_t mid = std::min(lo + width, n), hi = std::min(lo + 2 * width, n);
      std::size_t i = lo, j = mid, k = lo;
      while (i < mid && j < hi) {
        if (v[j] < v[i]) {
          inv += mid - i;
          buf[k++] = v[j++];
        } else {
          buf[k++] = v[i++];
        }
      }
      while (i < mid) buf[k++] = v[i++];
      while (j < hi) buf[k++] = v[j++];
    }
    std::swap(v, buf);
  }
  return inv;
}

// (value, index) pairs of x sorted by value, ties by index: direct sort of pairs is several
// times faster than an indirect sort of indices on large vectors.
std::vector<std::pair<double, std::size_t>> sorted_pairs(const arma::vec& x) {
  std::vector<std::pair<double, std::size_t>> p(x.n_elem);
  for (std::size_t i = 0; i < x.n_elem; ++i) p[i] = {x[i], i};
  std::sort(p.begin(), p.end());
  return p;
}

}  // namespace

arma::vec rank_average(const arma::vec& x) {
  check_finite(x, "rank_average");
  const std::size_t n = x.n_elem;
  const auto p = sorted_pairs(x);
  arma::vec r(n);
  for (std::size_t i = 0; i < n;) {
    std::size_t j = i + 1;
    while (j < n && p[j].first == p[i].first) ++j;
    const double avg = 0.5 * static_cast<double>(i + j + 1);  // mean of ranks i+1 .. j
    for (std::size_t k = i; k < j; ++k) r[p[k].second] = avg;
    i = j;
  }
  return r;
}

double pearson(const arma::vec& x, const arma::vec& y) {
  check_pair(x, y, "pearson");
  const double n = static_cast<double>(x.n_elem);
  const double mx = arma::accu(x) / n, my = arma::accu(y) / n;
  double sxy = 0.0, sxx = 0.0, syy = 0.0;
  for (std::size_t i = 0; i < x.n_elem; ++i) {
    const double dx = x[i] - mx, dy = y[i] - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  if (sxx <= 0.0 || syy <= 0.0) return kNaN;
  return clamp1(sxy / std::sqrt(sxx * syy));
}

double spearman(const arma::vec& x, const arma::vec& y) {
  check_pair(x, y, "spearman");
  return pearson(rank_average(x), rank_average(y));
}

double cosine(const arma::vec& x, const arma::vec& y) {
  check_pair(x, y, "cosine");
  double sxy = 0.0, sxx = 0.0, syy = 0.0;
  for (std::size_t i = 0; i < x.n_elem; ++i) {
    sxy += x[i] * y[i];
    sxx += x[i] * x[i];
    syy += y[i] * y[i];
  }
  if (sxx <= 0.0 || syy <= 0.0) return kNaN;
  return clamp1(sxy / std::sqrt(sxx * syy));
}

KendallPrepared::KendallPrepared(const arma::vec& x) {
  check_finite(x, "kendall");
  const std::size_t n = x.n_elem;
  const auto p = sorted_pairs(x);
  order_.resize(n);
  for (std::size_t i = 0; i < n; ++i) order_[i] = p[i].second;
  for (std::size_t i = 0; i < n;) {
    std::size_t j = i + 1;
    while (j < n && p[j].first == p[i].first) ++j;
    groups_.push_back(i);
    ties_x_ += tie_pairs(j - i);
    i = j;
  }
  groups_.push_back(n);
}

Kendall KendallPrepared::operator()(const arma::vec& y) const {
  if (y.n_elem != order_.size())
    fail(Exit::usage, "stats", "kendall", fmt::format("length mismatch (got {} and {})", order_.size(), y.n_elem));
  if (y.n_elem < 2) fail(Exit::usage, "stats", "kendall", fmt::format("{} pairs (expected >= 2)", y.n_elem));
  check_finite(y, "kendall");
  const std::size_t n = order_.size();
  // ys is y in (x, y) lexicographic order: sort y inside each run of tied x.
  std::vector<double> ys(n);
  for (std::size_t i = 0; i < n; ++i) ys[i] = y[order_[i]];
  Kendall k;
  for (std::size_t g = 0; g + 1 < groups_.size(); ++g) {
    const auto first = ys.begin() + static_cast<std::ptrdiff_t>(groups_[g]);
    const auto last = ys.begin() + static_cast<std::ptrdiff_t>(groups_[g + 1]);
    if (last - first < 2) continue;
    std::sort(first, last);
    for (auto it = first; it != last;) {
      auto jt = it + 1;
      while (jt != last && *jt == *it) ++jt;
      k.ties_xy += tie_pairs(static_cast<std::uint64_t>(jt - it));
      it = jt;
    }
  }
  const std::uint64_t swaps = sort_count_inversions(ys);
  for (std::size_t i = 0; i < n;) {
    std::size_t j = i + 1;
    while (j < n && ys[j] == ys[i]) ++j;
    k.ties_y += tie_pairs(j - i);
    i = j;
  }
  k.ties_x = ties_x_;
  k.pairs = tie_pairs(n);
  k.s = static_cast<std::int64_t>(k.pairs - k.ties_x - k.ties_y + k.ties_xy) - 2 * static_cast<std::int64_t>(swaps);
  const double n0 = static_cast<double>(k.pairs);
  k.tau_a = static_cast<double>(k.s) / n0;
  const double denom = (n0 - static_cast<double>(k.ties_x)) * (n0 - static_cast<double>(k.ties_y));
  k.tau_b = denom > 0.0 ? clamp1(static_cast<double>(k.s) / std::sqrt(denom)) : kNaN;
  return k;
}

Kendall kendall(const arma::vec& x, const arma::vec& y) {
  check_pair(x, y, "kendall");
  return KendallPrepared(x)(y);
}

double kendall_tau_a(const arma::vec& x, const arma::vec& y) { return kendall(x, y).tau_a; }

}  // namespace embedlab::stats
