#pragma once
// The hidden states of every token of a corpus at chosen layers (layer 0 = wte + wpe, layer l = the
// residual stream after block l), one sentence at a time through one reused Gpt2Session (its KV
// cache and work buffers are allocated once for the longest sentence). Each chosen layer is one
// C × N matrix (column j = occurrence j in corpus order), allocated once: the corpus's states are
// held once per layer and never copied.
#include "model/gpt2.hpp"

#include <armadillo>

#include <cstdint>
#include <span>
#include <vector>

namespace embedlab::model {

struct CorpusStates {
  std::vector<int> layers;                              // the layer indices, ascending
  std::vector<arma::fmat> hidden;                       // per chosen layer, C × N
  arma::fmat final_hidden;                              // ln_f(h_L), C × N (when asked for)
  std::vector<std::int64_t> token, sentence, position;  // N each
};

// sentences: token ids (each 1..n_positions long, checked). layers: indices in 0..n_layer.
CorpusStates corpus_states(const Gpt2& model, std::span<const std::vector<int>> sentences,
                           const std::vector<int>& layers, bool with_final);

}  // namespace embedlab::model
