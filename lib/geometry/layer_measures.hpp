#pragma once
// layer_geometry's measures over the states of every layer, in one call: the experiment and
// bench_model both run this, so the benchmark times exactly what the experiment computes.
// Definitions: linalg/contextual.hpp (Ethayarajh 2019's anisotropy, self-similarity,
// intra-sentence similarity and MEV; norms, trajectories), linalg/anisotropy.hpp (IsoScore) and
// rsa::linear_cka_matrix (the layer × layer CKA). Results are bit-identical for any worker count.
#include "core/rng.hpp"
#include "linalg/contextual.hpp"

#include <armadillo>

#include <cstdint>
#include <vector>

namespace embedlab::geometry {

// How a word of several tokens is represented in self-similarity and MEV.
enum class Pooling { last, first, mean };

// The word occurrences of the corpus: per occurrence its word key, its sentence and its token
// columns (corpus order). `columns` empty: every token column is one occurrence (no copy made).
struct WordOccurrences {
  std::vector<std::int64_t> key, sentence;
  std::vector<std::vector<arma::uword>> columns;
  Pooling pooling = Pooling::last;
};

// The state of each word occurrence (C, occurrences): its last or first token's, or the mean of its
// tokens' (in double, rounded to float).
arma::fmat word_states(const arma::fmat& H, const WordOccurrences& w);

struct LayerMeasureOptions {
  std::size_t pairs = 100000;       // anisotropy pairs drawn (rng, first)
  std::size_t cka_tokens = 4096;    // occurrences of the CKA (rng, second); 0: all
  std::size_t min_occurrences = 5;  // distinct sentences a word needs for self-similarity and MEV
  int workers = 1;
};

// Seconds spent per measure (for the benchmark's split).
struct LayerMeasureTimes {
  double pairs = 0, self = 0, mev = 0, intra = 0, trajectory = 0, iso = 0, cka = 0;
};

struct LayerMeasures {
  linalg::contextual::Pairs pairs;
  linalg::contextual::WordGroups groups;  // over the word occurrences
  std::vector<arma::uword> cka_columns;   // the CKA's occurrences (all when cka_tokens = 0)
  // per layer (L+1); next_layer_cosine (L)
  arma::vec anisotropy, anisotropy_se, self_similarity, intra_sentence, mev, mean_norm, isoscore, rogue_share,
      next_layer_cosine;
  std::vector<std::int64_t> rogue_dimension;
  arma::vec path_length;                                      // per token: Σ_l ‖h_{l+1} − h_l‖
  arma::mat self_per_word, mev_per_word, intra_per_sentence;  // (L+1, words | sentences)
  arma::mat cka;                                              // (L+1, L+1)
};

// hidden[l] is layer l's states (C, N), column j = token j in corpus order; sentence (N) is each
// token's sentence (nondecreasing, at least two sentences). IsoScore is NaN when N < C.
LayerMeasures measure_layers(const std::vector<arma::fmat>& hidden, const std::vector<std::int64_t>& sentence,
                             const WordOccurrences& words, const LayerMeasureOptions& options, Rng& rng,
                             LayerMeasureTimes* times = nullptr);

}  // namespace embedlab::geometry
