#pragma once
// The GPT-2 forward pass (any size, from the checkpoint's config) on Armadillo/OpenBLAS.
//
// Layout: activations are column vectors, a sequence is C×T (column t = position t). Every weight is
// used in place from the checkpoint (const references, no copies). Hugging Face's Conv1D weight
// [in, out] (row-major, applied as x·W + b) is stored by io/ as the fmat out×in, so each linear layer
// is y = W·x + b without transposes.
//
// Threads: a forward pass runs on threads() workers (at most n_head) around single-threaded BLAS
// calls on blocks fixed by the model's shape: a prompt splits each weight matrix into blocks of rows
// (one sgemm each), a single token into blocks of columns (one sgemv each, then the partial sums are
// added in a fixed order). Results are bit-identical for every thread count.
//
// Numerics: float32 weights and matrix products; LayerNorm statistics and softmax reductions in
// double. config.json's maths keys are honoured as Hugging Face does (io::Gpt2Config): the MLP
// activation (gelu_new/gelu_pytorch_tanh 0.5·x·(1 + tanh(√(2/π)(x + 0.044715·x³))) in float, gelu
// with erf, relu, silu), n_inner, layer_norm_epsilon and the attention scaling. Logits that are not
// finite (an overflow) are an error (exit 65), never a token.
#include "io/gpt2_checkpoint.hpp"

#include <armadillo>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace embedlab::model {

// Which logits a forward pass computes: none, only the last position's (V×1) or every position's (V×T).
enum class Logits { none, last, all };

struct ForwardOptions {
  Logits logits = Logits::all;
  bool keep_hidden = false;  // record the residual stream after the embeddings and after every block
};

struct ForwardResult {
  // When keep_hidden: hidden[0] = token + position embeddings, hidden[l + 1] = residual stream after
  // block l (before ln_f), each C×T. Logit lens: model.logit_lens(hidden[l]).
  std::vector<arma::fmat> hidden;
  arma::fmat final_hidden;  // ln_f(h_L), C×T
  arma::fmat logits;        // V×T (Logits::all), V×1 (Logits::last) or empty
};

class Gpt2;

// Where a feed writes the residual stream in place: layer l's C × T states (0 = embeddings, l =
// after block l) go to columns offset .. offset+T−1 of *layers[l], nullptr = not kept. The
// matrices are the caller's (at least offset+T columns); nothing is allocated per feed.
struct StateSink {
  std::vector<arma::fmat*> layers;  // n_layer + 1 entries
  arma::uword offset = 0;
};

// Per-layer K and V caches plus every work buffer of the forward pass: feeding tokens through a
// session appends them to the cache; the token-by-token loop allocates nothing.
class Gpt2Session {
 public:
  // capacity: how many positions the cache holds (1..n_positions).
  Gpt2Session(const Gpt2& model, int capacity);

  int position() const { return pos_; }  // tokens fed so far
  int capacity() const { return capacity_; }
  void reset() { pos_ = 0; }

  // Runs ids (T ≥ 1 tokens) at positions position() .. position() + T − 1 and returns their logits
  // (V×T, V×1 for Logits::last, empty for none). The reference stays valid until the next feed.
  // hidden, if given, receives the residual stream after the embeddings and every block (each C×T).
  const arma::fmat& feed(std::span<const int> ids, Logits which, std::vector<arma::fmat>* hidden = nullptr);
  // Several independent sequences in one pass (an empty session; the lengths sum to ids.size() ≤
  // capacity()): each starts at position 0 and attends only to itself, so its states are those of
  // feeding it alone, while the linear layers run as one product over all the columns (a sentence
  // of 12 tokens alone is a 12-column SGEMM). No logits; the session is empty again afterwards.
  void feed_packed(std::span<const int> ids, std::span<const int> lengths, std::vector<arma::fmat>* hidden);
  void feed_packed(std::span<const int> ids, std::span<const int> lengths, const StateSink& sink);
  // ln_f of the last fed chunk, C×T.
  arma::fmat final_hidden() const;

 private:
  struct HeadScratch;
  void reserve(int t, int workers);
  const arma::fmat& feed_into(std::span<const int> ids, Logits which, const StateSink* sink);
  void check_feed(std::span<const int> ids) const;
  void check_packed(std::span<const int> ids, std::span<const int> lengths) const;
  // hidden resized to n_layer + 1 matrices of C × tokens, and the sink that fills them.
  StateSink sink_into(std::vector<arma::fmat>& hidden, std::size_t tokens) const;
  void attention_head(int layer, int head, int t, HeadScratch& w);

  const Gpt2& m_;
  int capacity_ = 0, pos_ = 0, reserved_ = 0, last_t_ = 0;
  // Caches: per layer, per head a contiguous hs×capacity block (column = position), so a head's keys
  // for positions 0..p−1 are one hs×p matrix for sgemm/sgemv.
  std::vector<arma::fmat> k_cache_, v_cache_;  // each hs × (capacity·n_head)
  // A packed feed: the [begin, end) columns of each sequence and each column's position; empty else.
  std::vector<std::pair<arma::uword, arma::uword>> segments_;
  std::vector<arma::uword> positions_;
  // Work buffers, reserved_ columns each; views of the first T columns are used per chunk.
  arma::fmat x_;    // C×T residual stream
  arma::fmat xn_;   // C×T LayerNorm output
  arma::fmat qkv_;  // 3C×T
  arma::fmat att_;  // C×T attention output (heads concatenated), input of c_proj
  arma::fmat fc_;   // 4C×T MLP hidden
  // One per worker (the heads are spread over threads()), reserved_ columns each.
  struct HeadScratch {
    arma::fmat q;    // hs×T one head's queries
    arma::fmat o;    // hs×T one head's output
    arma::fmat s;    // capacity×T one head's scores / probabilities
    arma::vec srow;  // capacity, softmax in double
  };
  std::vector<HeadScratch> heads_;
  arma::fmat partial_;  // one token: a linear layer's partial sums, one column per block of its inputs
  arma::fmat logits_;
};

class Gpt2 {
 public:
  // Validates the config and every tensor's shape; keeps references into ckpt, which must outlive
  // the model.
  explicit Gpt2(const io::Gpt2Checkpoint& ckpt);

  const io::Gpt2Config& config() const { return cfg_; }
  int n_layer() const { return cfg_.n_layer; }
  int n_embd() const { return cfg_.n_embd; }
  int n_head() const { return cfg_.n_head; }
  int head_size() const { return cfg_.n_embd / cfg_.n_head; }
  int n_positions() const { return cfg_.n_positions; }
  int vocab_size() const { return cfg_.vocab_size; }
  std::uint64_t n_params() const;            // unique parameters (tied E counted once)
  std::uint64_t n_params_embedding() const;  // wte + wpe (+ lm_head when untied)

  // The whole sequence from position 0 (1 ≤ T ≤ n_positions, ids < vocab_size).
  ForwardResult forward(std::span<const int> ids, const ForwardOptions& options = {}) const;
  // Greedy continuation of n tokens with the KV cache (argmax, ties → lowest id). Needs
  // T + n − 1 ≤ n_positions (the last generated token is not fed back).
  std::vector<int> generate_greedy(std::span<const int> ids, int n) const;

  // Final LayerNorm of any hidden state (C×T) and logits E_out·h for final hidden states (V×T).
  arma::fmat ln_f(const arma::fmat& h) const;
  arma::fmat logits(const arma::fmat& h_final) const;
  // z = E_out·ln_f(h): the logit lens of a residual-stream state (C×T → V×T).
  arma::fmat logit_lens(const arma::fmat& h) const { return logits(ln_f(h)); }

  // Checks ids against vocab_size and positions start..start+T−1 against n_positions (Error otherwise).
  void check_ids(std::span<const int> ids, int start = 0) const;

 private:
  friend class Gpt2Session;
  struct Block {
    const arma::fmat *ln1_g, *ln1_b, *attn_w, *attn_b, *proj_w, *proj_b;  // attn_w 3C×C, proj_w C×C
    const arma::fmat *ln2_g, *ln2_b, *fc_w, *fc_b, *fc2_w, *fc2_b;        // fc_w 4C×C, fc2_w C×4C
  };
  std::string where_;  // checkpoint dir, for messages
  io::Gpt2Config cfg_;
  int n_inner_ = 0;
  const arma::fmat *wte_, *wpe_, *lnf_g_, *lnf_b_, *out_;  // wte C×V, wpe C×P, out C×V
  std::vector<Block> blocks_;
};

// Index of the largest element, ties → lowest index; a NaN is an error (exit 65), never index 0.
arma::uword argmax_lowest(const float* v, arma::uword n);

}  // namespace embedlab::model
