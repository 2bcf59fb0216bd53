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

double dot(const double* a, const double* b, arma::uword n) {
  double s = 0;
  for (arma::uword i = 0; i < n; ++i) s += a[i] * b[i];
  return s;
}

// 1/‖h‖ in double; 0 for a zero state (which then has cosine 0 with everything).
double inverse_norm(const float* h, arma::uword n) {
  double s = 0;
  for (arma::uword i = 0; i < n; ++i) s += static_cast<double>(h[i]) * h[i];
  return s > 0 ? 1.0 / std::sqrt(s) : 0.0;
}

// fn(item, scratch) for items 0 .. n−1 over the workers (one item per run; a scratch buffer per
// thread). Each item's result is computed by one thread alone: independent of the worker count.
template <class F>
void parallel_items(std::size_t n, int workers, F&& fn) {
  std::atomic<std::size_t> next{0};
  run_workers(static_cast<int>(
                  std::min<std::size_t>(static_cast<std::size_t>(worker_count(workers)), std::max<std::size_t>(n, 1))),
              [&](int) {
                std::vector<double> scratch;
                for (std::size_t k; (k = next.fetch_add(1)) < n;) fn(k, scratch);
              });
}

// fn(j) for columns 0 .. n−1, in runs of 256 columns over the workers.
template <class F>
void parallel_columns(arma::uword n, int workers, F&& fn) {
  parallel_for(n, workers, 256, [&](std::size_t j) { fn(static_cast<arma::uword>(j)); });
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
  parallel_columns(H.n_cols, workers, [&](arma::uword j) { inv(j) = inverse_norm(H.colptr(j), C); });
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

arma::vec self_similarity(const arma::fmat& H, const WordGroups& g, const std::vector<std::int64_t>& sentence,
                          int workers) {
  check_sizes(H, sentence.size(), "self_similarity");
  arma::vec out(g.word.size());
  const arma::uword C = H.n_rows;
  // Σ over ordered pairs in different sentences of û_i·û_j = |Σ û|² − Σ_s |Σ_{i∈s} û_i|², and the
  // number of such pairs n² − Σ_s n_s² (the occurrences are in corpus order, so grouped by sentence).
  // One word per task; each word's sums run in its occurrence order (independent of the workers).
  parallel_items(g.word.size(), workers, [&](std::size_t w, std::vector<double>& buf) {
    const auto& occ = g.occurrences[w];
    buf.assign(2 * C, 0.0);
    double* total = buf.data();
    double* part = total + C;
    double within = 0, within_pairs = 0, in_sentence = 0;
    const auto close_sentence = [&] {
      within += dot(part, part, C);
      within_pairs += in_sentence * in_sentence;
      std::fill(part, part + C, 0.0);
      in_sentence = 0;
    };
    for (std::size_t k = 0; k < occ.size(); ++k) {
      if (k > 0 && sentence[occ[k]] != sentence[occ[k - 1]]) close_sentence();
      const float* h = H.colptr(occ[k]);
      const double inv = inverse_norm(h, C);
      for (arma::uword i = 0; i < C; ++i) {
        const double u = static_cast<double>(h[i]) * inv;
        total[i] += u;
        part[i] += u;
      }
      in_sentence += 1;
    }
    close_sentence();
    const double count = static_cast<double>(occ.size());
    const double pairs = count * count - within_pairs;
    out(w) = pairs > 0 ? clamp_cos((dot(total, total, C) - within) / pairs) : arma::datum::nan;
  });
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

arma::vec intra_sentence(const arma::fmat& H, const std::vector<std::int64_t>& sentence, int workers) {
  check_sizes(H, sentence.size(), "intra_sentence");
  std::vector<std::size_t> starts;  // sentence k is columns [starts[k], starts[k+1])
  for (std::size_t j = 0; j < sentence.size(); ++j)
    if (j == 0 || sentence[j] != sentence[j - 1]) starts.push_back(j);
  starts.push_back(sentence.size());
  const std::size_t S = starts.size() - 1;
  arma::vec out(S);
  const arma::uword C = H.n_rows;
  parallel_items(S, workers, [&](std::size_t k, std::vector<double>& mean) {
    const std::size_t start = starts[k], end = starts[k + 1];
    if (end - start < 2) {
      out(k) = arma::datum::nan;
      return;
    }
    mean.assign(C, 0.0);
    for (std::size_t j = start; j < end; ++j) {
      const float* h = H.colptr(j);
      for (arma::uword i = 0; i < C; ++i) mean[i] += h[i];
    }
    const double n = static_cast<double>(end - start);
    for (double& m : mean) m /= n;
    const double mn = std::sqrt(dot(mean.data(), mean.data(), C));
    double sum = 0;
    for (std::size_t j = start; j < end; ++j) {
      const float* h = H.colptr(j);
      double hm = 0, hh = 0;
      for (arma::uword i = 0; i < C; ++i) {
        hm += h[i] * mean[i];
        hh += static_cast<double>(h[i]) * h[i];
      }
      sum += (hh > 0 && mn > 0) ? clamp_cos(hm / (std::sqrt(hh) * mn)) : 0.0;
    }
    out(k) = sum / n;
  });
  return out;
}

arma::vec norms(const arma::fmat& H, int workers) {
  arma::vec out(H.n_cols);
  parallel_columns(H.n_cols, workers, [&](arma::uword j) {
    const float* h = H.colptr(j);
    double s = 0;
    for (arma::uword i = 0; i < H.n_rows; ++i) s += static_cast<double>(h[i]) * h[i];
    out(j) = std::sqrt(s);
  });
  return out;
}

Matched matched(const arma::fmat& A, const arma::fmat& B, int workers) {
  check_sizes(B, A.n_cols, "matched");
  if (B.n_rows != A.n_rows)
    fail(Exit::software, "contextual", "matched",
         fmt::format("widths differ (got {} rows, expected {})", B.n_rows, A.n_rows));
  Matched r;
  r.cosine.set_size(A.n_cols);
  r.distance.set_size(A.n_cols);
  parallel_columns(A.n_cols, workers, [&](arma::uword j) {
    const float* a = A.colptr(j);
    const float* b = B.colptr(j);
    double ab = 0, aa = 0, bb = 0, dd = 0;
    for (arma::uword i = 0; i < A.n_rows; ++i) {
      const double x = a[i], y = b[i];
      ab += x * y;
      aa += x * x;
      bb += y * y;
      dd += (y - x) * (y - x);
    }
    r.cosine(j) = aa > 0 && bb > 0 ? clamp_cos(ab / (std::sqrt(aa) * std::sqrt(bb))) : 0.0;
    r.distance(j) = std::sqrt(dd);
  });
  return r;
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
