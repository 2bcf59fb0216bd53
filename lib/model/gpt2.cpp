#include "model/gpt2.hpp"

#include "core/error.hpp"
#include "core/threads.hpp"

#include <cblas.h>
#include <fmt/format.h>

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstring>
#include <limits>

namespace embedlab::model {

namespace {

// One column of C features: y = (x − mean) / sqrt(var + eps) · g + b, statistics in double.
void layer_norm_col(const float* x, float* y, const float* g, const float* b, arma::uword c, double eps) {
  double sum = 0.0;
  for (arma::uword i = 0; i < c; ++i) sum += x[i];
  const double mean = sum / static_cast<double>(c);
  double ss = 0.0;
  for (arma::uword i = 0; i < c; ++i) {
    const double d = x[i] - mean;
    ss += d * d;
  }
  const double rstd = 1.0 / std::sqrt(ss / static_cast<double>(c) + eps);
  for (arma::uword i = 0; i < c; ++i) y[i] = static_cast<float>((x[i] - mean) * rstd * g[i] + b[i]);
}

// x (C×T) → y (C×T, may be x); g, b are C×1.
void layer_norm(const arma::fmat& x, arma::fmat& y, const arma::fmat& g, const arma::fmat& b, double eps) {
  assert(y.n_rows == x.n_rows && y.n_cols == x.n_cols);
  for (arma::uword t = 0; t < x.n_cols; ++t)
    layer_norm_col(x.colptr(t), y.colptr(t), g.memptr(), b.memptr(), x.n_rows, eps);
}

// tanh for float lanes: Eigen's rational approximation (odd degree-13 / even degree-6 polynomials on
// [-7.9053, 7.9053], clamped outside), |error| ≤ 4e-7 against tanh (a few float ulps near ±1). Written
// with vector extensions because libm's tanh is neither vectorised nor cheap: the MLP evaluates it
// 4C times per token, which in double cost ~15% of a GPT-2-small prefill.
using f4 = float __attribute__((vector_size(16)));

f4 tanh_f4(f4 x) {
  const f4 c = f4{} + 7.90531110763549805f;
  x = x < c ? x : c;
  x = x > -c ? x : -c;
  const f4 x2 = x * x;
  f4 p = x2 * -2.76076847742355e-16f + 2.00018790482477e-13f;
  p = p * x2 + -8.60467152213735e-11f;
  p = p * x2 + 5.12229709037114e-08f;
  p = p * x2 + 1.48572235717979e-05f;
  p = p * x2 + 6.37261928875436e-04f;
  p = p * x2 + 4.89352455891786e-03f;
  f4 q = x2 * 1.19825839466702e-06f + 1.18534705686654e-04f;
  q = q * x2 + 2.26843463243900e-03f;
  q = q * x2 + 4.89352518554385e-03f;
  return x * p / q;
}

// gelu_new in place: 0.5·x·(1 + tanh(√(2/π)(x + 0.044715·x³))), in float like the reference.
void gelu_new(float* x, arma::uword n) {
  constexpr float k = 0.7978845608028654f;  // sqrt(2 / pi)
  const auto gelu4 = [](f4 v) { return 0.5f * v * (1.0f + tanh_f4(k * (v + 0.044715f * v * v * v))); };
  arma::uword i = 0;
  for (; i + 4 <= n; i += 4) {
    f4 v;
    std::memcpy(&v, x + i, sizeof v);
    v = gelu4(v);
    std::memcpy(x + i, &v, sizeof v);
  }
  if (i < n) {
    f4 v{};
    std::memcpy(&v, x + i, (n - i) * sizeof(float));
    v = gelu4(v);
    std::memcpy(x + i, &v, (n - i) * sizeof(float));
  }
}

// The other activations of Hugging Face's ACT2FN, in place, computed in double and rounded once:
// gelu 0.5·x·(1 + erf(x/√2)), relu max(x, 0), silu x·σ(x) = x / (1 + e^−x).
void activate(io::Activation act, float* x, arma::uword n) {
  switch (act) {
    case io::Activation::gelu_tanh:
      gelu_new(x, n);
      return;
    case io::Activation::gelu_erf:
      for (arma::uword i = 0; i < n; ++i) {
        const double v = x[i];
        x[i] = static_cast<float>(0.5 * v * (1.0 + std::erf(v * 0.70710678118654752440)));
      }
      return;
    case io::Activation::relu:
      for (arma::uword i = 0; i < n; ++i) x[i] = x[i] > 0.0f ? x[i] : (x[i] == x[i] ? 0.0f : x[i]);  // NaN stays NaN
      return;
    case io::Activation::silu:
      for (arma::uword i = 0; i < n; ++i) {
        const double v = x[i];
        x[i] = static_cast<float>(v / (1.0 + std::exp(-v)));
      }
      return;
  }
}

// Non-finite logits mean the forward pass overflowed (the weights are checked finite at load): an
// error naming the first one, never a token chosen from NaN.
void check_logits(const arma::fmat& z, const std::string& where, arma::uword first_position) {
  const float* v = z.memptr();
  for (arma::uword k = 0; k < z.n_elem; ++k) {
    if (std::isfinite(v[k])) continue;
    arma::uword bad = 0;
    for (arma::uword i = k; i < z.n_elem; ++i) bad += !std::isfinite(v[i]);
    fail(Exit::data, where, "logits",
         fmt::format("{} non-finite values (first: {} for token id {} at position {}): the forward pass overflowed "
                     "float32 (expected finite logits)",
                     bad, v[k], k % z.n_rows, first_position + k / z.n_rows));
  }
}

// c (m×n, column stride ldc) = op(a)·b + beta·c, where op(a) is a (m×k, column stride lda) or, when
// trans_a, the transpose of a (k×m); b is k×n contiguous. One BLAS call on the calling thread (the
// forward pass runs OpenBLAS single-threaded and makes its own parallelism): sgemv when n = 1.
void gemm(bool trans_a, arma::uword m, arma::uword n, arma::uword k, const float* a, arma::uword lda, const float* b,
          float beta, float* c, arma::uword ldc) {
  const auto i = [](arma::uword v) { return static_cast<int>(v); };
  if (n == 1) {
    if (trans_a)
      cblas_sgemv(CblasColMajor, CblasTrans, i(k), i(m), 1.0f, a, i(lda), b, 1, beta, c, 1);
    else
      cblas_sgemv(CblasColMajor, CblasNoTrans, i(m), i(k), 1.0f, a, i(lda), b, 1, beta, c, 1);
    return;
  }
  cblas_sgemm(CblasColMajor, trans_a ? CblasTrans : CblasNoTrans, CblasNoTrans, i(m), i(n), i(k), 1.0f, a, i(lda), b,
              i(k), beta, c, i(ldc));
}

// How the forward pass divides work into blocks. The blocks are fixed by the model's shape, never
// by the thread count, and each is one single-threaded BLAS call: every number is computed the same
// way for any number of workers, so results are bit-identical across thread counts.
//
// Weight matrices (C, 3C or 4C rows; C or 4C columns) are split into blocks of n_embd/2 rows for a
// prompt (one sgemm each) or n_embd/2 columns for one token (one sgemv each): an even number of
// blocks for every GPT-2 matrix. Large blocks matter because each sgemm repacks the activations
// (K×T). Measured on GPT-2 small, 2 workers: 3072×768·768×128 at 140 GFLOP/s in 64-row blocks, 165
// in 384-row blocks, 168 in one block per worker; a token 5% faster in 384-column blocks than in 64.
arma::uword block_size(arma::uword n_embd) { return std::max<arma::uword>(16, (n_embd / 2 + 15) / 16 * 16); }
constexpr arma::uword kVocabBlock = 1024;  // output rows of the logits per call

// Worker w's contiguous run of the ceil(n / block) blocks of n items, as the items [begin, end).
struct Range {
  arma::uword begin, end;
  arma::uword size() const { return end - begin; }
};
Range share(arma::uword n, arma::uword block, int w, int workers) {
  const arma::uword blocks = (n + block - 1) / block;
  const auto W = static_cast<arma::uword>(workers);
  const auto at = [&](arma::uword i) { return std::min(n, (blocks * i / W) * block); };
  return {at(static_cast<arma::uword>(w)), at(static_cast<arma::uword>(w) + 1)};
}

// The row-major Hugging Face shape of a tensor stored as the fmat rows×cols.
std::string hf_shape(arma::uword rows, arma::uword cols) {
  return cols == 1 ? fmt::format("[{}]", rows) : fmt::format("[{}, {}]", cols, rows);
}

}  // namespace

arma::uword argmax_lowest(const float* v, arma::uword n) {
  if (n == 0) fail(Exit::software, "argmax", "", "empty vector");
  arma::uword best = 0;
  float bv = -std::numeric_limits<float>::infinity();
  for (arma::uword i = 0; i < n; ++i) {
    if (std::isnan(v[i])) fail(Exit::data, "argmax", "logits", fmt::format("NaN at index {} (expected numbers)", i));
    if (v[i] > bv) {
      bv = v[i];
      best = i;
    }
  }
  return best;
}

// ---------------------------------------------------------------------------------------------
// Gpt2

Gpt2::Gpt2(const io::Gpt2Checkpoint& ckpt)
    : where_(ckpt.dir.empty() ? std::string("gpt2") : ckpt.dir), cfg_(ckpt.config) {
  const auto bad_config = [&](const std::string& key, const std::string& what) {
    fail(Exit::data, where_ + "/config.json", key, what);
  };
  if (cfg_.n_layer < 1) bad_config("n_layer", fmt::format("must be positive (got {})", cfg_.n_layer));
  if (cfg_.n_head < 1) bad_config("n_head", fmt::format("must be positive (got {})", cfg_.n_head));
  if (cfg_.n_embd < 1) bad_config("n_embd", fmt::format("must be positive (got {})", cfg_.n_embd));
  if (cfg_.n_positions < 1) bad_config("n_positions", fmt::format("must be positive (got {})", cfg_.n_positions));
  if (cfg_.vocab_size < 1) bad_config("vocab_size", fmt::format("must be positive (got {})", cfg_.vocab_size));
  if (cfg_.n_embd % cfg_.n_head != 0)
    bad_config("n_embd", fmt::format("not divisible by n_head (got n_embd {}, n_head {})", cfg_.n_embd, cfg_.n_head));
  if (!(cfg_.layer_norm_epsilon > 0.0) || !std::isfinite(cfg_.layer_norm_epsilon))
    bad_config("layer_norm_epsilon", fmt::format("must be positive and finite (got {})", cfg_.layer_norm_epsilon));
  n_inner_ = cfg_.n_inner > 0 ? cfg_.n_inner : 4 * cfg_.n_embd;

  const auto C = static_cast<arma::uword>(cfg_.n_embd);
  const auto V = static_cast<arma::uword>(cfg_.vocab_size);
  const auto P = static_cast<arma::uword>(cfg_.n_positions);
  const auto F = static_cast<arma::uword>(n_inner_);
  // Each tensor by name with the fmat shape it must have (Hugging Face [r, c] → c×r).
  const auto get = [&](const std::string& name, arma::uword rows, arma::uword cols) -> const arma::fmat* {
    const arma::fmat& t = ckpt.get(name);
    if (t.n_rows != rows || t.n_cols != cols)
      fail(Exit::data, where_, fmt::format("tensor '{}'", name),
           fmt::format("shape {} (expected {})", hf_shape(t.n_rows, t.n_cols), hf_shape(rows, cols)));
    return &t;
  };
  wte_ = get("wte.weight", C, V);
  wpe_ = get("wpe.weight", C, P);
  lnf_g_ = get("ln_f.weight", C, 1);
  lnf_b_ = get("ln_f.bias", C, 1);
  out_ = ckpt.tied ? wte_ : get("lm_head.weight", C, V);
  blocks_.reserve(static_cast<std::size_t>(cfg_.n_layer));
  for (int l = 0; l < cfg_.n_layer; ++l) {
    const std::string p = fmt::format("h.{}.", l);
    Block b{};
    b.ln1_g = get(p + "ln_1.weight", C, 1);
    b.ln1_b = get(p + "ln_1.bias", C, 1);
    b.attn_w = get(p + "attn.c_attn.weight", 3 * C, C);  // [C, 3C]
    b.attn_b = get(p + "attn.c_attn.bias", 3 * C, 1);
    b.proj_w = get(p + "attn.c_proj.weight", C, C);
    b.proj_b = get(p + "attn.c_proj.bias", C, 1);
    b.ln2_g = get(p + "ln_2.weight", C, 1);
    b.ln2_b = get(p + "ln_2.bias", C, 1);
    b.fc_w = get(p + "mlp.c_fc.weight", F, C);  // [C, 4C]
    b.fc_b = get(p + "mlp.c_fc.bias", F, 1);
    b.fc2_w = get(p + "mlp.c_proj.weight", C, F);  // [4C, C]
    b.fc2_b = get(p + "mlp.c_proj.bias", C, 1);
    blocks_.push_back(b);
  }
}

std::uint64_t Gpt2::n_params_embedding() const {
  std::uint64_t n = wte_->n_elem + wpe_->n_elem;
  if (out_ != wte_) n += out_->n_elem;
  return n;
}

std::uint64_t Gpt2::n_params() const {
  std::uint64_t n = n_params_embedding() + lnf_g_->n_elem + lnf_b_->n_elem;
  for (const Block& b : blocks_) {
    for (const arma::fmat* t :
         {b.ln1_g, b.ln1_b, b.attn_w, b.attn_b, b.proj_w, b.proj_b, b.ln2_g, b.ln2_b, b.fc_w, b.fc_b, b.fc2_w, b.fc2_b})
      n += t->n_elem;
  }
  return n;
}

void Gpt2::check_ids(std::span<const int> ids, int start) const {
  if (ids.empty()) fail(Exit::usage, where_, "input_ids", "empty prompt (expected at least 1 token)");
  const auto end = static_cast<std::uint64_t>(start) + ids.size();
  if (start < 0 || end > static_cast<std::uint64_t>(cfg_.n_positions))
    fail(Exit::usage, where_, "input_ids",
         fmt::format("sequence of {} tokens is longer than n_positions (got {} tokens at positions {}..{}, expected at "
                     "most {} positions)",
                     end, ids.size(), start, end - 1, cfg_.n_positions));
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (ids[i] < 0 || ids[i] >= cfg_.vocab_size)
      fail(Exit::usage, where_, fmt::format("input_ids[{}]", i),
           fmt::format("token id out of vocabulary (got {}, expected 0..{})", ids[i], cfg_.vocab_size - 1));
  }
}

arma::fmat Gpt2::ln_f(const arma::fmat& h) const {
  if (h.n_rows != static_cast<arma::uword>(cfg_.n_embd))
    fail(Exit::usage, where_, "ln_f",
         fmt::format("hidden state has {} rows (expected n_embd = {})", h.n_rows, cfg_.n_embd));
  arma::fmat y(h.n_rows, h.n_cols);
  layer_norm(h, y, *lnf_g_, *lnf_b_, cfg_.layer_norm_epsilon);
  return y;
}

arma::fmat Gpt2::logits(const arma::fmat& h_final) const {
  if (h_final.n_rows != static_cast<arma::uword>(cfg_.n_embd))
    fail(Exit::usage, where_, "logits",
         fmt::format("hidden state has {} rows (expected n_embd = {})", h_final.n_rows, cfg_.n_embd));
  // out is C×V: logits (V×T) = outᵀ · h (sgemm / sgemv with transposed A, no copy)
  arma::fmat z = out_->t() * h_final;
  check_logits(z, where_, 0);
  return z;
}

ForwardResult Gpt2::forward(std::span<const int> ids, const ForwardOptions& options) const {
  check_ids(ids, 0);
  Gpt2Session s(*this, static_cast<int>(ids.size()));
  ForwardResult r;
  const arma::fmat& z = s.feed(ids, options.logits, options.keep_hidden ? &r.hidden : nullptr);
  if (options.logits != Logits::none) r.logits = z;
  r.final_hidden = s.final_hidden();
  return r;
}

std::vector<int> Gpt2::generate_greedy(std::span<const int> ids, int n) const {
  if (n < 0) fail(Exit::usage, where_, "generate", fmt::format("negative number of tokens (got {})", n));
  check_ids(ids, 0);
  const auto fed = static_cast<std::uint64_t>(ids.size()) + static_cast<std::uint64_t>(std::max(n - 1, 0));
  if (fed > static_cast<std::uint64_t>(cfg_.n_positions))
    fail(Exit::usage, where_, "generate",
         fmt::format("prompt of {} tokens + {} generated tokens needs {} positions (expected at most n_positions = {})",
                     ids.size(), n, fed, cfg_.n_positions));
  std::vector<int> out;
  if (n == 0) return out;
  out.reserve(static_cast<std::size_t>(n));
  Gpt2Session s(*this, static_cast<int>(fed));
  const arma::fmat* z = &s.feed(ids, Logits::last);
  for (int k = 0; k < n; ++k) {
    const int next = static_cast<int>(argmax_lowest(z->memptr(), z->n_rows));
    out.push_back(next);
    if (k + 1 < n) z = &s.feed(std::span<const int>(&out.back(), 1), Logits::last);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Gpt2Session

Gpt2Session::Gpt2Session(const Gpt2& model, int capacity) : m_(model), capacity_(capacity) {
  if (capacity < 1 || capacity > model.cfg_.n_positions)
    fail(Exit::usage, model.where_, "session",
         fmt::format("cache capacity out of range (got {}, expected 1..{})", capacity, model.cfg_.n_positions));
  const auto hs = static_cast<arma::uword>(model.head_size());
  const auto cols = static_cast<arma::uword>(capacity) * static_cast<arma::uword>(model.n_head());
  k_cache_.assign(static_cast<std::size_t>(model.n_layer()), arma::fmat(hs, cols, arma::fill::zeros));
  v_cache_.assign(static_cast<std::size_t>(model.n_layer()), arma::fmat(hs, cols, arma::fill::zeros));
  const auto C = static_cast<arma::uword>(model.n_embd());
  const auto F = static_cast<arma::uword>(model.n_inner_);
  const arma::uword block = block_size(C);
  partial_.set_size(std::max(3 * C, F), (std::max(C, F) + block - 1) / block);
}

void Gpt2Session::reserve(int t, int workers) {
  const auto hs = static_cast<arma::uword>(m_.head_size());
  if (t > reserved_) {
    const auto T = static_cast<arma::uword>(t);
    const auto C = static_cast<arma::uword>(m_.n_embd());
    x_.set_size(C, T);
    xn_.set_size(C, T);
    qkv_.set_size(3 * C, T);
    att_.set_size(C, T);
    fc_.set_size(static_cast<arma::uword>(m_.n_inner_), T);
    reserved_ = t;
  }
  heads_.resize(static_cast<std::size_t>(workers));
  for (HeadScratch& w : heads_) {
    w.q.set_size(hs, static_cast<arma::uword>(reserved_));
    w.o.set_size(hs, static_cast<arma::uword>(reserved_));
    w.s.set_size(static_cast<arma::uword>(capacity_), static_cast<arma::uword>(reserved_));
    w.srow.set_size(static_cast<arma::uword>(capacity_));
  }
}

// Causal self-attention of one head h for the T new positions (pos_ .. pos_+T−1) against the cache
// 0 .. pos_+T−1. qkv_ holds this chunk's q, k, v (3C×T; head h uses rows h·hs .. h·hs+hs−1 of each
// third); the head's output goes to rows h·hs .. of att_ (C×T).
void Gpt2Session::attention_head(int layer, int head, int t, HeadScratch& w) {
  const auto T = static_cast<arma::uword>(t);
  const auto C = static_cast<arma::uword>(m_.n_embd());
  const auto hs = static_cast<arma::uword>(m_.head_size());
  const auto h = static_cast<arma::uword>(head);
  const auto p0 = static_cast<arma::uword>(pos_);
  const auto total = p0 + T;
  const auto cap = static_cast<arma::uword>(capacity_);
  // Hugging Face divides the scores by sqrt(head_dim) when scale_attn_weights and by layer + 1 when
  // scale_attn_by_inverse_layer_idx (reorder_and_upcast_attn folds the two into one factor: the same
  // maths); the product is applied in double inside the softmax.
  double scale = 1.0;
  if (m_.cfg_.scale_attn_weights) scale /= std::sqrt(static_cast<double>(hs));
  if (m_.cfg_.scale_attn_by_inverse_layer_idx) scale /= static_cast<double>(layer + 1);
  float* kc = k_cache_[static_cast<std::size_t>(layer)].colptr(h * cap);  // hs×cap, column = position
  float* vc = v_cache_[static_cast<std::size_t>(layer)].colptr(h * cap);
  float* q = w.q.memptr();  // hs×T
  float* o = w.o.memptr();  // hs×T
  float* s = w.s.memptr();  // total×T
  for (arma::uword j = 0; j < T; ++j) {
    const float* src = qkv_.colptr(j);
    std::copy_n(src + h * hs, hs, q + j * hs);
    std::copy_n(src + C + h * hs, hs, kc + (p0 + j) * hs);
    std::copy_n(src + 2 * C + h * hs, hs, vc + (p0 + j) * hs);
  }
  // One causal attention: the n = keys.size() queries at columns q0 … q0+len−1 of q against keys
  // k0 … k0+keys−1 of the cache, query j seeing keys k0 … k0+keys−len+j.
  const auto attend = [&](arma::uword q0, arma::uword len, arma::uword k0, arma::uword keys) {
    // scores (keys×len) = Kᵀ·Q
    gemm(true, keys, len, hs, kc + k0 * hs, hs, q + q0 * hs, 0.0f, s, keys);
    for (arma::uword j = 0; j < len; ++j) {
      float* col = s + j * keys;
      const arma::uword n = keys - len + j + 1;
      double mx = -std::numeric_limits<double>::infinity();
      for (arma::uword i = 0; i < n; ++i) mx = std::max(mx, static_cast<double>(col[i]));
      double sum = 0.0;
      for (arma::uword i = 0; i < n; ++i) {
        w.srow[i] = std::exp((col[i] - mx) * scale);
        sum += w.srow[i];
      }
      const double inv = 1.0 / sum;
      for (arma::uword i = 0; i < n; ++i) col[i] = static_cast<float>(w.srow[i] * inv);
      std::fill(col + n, col + keys, 0.0f);
    }
    // head output (hs×len) = V · probabilities
    gemm(false, hs, len, keys, vc + k0 * hs, hs, s, 0.0f, o + q0 * hs, hs);
  };
  if (segments_.empty()) {
    attend(0, T, 0, total);  // the T new positions against the cache 0 .. p0+T−1
  } else {
    for (const auto& [begin, end] : segments_) attend(begin, end - begin, begin, end - begin);
  }
  for (arma::uword j = 0; j < T; ++j) std::copy_n(o + j * hs, hs, att_.colptr(j) + h * hs);
}

StateSink Gpt2Session::sink_into(std::vector<arma::fmat>& hidden, std::size_t tokens) const {
  hidden.assign(m_.blocks_.size() + 1, arma::fmat(static_cast<arma::uword>(m_.n_embd()), tokens));
  StateSink sink;
  for (auto& h : hidden) sink.layers.push_back(&h);
  return sink;
}

void Gpt2Session::feed_packed(std::span<const int> ids, std::span<const int> lengths, std::vector<arma::fmat>* hidden) {
  check_packed(ids, lengths);  // before hidden is touched
  feed_packed(ids, lengths, hidden ? sink_into(*hidden, ids.size()) : StateSink{});
}

void Gpt2Session::check_packed(std::span<const int> ids, std::span<const int> lengths) const {
  if (pos_ != 0)
    fail(Exit::usage, m_.where_, "session",
         fmt::format("a packed feed needs an empty session (got position {})", pos_));
  std::uint64_t total = 0;
  for (const int len : lengths) {
    if (len < 1) fail(Exit::usage, m_.where_, "session", fmt::format("empty sequence in a packed feed (got {})", len));
    total += static_cast<std::uint64_t>(len);
  }
  if (total != ids.size())
    fail(Exit::usage, m_.where_, "session",
         fmt::format("packed lengths do not add up (got {} tokens, lengths sum to {})", ids.size(), total));
  for (std::size_t off = 0; const int len : lengths) {
    m_.check_ids(ids.subspan(off, static_cast<std::size_t>(len)));  // each from position 0
    off += static_cast<std::size_t>(len);
  }
}

void Gpt2Session::feed_packed(std::span<const int> ids, std::span<const int> lengths, const StateSink& sink) {
  check_packed(ids, lengths);
  segments_.clear();
  positions_.clear();
  arma::uword begin = 0;
  for (const int len : lengths) {
    const auto end = begin + static_cast<arma::uword>(len);
    segments_.emplace_back(begin, end);
    for (arma::uword j = begin; j < end; ++j) positions_.push_back(j - begin);
    begin = end;
  }
  struct Clear {
    Gpt2Session& s;
    ~Clear() {
      s.segments_.clear();
      s.positions_.clear();
      s.pos_ = 0;
    }
  } clear{*this};
  feed_into(ids, Logits::none, sink.layers.empty() ? nullptr : &sink);
}

const arma::fmat& Gpt2Session::feed(std::span<const int> ids, Logits which, std::vector<arma::fmat>* hidden) {
  if (!hidden) return feed_into(ids, which, nullptr);
  check_feed(ids);  // before hidden is touched
  const StateSink sink = sink_into(*hidden, ids.size());
  return feed_into(ids, which, &sink);
}

void Gpt2Session::check_feed(std::span<const int> ids) const {
  m_.check_ids(ids, pos_);
  if (pos_ + static_cast<int>(ids.size()) > capacity_)
    fail(Exit::usage, m_.where_, "session",
         fmt::format("cache full (got {} more tokens at position {}, capacity {})", ids.size(), pos_, capacity_));
}

const arma::fmat& Gpt2Session::feed_into(std::span<const int> ids, Logits which, const StateSink* sink) {
  check_feed(ids);
  const int t = static_cast<int>(ids.size());
  const int workers = std::clamp(threads(), 1, m_.n_head());
  reserve(t, workers);
  const auto T = static_cast<arma::uword>(t);
  const auto C = static_cast<arma::uword>(m_.n_embd());
  const auto V = static_cast<arma::uword>(m_.vocab_size());
  const auto n_head = m_.n_head();
  const double eps = m_.cfg_.layer_norm_epsilon;
  // Everything the workers write is allocated (or checked) here: nothing inside the team throws (a
  // worker that threw would leave the others waiting at the barrier).
  if (sink) {
    if (sink->layers.size() != m_.blocks_.size() + 1)
      fail(Exit::usage, m_.where_, "session",
           fmt::format("state sink layers (got {}, expected {})", sink->layers.size(), m_.blocks_.size() + 1));
    for (const arma::fmat* h : sink->layers)
      if (h && (h->n_rows != C || h->n_cols < sink->offset + T))
        fail(Exit::usage, m_.where_, "session",
             fmt::format("state sink too small (got {}×{}, expected {}×{} or more columns)", h->n_rows, h->n_cols, C,
                         sink->offset + T));
  }
  switch (which) {
    case Logits::none:
      logits_.reset();
      break;
    case Logits::last:
      logits_.set_size(V, 1);
      break;
    case Logits::all:
      logits_.set_size(V, T);
      break;
  }

  // The team: `workers` threads run every stage together, separated by barriers, with OpenBLAS
  // single-threaded inside. Stages on whole columns (embeddings, LayerNorm) split the T positions;
  // a linear layer gives each worker a contiguous run of its fixed blocks (block_size; bias add and
  // GELU on the worker's rows while they are in cache); attention splits the heads. Against
  // OpenBLAS's own threads this makes the element-wise work parallel and keeps idle BLAS threads
  // from spinning beside it: prefill +10%, generation +12–15% on GPT-2 small (2 cores, A/B runs).
  const BlasSingleThread single;
  SpinBarrier sync(workers);
  const arma::uword block = block_size(C);
  const auto stage = [&](int w) {
    const Range cols = share(T, 1, w, workers);
    const auto keep = [&](std::size_t layer) {  // this worker's columns of x_ into the sink
      arma::fmat* to = sink ? sink->layers[layer] : nullptr;
      if (to)
        std::copy(x_.colptr(cols.begin), x_.colptr(cols.begin) + cols.size() * C,
                  to->colptr(sink->offset + cols.begin));
    };
    const auto norm_cols = [&](const arma::fmat& g, const arma::fmat& b) {
      for (arma::uword j = cols.begin; j < cols.end; ++j)
        layer_norm_col(x_.colptr(j), xn_.colptr(j), g.memptr(), b.memptr(), C, eps);
    };
    // y (rows×T) = W·in + b, or y += W·in + b when accumulate; the MLP activation on the result when act.
    const io::Activation activation = m_.cfg_.act;
    const auto linear = [&](const arma::fmat& W, const arma::fmat& b, const arma::fmat& in, arma::fmat& y,
                            bool accumulate, bool gelu) {
      const arma::uword rows = W.n_rows;
      const Range r = share(rows, block, w, workers);
      if (T == 1) {
        // One token (a matrix-vector product, bound by reading W): blocks of W's columns, so each
        // worker reads one contiguous stretch of memory (~20% more bandwidth than blocks of rows);
        // block k's partial sums go to column k of partial_, which are then added up in order.
        const Range k = share(W.n_cols, block, w, workers);
        for (arma::uword c = k.begin; c < k.end; c += block)
          gemm(false, rows, 1, std::min(block, k.end - c), W.colptr(c), rows, in.memptr() + c, 0.0f,
               partial_.colptr(c / block), rows);
        sync.arrive_and_wait();
        const arma::uword parts = (W.n_cols + block - 1) / block;
        float* y0 = y.memptr();
        for (arma::uword i = r.begin; i < r.end; ++i) y0[i] = accumulate ? y0[i] + b[i] : b[i];
        for (arma::uword p = 0; p < parts; ++p) {
          const float* part = partial_.colptr(p);
          for (arma::uword i = r.begin; i < r.end; ++i) y0[i] += part[i];
        }
      } else {
        // A prompt: blocks of W's rows, each one sgemm into its bias-initialised block of y.
        for (arma::uword j = 0; j < T; ++j) {
          float* yj = y.colptr(j);
          if (accumulate)
            for (arma::uword i = r.begin; i < r.end; ++i) yj[i] += b[i];
          else
            std::copy(b.memptr() + r.begin, b.memptr() + r.end, yj + r.begin);
        }
        for (arma::uword i = r.begin; i < r.end; i += block)
          gemm(false, std::min(block, r.end - i), T, W.n_cols, W.memptr() + i, rows, in.memptr(), 1.0f, y.memptr() + i,
               rows);
      }
      if (gelu && r.size() > 0)
        for (arma::uword j = 0; j < T; ++j) activate(activation, y.colptr(j) + r.begin, r.size());
    };

    // x (C×T) = wte[:, id_t] + wpe[:, pos_ + t]
    for (arma::uword j = cols.begin; j < cols.end; ++j) {
      const float* e = m_.wte_->colptr(static_cast<arma::uword>(ids[j]));
      const float* p = m_.wpe_->colptr(positions_.empty() ? static_cast<arma::uword>(pos_) + j : positions_[j]);
      float* dst = x_.colptr(j);
      for (arma::uword i = 0; i < C; ++i) dst[i] = e[i] + p[i];
    }
    keep(0);
    sync.arrive_and_wait();
    for (std::size_t l = 0; l < m_.blocks_.size(); ++l) {
      const Gpt2::Block& b = m_.blocks_[l];
      // attention: x += c_proj(attn(ln_1(x)))
      norm_cols(*b.ln1_g, *b.ln1_b);
      sync.arrive_and_wait();
      linear(*b.attn_w, *b.attn_b, xn_, qkv_, false, false);
      sync.arrive_and_wait();
      for (int h = w; h < n_head; h += workers)
        attention_head(static_cast<int>(l), h, t, heads_[static_cast<std::size_t>(w)]);
      sync.arrive_and_wait();
      linear(*b.proj_w, *b.proj_b, att_, x_, true, false);
      sync.arrive_and_wait();
      // MLP: x += c_proj(gelu(c_fc(ln_2(x))))
      norm_cols(*b.ln2_g, *b.ln2_b);
      sync.arrive_and_wait();
      linear(*b.fc_w, *b.fc_b, xn_, fc_, false, true);
      sync.arrive_and_wait();
      linear(*b.fc2_w, *b.fc2_b, fc_, x_, true, false);
      sync.arrive_and_wait();
      keep(l + 1);
    }
    if (which == Logits::none) return;
    // logits (V×T or V×1 for the last position) = outᵀ · ln_f(x); worker w computes a block of rows.
    const arma::uword first = which == Logits::last ? T - 1 : 0;
    for (arma::uword j = std::max(cols.begin, first); j < cols.end; ++j)
      layer_norm_col(x_.colptr(j), xn_.colptr(j), m_.lnf_g_->memptr(), m_.lnf_b_->memptr(), C, eps);
    sync.arrive_and_wait();
    const Range r = share(V, kVocabBlock, w, workers);
    for (arma::uword v = r.begin; v < r.end; v += kVocabBlock)
      gemm(true, std::min(kVocabBlock, r.end - v), logits_.n_cols, C, m_.out_->colptr(v), C, xn_.colptr(first), 0.0f,
           logits_.memptr() + v, V);
  };
  run_workers(workers, stage);
  const auto first_position = static_cast<arma::uword>(pos_) + (which == Logits::last ? T - 1 : 0);
  pos_ += t;
  last_t_ = t;
  if (which != Logits::none) check_logits(logits_, m_.where_, first_position);
  return logits_;
}

arma::fmat Gpt2Session::final_hidden() const {
  const auto C = static_cast<arma::uword>(m_.n_embd());
  arma::fmat y(C, static_cast<arma::uword>(last_t_));
  for (arma::uword j = 0; j < y.n_cols; ++j)
    layer_norm_col(x_.colptr(j), y.colptr(j), m_.lnf_g_->memptr(), m_.lnf_b_->memptr(), C, m_.cfg_.layer_norm_epsilon);
  return y;
}

}  // namespace embedlab::model
