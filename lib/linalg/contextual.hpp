#pragma once
// Geometry of contextual hidden states (Ethayarajh 2019, "How contextual are contextualized word
// representations?"), one layer at a time. Every function takes the states of one layer as H (C, N):
// column j = occurrence j of the corpus, in corpus order; `sentence` (N) gives the sentence index of
// each occurrence (nondecreasing) and `word` (N) its word (a token id). Everything accumulates in
// double and clamps cosines to [-1, 1]; a zero state has no direction and counts as cosine 0.
#include "core/rng.hpp"

#include <armadillo>

#include <cstdint>
#include <vector>

namespace embedlab::linalg::contextual {

// Occurrence pairs (a[k], b[k]) drawn uniformly among the ordered pairs from different sentences
// (independent draws with rejection of same-sentence pairs). Needs at least two sentences.
struct Pairs {
  std::vector<arma::uword> a, b;
};
Pairs draw_pairs(const std::vector<std::int64_t>& sentence, std::size_t n, Rng& rng);

// The anisotropy A = mean cos over the pairs with its standard error (sd / √n) and, per dimension i,
// its contribution CC_i = mean of û_i·v̂_i (Σ_i CC_i = A; Timkey & van Schijndel 2021's rogue
// dimensions are the few i with an outsized CC_i).
struct PairCosine {
  double mean = 0, se = 0;
  arma::vec contribution;  // C
};
// The pairs are summed in fixed chunks whose partial sums are added in chunk order, so the result is
// the same for any number of workers.
PairCosine pair_cosine(const arma::fmat& H, const Pairs& p, int workers = 1);

// The words with occurrences in at least min_sentences distinct sentences (ascending word id) and
// their occurrence columns (corpus order).
struct WordGroups {
  std::vector<std::int64_t> word;
  std::vector<std::vector<arma::uword>> occurrences;
};
WordGroups group_words(const std::vector<std::int64_t>& word, const std::vector<std::int64_t>& sentence,
                       std::size_t min_sentences);

// Per word: the mean cos(h_i, h_j) over ordered pairs i ≠ j of its occurrences in different sentences.
// The functions with `workers` split their words, sentences or columns over that many threads; each
// result is computed by one thread, so it does not depend on the count.
arma::vec self_similarity(const arma::fmat& H, const WordGroups& g, const std::vector<std::int64_t>& sentence,
                          int workers = 1);
// Per word: σ₁² / Σσ² of the (uncentred) occurrences × C matrix. Words go over `workers` threads,
// each word's eigenvalues on one (single-threaded BLAS inside: results independent of workers).
arma::vec max_explainable_variance(const arma::fmat& H, const WordGroups& g, int workers = 1);
// Per sentence: mean over its tokens of cos(h_t, mean_t' h_t'); NaN for a sentence of one token.
arma::vec intra_sentence(const arma::fmat& H, const std::vector<std::int64_t>& sentence, int workers = 1);

// Per occurrence: ‖h_j‖; and, of the same occurrence in two layers, cos(A_j, B_j) and ‖B_j − A_j‖
// (one pass over both).
arma::vec norms(const arma::fmat& H, int workers = 1);
struct Matched {
  arma::vec cosine, distance;
};
Matched matched(const arma::fmat& A, const arma::fmat& B, int workers = 1);

// The layer × layer linear CKA is rsa::linear_cka_matrix (lib/rsa/similarity_metrics.hpp). Over N
// occurrences it costs min((L+1)·N²·C, (L+1)(L+2)·N·C²) FLOPs (the occurrence Grams or the C × C
// cross-covariances), so layer_geometry computes it on a seeded sample of occurrences
// (measures.cka_tokens): k of the n columns drawn uniformly without replacement, ascending; k = 0 or
// k ≥ n gives all n columns (the exact all-occurrence value).
std::vector<arma::uword> sample_columns(arma::uword n, std::size_t k, Rng& rng);

}  // namespace embedlab::linalg::contextual
