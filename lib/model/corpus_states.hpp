#pragma once
// The hidden states of every token of a corpus at chosen layers (layer 0 = wte + wpe, layer l = the
// residual stream after block l). Consecutive sentences are packed into batches of at most
// kPackTokens tokens (or the longest sentence, bounded by n_positions) and each batch is one packed
// feed of one reused Gpt2Session (Gpt2Session::feed_packed: every sentence from position 0, attending
// only to itself, the linear layers one product over the batch's columns). The batches depend on the
// sentence lengths only. Each chosen layer is one C × N matrix (column j = occurrence j in corpus
// order), allocated once: the corpus's states are held once per layer and never copied.
#include "model/gpt2.hpp"

#include <armadillo>

#include <cstdint>
#include <span>
#include <vector>

namespace embedlab::model {

// 512 columns: GPT-2 small's linear layers reach the SGEMM rate of large products (a 128-column one
// ~15% less); the session's KV cache for GPT-2 XL at 512 positions is 315 MB.
inline constexpr int kPackTokens = 512;

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
