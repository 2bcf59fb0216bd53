#include "linalg/contextual.hpp"

#include "core/error.hpp"
#include "core/threads.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <map>

namespace embedlab::linalg::contextual {

namespace {

double clamp_cos(double c) { return std::clamp(c, -1.0, 1.0); }

// Column j of H in double.
arma::vec col(const arma::fmat& H, arma::uword j) { return arma::conv_to<arma::vec>::from(H.col(j)); }

// Column j of H as a unit vector in double (zero stays zero).
arma::vec unit_col(const arma::fmat& H, arma::uword j) {
  arma::vec v = col(H, j);
  const double n = arma::norm(v);
  if (n > 0) v /= n;
  return v;
}

void check_sizes(const arma::fmat& H, std::size_t n, const char* what) {
  if (H.n_cols != n)
    fail(Exit::software, "contextual", what,
         fmt::format("states and occurrences differ (got {} columns, expected {})", H.n_cols, n));
}

}  // namespace

Pairs draw_pairs(const std::vector<std::int64_t>& sentence, std::size_t n, Rng& rng) {
  Pairs p;
  const std::size_t N = sentence.size();
  if (N == 0 || sentence.front() == sentence.back())
    fail(Exit::data, "contextual", "anisotropy", "needs occurrences in at least two sentences");
  p.a.reserve(n);
  p.b.reserve(n);
  while (p.a.size() < n) {
    const auto i = static_cast<arma::uword>(rng.below(N)), j = static_cast<arma::uword>(rng.below(N));
    if (sentence[i] == sentence[j]) continue;
    p.a.push_back(i);
    p.b.push_back(j);
  }
  return p;
}

PairCosine pair_cosine(const arma::fmat& H, const Pairs& p, int workers) {
  PairCosine r;
  const arma::uword C = H.n_rows;
  r.contribution.zeros(C);
  const std::size_t n = p.a.size();
  if (n == 0) return r;
  // The states stay float32 where they are (no unit copy: the pairs touch the columns at random, and
  // half the bytes is half the cache misses); each column's 1/‖h‖ once, in double. A pair is one pass
  // over its two columns: u·v in double over kLanes independent partial sums (which the compiler
  // turns into vector lanes), and u_i·v_i/(‖u‖‖v‖) added to the per-dimension contributions.
  arma::vec inv(H.n_cols);
  for (arma::uword j = 0; j < H.n_cols; ++j) {
    const float* h = H.colptr(j);
    double s = 0;
    for (arma::uword i = 0; i < C; ++i) s += static_cast<double>(h[i]) * h[i];
    inv(j) = s > 0 ? 1.0 / std::sqrt(s) : 0.0;  // a zero state: cosine 0
  }
  constexpr std::size_t kChunk = 4096, kLanes = 8;
  const std::size_t chunks = (n + kChunk - 1) / kChunk;
  struct Part {
    double sum = 0, sum2 = 0;
    std::vector<double> contrib;
  };
  std::vector<Part> parts(chunks);
  std::atomic<std::size_t> next{0};
  run_workers(std::max(1, std::min(worker_count(workers), static_cast<int>(chunks))), [&](int) {
    for (std::size_t c; (c = next.fetch_add(1)) < chunks;) {
      Part& part = parts[c];
      part.contrib.assign(C, 0.0);
      double* contrib = part.contrib.data();
      for (std::size_t k = c * kChunk; k < std::min(n, (c + 1) * kChunk); ++k) {
        const float* u = H.colptr(p.a[k]);
        const float* v = H.colptr(p.b[k]);
        const double scale = inv(p.a[k]) * inv(p.b[k]);
        double lane[kLanes] = {};
        arma::uword i = 0;
        for (; i + kLanes <= C; i += kLanes)
          for (std::size_t l = 0; l < kLanes; ++l) {
            const double uv = static_cast<double>(u[i + l]) * v[i + l];
            lane[l] += uv;
            contrib[i + l] += uv * scale;
          }
        for (; i < C; ++i) {
          const double uv = static_cast<double>(u[i]) * v[i];
          lane[0] += uv;
          contrib[i] += uv * scale;
        }
        double dot = 0;
        for (const double x : lane) dot += x;
        const double cs = clamp_cos(dot * scale);
        part.sum += cs;
        part.sum2 += cs * cs;
      }
    }
  });
  double sum = 0, sum2 = 0;
  for (const Part& part : parts) {
    sum += part.sum;
    sum2 += part.sum2;
    for (arma::uword i = 0; i < C; ++i) r.contribution(i) += part.contrib[i];
  }
  const double dn = static_cast<double>(n);
  r.mean = sum / dn;
  r.contribution /= dn;
  const double var = n > 1 ? std::max(0.0, (sum2 - dn * r.mean * r.mean) / (dn - 1)) : 0.0;
  r.se = std::sqrt(var / dn);
  return r;
}

WordGroups group_words(const std::vector<std::int64_t>& word, const std::vector<std::int64_t>& sentence,
                       std::size_t min_sentences) {
  std::map<std::int64_t, std::vector<arma::uword>> by_word;
  for (std::size_t j = 0; j < word.size(); ++j) by_word[word[j]].push_back(static_cast<arma::uword>(j));
  WordGroups g;
  for (auto& [w, occ] : by_word) {
    std::size_t distinct = 0;
    for (std::size_t k = 0; k < occ.size(); ++k)
      if (k == 0 || sentence[occ[k]] != sentence[occ[k - 1]]) ++distinct;  // occ is in corpus order
    if (distinct < std::max<std::size_t>(min_sentences, 2)) continue;
    g.word.push_back(w);
    g.occurrences.push_back(std::move(occ));
  }
  return g;
}

arma::vec self_similarity(const arma::fmat& H, const WordGroups& g, const std::vector<std::int64_t>& sentence) {
  check_sizes(H, sentence.size(), "self_similarity");
  arma::vec out(g.word.size());
  for (std::size_t w = 0; w < g.word.size(); ++w) {
    // Σ over ordered pairs in different sentences of û_i·û_j = |Σ û|² − Σ_s |Σ_{i∈s} û_i|², and the
    // number of such pairs n² − Σ_s n_s² (the occurrences are in corpus order, so grouped by sentence).
    const auto& occ = g.occurrences[w];
    arma::vec total(H.n_rows, arma::fill::zeros), part(H.n_rows, arma::fill::zeros);
    double within = 0, within_pairs = 0, count = 0, in_sentence = 0;
    for (std::size_t k = 0; k < occ.size(); ++k) {
      if (k > 0 && sentence[occ[k]] != sentence[occ[k - 1]]) {
        within += arma::dot(part, part);
        within_pairs += in_sentence * in_sentence;
        part.zeros();
        in_sentence = 0;
      }
      const arma::vec u = unit_col(H, occ[k]);
      total += u;
      part += u;
      in_sentence += 1;
      count += 1;
    }
    within += arma::dot(part, part);
    within_pairs += in_sentence * in_sentence;
    const double pairs = count * count - within_pairs;
    out(w) = pairs > 0 ? clamp_cos((arma::dot(total, total) - within) / pairs) : arma::datum::nan;
  }
  return out;
}

arma::vec max_explainable_variance(const arma::fmat& H, const WordGroups& g, int workers) {
  arma::vec out(g.word.size());
  // Largest words first, so that the workers finish together.
  std::vector<std::size_t> order(g.word.size());
  for (std::size_t w = 0; w < order.size(); ++w) order[w] = w;
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return g.occurrences[a].size() > g.occurrences[b].size(); });
  const BlasSingleThread single;
  std::atomic<std::size_t> next{0};
  run_workers(std::max(1, std::min(worker_count(workers), static_cast<int>(order.size()))), [&](int) {
    for (std::size_t k; (k = next.fetch_add(1)) < order.size();) {
      const std::size_t w = order[k];
      const auto& occ = g.occurrences[w];
      arma::mat X(H.n_rows, occ.size());  // C × n, the transpose of the occurrences × C matrix
      for (std::size_t j = 0; j < occ.size(); ++j) {
        const float* h = H.colptr(occ[j]);
        double* x = X.colptr(j);
        for (arma::uword i = 0; i < H.n_rows; ++i) x[i] = h[i];
      }
      // σ² of X are the eigenvalues of the smaller Gram matrix.
      const arma::mat G = X.n_cols <= X.n_rows ? arma::mat(X.t() * X) : arma::mat(X * X.t());
      const double trace = arma::trace(G);
      if (!(trace > 0)) {
        out(w) = arma::datum::nan;
        continue;
      }
      const arma::vec ev = arma::eig_sym(G);
      out(w) = std::clamp(ev.max() / trace, 0.0, 1.0);
    }
  });
  return out;
}

arma::vec intra_sentence(const arma::fmat& H, const std::vector<std::int64_t>& sentence) {
  check_sizes(H, sentence.size(), "intra_sentence");
  std::vector<double> out;
  std::size_t start = 0;
  const std::size_t N = sentence.size();
  while (start < N) {
    std::size_t end = start;
    while (end < N && sentence[end] == sentence[start]) ++end;
    if (end - start < 2) {
      out.push_back(arma::datum::nan);
    } else {
      arma::vec mean(H.n_rows, arma::fill::zeros);
      for (std::size_t j = start; j < end; ++j) mean += col(H, j);
      mean /= static_cast<double>(end - start);
      const double mn = arma::norm(mean);
      double sum = 0;
      for (std::size_t j = start; j < end; ++j) {
        const arma::vec h = col(H, j);
        const double hn = arma::norm(h);
        sum += (hn > 0 && mn > 0) ? clamp_cos(arma::dot(h, mean) / (hn * mn)) : 0.0;
      }
      out.push_back(sum / static_cast<double>(end - start));
    }
    start = end;
  }
  return arma::vec(out);
}

arma::vec norms(const arma::fmat& H) {
  arma::vec out(H.n_cols);
  for (arma::uword j = 0; j < H.n_cols; ++j) {
    const float* h = H.colptr(j);
    double s = 0;
    for (arma::uword i = 0; i < H.n_rows; ++i) s += static_cast<double>(h[i]) * h[i];
    out(j) = std::sqrt(s);
  }
  return out;
}

arma::vec matched_cosine(const arma::fmat& A, const arma::fmat& B) {
  check_sizes(B, A.n_cols, "matched_cosine");
  if (B.n_rows != A.n_rows)
    fail(Exit::software, "contextual", "matched_cosine",
         fmt::format("widths differ (got {} rows, expected {})", B.n_rows, A.n_rows));
  arma::vec out(A.n_cols);
  for (arma::uword j = 0; j < A.n_cols; ++j) {
    const float* a = A.colptr(j);
    const float* b = B.colptr(j);
    double ab = 0, aa = 0, bb = 0;
    for (arma::uword i = 0; i < A.n_rows; ++i) {
      ab += static_cast<double>(a[i]) * b[i];
      aa += static_cast<double>(a[i]) * a[i];
      bb += static_cast<double>(b[i]) * b[i];
    }
    out(j) = aa > 0 && bb > 0 ? clamp_cos(ab / (std::sqrt(aa) * std::sqrt(bb))) : 0.0;
  }
  return out;
}

arma::vec matched_distance(const arma::fmat& A, const arma::fmat& B) {
  check_sizes(B, A.n_cols, "matched_distance");
  if (B.n_rows != A.n_rows)
    fail(Exit::software, "contextual", "matched_distance",
         fmt::format("widths differ (got {} rows, expected {})", B.n_rows, A.n_rows));
  arma::vec out(A.n_cols);
  for (arma::uword j = 0; j < A.n_cols; ++j) {
    const float* a = A.colptr(j);
    const float* b = B.colptr(j);
    double s = 0;
    for (arma::uword i = 0; i < A.n_rows; ++i) {
      const double d = static_cast<double>(b[i]) - a[i];
      s += d * d;
    }
    out(j) = std::sqrt(s);
  }
  return out;
}

std::vector<arma::uword> sample_columns(arma::uword n, std::size_t k, Rng& rng) {
  std::vector<arma::uword> all(n);
  for (arma::uword j = 0; j < n; ++j) all[j] = j;
  if (k == 0 || k >= n) return all;
  // Partial Fisher-Yates: the first k of a uniform random permutation, then in corpus order.
  for (std::size_t i = 0; i < k; ++i) std::swap(all[i], all[i + rng.below(n - i)]);
  all.resize(k);
  std::sort(all.begin(), all.end());
  return all;
}

}  // namespace embedlab::linalg::contextual
