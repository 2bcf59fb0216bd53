#include "geometry/layer_measures.hpp"

#include "core/error.hpp"
#include "core/threads.hpp"
#include "linalg/anisotropy.hpp"
#include "rsa/similarity_metrics.hpp"

#include <fmt/format.h>

#include <chrono>
#include <cmath>

namespace embedlab::geometry {

namespace cx = linalg::contextual;

namespace {

double mean_finite(const arma::vec& v) {
  double s = 0;
  std::size_t n = 0;
  for (double x : v)
    if (std::isfinite(x)) {
      s += x;
      ++n;
    }
  return n ? s / static_cast<double>(n) : arma::datum::nan;
}

// Runs f() and adds its seconds to *slot (when timing).
template <class F>
void timed(double* slot, F&& f) {
  const auto t0 = std::chrono::steady_clock::now();
  f();
  if (slot) *slot += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

arma::fmat word_states(const arma::fmat& H, const WordOccurrences& w) {
  arma::fmat out(H.n_rows, w.columns.size());
  for (std::size_t o = 0; o < w.columns.size(); ++o) {
    const auto& cols = w.columns[o];
    if (cols.empty() || cols.back() >= H.n_cols)
      fail(Exit::software, "layer measures", "words",
           fmt::format("occurrence {} has no or a bad column (got {} columns, {} states)", o, cols.size(), H.n_cols));
    if (cols.size() == 1 || w.pooling != Pooling::mean) {
      out.col(o) = H.col(w.pooling == Pooling::first ? cols.front() : cols.back());
    } else {
      arma::vec s(H.n_rows, arma::fill::zeros);
      for (const auto c : cols) s += arma::conv_to<arma::vec>::from(H.col(c));
      out.col(o) = arma::conv_to<arma::fvec>::from(s / static_cast<double>(cols.size()));
    }
  }
  return out;
}

LayerMeasures measure_layers(const std::vector<arma::fmat>& hidden, const std::vector<std::int64_t>& sentence,
                             const WordOccurrences& words, const LayerMeasureOptions& o, Rng& rng,
                             LayerMeasureTimes* times) {
  if (hidden.empty()) fail(Exit::software, "layer measures", "states", "no layers");
  const auto N = static_cast<arma::uword>(sentence.size());
  const arma::uword C = hidden[0].n_rows;
  for (std::size_t l = 0; l < hidden.size(); ++l)
    if (hidden[l].n_cols != N || hidden[l].n_rows != C)
      fail(Exit::software, "layer measures", "states",
           fmt::format("layer {} is {}×{} (expected {}×{})", l, hidden[l].n_rows, hidden[l].n_cols, C, N));
  const bool own_columns = words.columns.empty();
  if ((own_columns ? N : words.columns.size()) != words.key.size() || words.key.size() != words.sentence.size())
    fail(Exit::software, "layer measures", "words",
         fmt::format("keys, sentences and occurrences differ (got {}, {}, {})", words.key.size(), words.sentence.size(),
                     own_columns ? N : words.columns.size()));
  const std::size_t n_states = hidden.size();
  const int workers = worker_count(o.workers);
  LayerMeasures r;
  r.pairs = cx::draw_pairs(sentence, o.pairs, rng);
  r.groups = cx::group_words(words.key, words.sentence, o.min_occurrences);
  const std::size_t W = r.groups.word.size();
  std::size_t S = 0;
  for (std::size_t j = 0; j < sentence.size(); ++j) S += (j == 0 || sentence[j] != sentence[j - 1]);
  r.anisotropy.set_size(n_states);
  r.anisotropy_se.set_size(n_states);
  r.self_similarity.set_size(n_states);
  r.intra_sentence.set_size(n_states);
  r.mev.set_size(n_states);
  r.mean_norm.set_size(n_states);
  r.isoscore.set_size(n_states);
  r.rogue_share.set_size(n_states);
  r.next_layer_cosine.set_size(n_states - 1);
  r.rogue_dimension.resize(n_states);
  r.self_per_word.set_size(n_states, W);
  r.mev_per_word.set_size(n_states, W);
  r.intra_per_sentence.set_size(n_states, S);
  r.path_length.zeros(N);
  // MEV's and IsoScore's eigen-decompositions on one BLAS thread: LAPACK's threaded paths round
  // differently with the thread count, and these results are promised bit-identical.
  const BlasSingleThread one_blas_thread;
  for (std::size_t l = 0; l < n_states; ++l) {
    const arma::fmat& H = hidden[l];
    timed(times ? &times->pairs : nullptr, [&] {
      const auto pc = cx::pair_cosine(H, r.pairs, workers);
      r.anisotropy(l) = pc.mean;
      r.anisotropy_se(l) = pc.se;
      const arma::uword top = pc.contribution.index_max();
      r.rogue_dimension[l] = static_cast<std::int64_t>(top);
      r.rogue_share(l) = pc.mean != 0 ? pc.contribution(top) / pc.mean : arma::datum::nan;
    });
    arma::fmat pooled;
    if (!own_columns) pooled = word_states(H, words);
    const arma::fmat& Hw = own_columns ? H : pooled;  // (C, word occurrences)
    timed(times ? &times->self : nullptr, [&] {
      const arma::vec ss = cx::self_similarity(Hw, r.groups, words.sentence, workers);
      if (W) r.self_per_word.row(l) = ss.t();
      r.self_similarity(l) = mean_finite(ss);
    });
    timed(times ? &times->mev : nullptr, [&] {
      const arma::vec mv = cx::max_explainable_variance(Hw, r.groups, workers);
      if (W) r.mev_per_word.row(l) = mv.t();
      r.mev(l) = mean_finite(mv);
    });
    timed(times ? &times->intra : nullptr, [&] {
      const arma::vec is = cx::intra_sentence(H, sentence, workers);
      r.intra_per_sentence.row(l) = is.t();
      r.intra_sentence(l) = mean_finite(is);
    });
    timed(times ? &times->trajectory : nullptr, [&] {
      r.mean_norm(l) = arma::mean(cx::norms(H, workers));
      if (l + 1 < n_states) {
        const auto m = cx::matched(H, hidden[l + 1], workers);
        r.next_layer_cosine(l) = arma::mean(m.cosine);
        r.path_length += m.distance;
      }
    });
    timed(times ? &times->iso : nullptr,
          [&] { r.isoscore(l) = (N >= C && C >= 2) ? linalg::iso_score(H, workers, true) : arma::datum::nan; });
  }
  timed(times ? &times->cka : nullptr, [&] {
    // Drawn after the pairs, so the anisotropy's sample does not depend on cka_tokens.
    r.cka_columns = cx::sample_columns(N, o.cka_tokens, rng);
    // The sampled columns are read in place (copying 13 layers × 4096 columns into fresh memory
    // took 0.4 s here, a quarter of the CKA).
    std::vector<const arma::fmat*> spaces;
    for (const auto& H : hidden) spaces.push_back(&H);
    rsa::MetricOptions mo;
    mo.workers = workers;
    r.cka = rsa::linear_cka_matrix(spaces, mo, r.cka_columns.size() < N ? &r.cka_columns : nullptr);
  });
  return r;
}

}  // namespace embedlab::geometry
