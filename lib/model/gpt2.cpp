#include "model/gpt2.hpp"

#include "core/error.hpp"
#include "core/threads.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstring>
#include <limits>

namespace embedlab::model {

namespace {

// A rows×cols matrix over the first rows·cols floats of buf (no allocation, no copy).
arma::fmat view(arma::fmat& buf, arma::uword rows, arma::uword cols) {
  assert(rows * cols <= buf.n_elem);
  return arma::fmat(buf.memptr(), rows, cols, false, true);
}

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

// Single-query attention kernels for generation (T = 1): one head's hs×t cache against one query.
// Plain vector loops rather than BLAS: the work is tiny (2·hs·t per head) while OpenBLAS would split
// each call across its threads, a hand-off per head and layer (2·n_layer·n_head per token) that costs
// more than the arithmetic.
float dot(const float* a, const float* b, arma::uword n) {
  f4 acc0{}, acc1{};
  arma::uword i = 0;
  for (; i + 8 <= n; i += 8) {
    f4 a0, a1, b0, b1;
    std::memcpy(&a0, a + i, sizeof a0);
    std::memcpy(&a1, a + i + 4, sizeof a1);
    std::memcpy(&b0, b + i, sizeof b0);
    std::memcpy(&b1, b + i + 4, sizeof b1);
    acc0 += a0 * b0;
    acc1 += a1 * b1;
  }
  const f4 acc = acc0 + acc1;
  float r = (acc[0] + acc[1]) + (acc[2] + acc[3]);
  for (; i < n; ++i) r += a[i] * b[i];
  return r;
}

// s (t) = Kᵀ·q with K hs×t (column = key), q hs.
void scores_one(const float* k, const float* q, arma::uword hs, arma::uword t, float* s) {
  for (arma::uword i = 0; i < t; ++i) s[i] = dot(k + i * hs, q, hs);
}

// o (hs) = V·p with V hs×t (column = value), p t.
void weighted_sum_one(const float* v, const float* p, arma::uword hs, arma::uword t, float* o) {
  std::fill(o, o + hs, 0.0f);
  for (arma::uword i = 0; i < t; ++i) {
    const float w = p[i];
    const float* vi = v + i * hs;
    arma::uword j = 0;
    for (; j + 4 <= hs; j += 4) {
      f4 a, b;
      std::memcpy(&a, o + j, sizeof a);
      std::memcpy(&b, vi + j, sizeof b);
      a += w * b;
      std::memcpy(o + j, &a, sizeof a);
    }
    for (; j < hs; ++j) o[j] += w * vi[j];
  }
}

// The row-major Hugging Face shape of a tensor stored as the fmat rows×cols.
std::string hf_shape(arma::uword rows, arma::uword cols) {
  return cols == 1 ? fmt::format("[{}]", rows) : fmt::format("[{}, {}]", cols, rows);
}

}  // namespace

arma::uword argmax_lowest(const float* v, arma::uword n) {
  arma::uword best = 0;
  float bv = -std::numeric_limits<float>::infinity();
  for (arma::uword i = 0; i < n; ++i) {
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
  if (cfg_.activation != "gelu_new" && cfg_.activation != "gelu_pytorch_tanh")
    bad_config(
        "activation_function",
        fmt::format("unsupported activation (got '{}', expected gelu_new or gelu_pytorch_tanh)", cfg_.activation));
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
  return out_->t() * h_final;
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
}

void Gpt2Session::reserve(int t) {
  if (t <= reserved_) return;
  const auto T = static_cast<arma::uword>(t);
  const auto C = static_cast<arma::uword>(m_.n_embd());
  const auto hs = static_cast<arma::uword>(m_.head_size());
  x_.set_size(C, T);
  xn_.set_size(C, T);
  qkv_.set_size(3 * C, T);
  att_.set_size(C, T);
  fc_.set_size(static_cast<arma::uword>(m_.n_inner_), T);
  heads_.resize(static_cast<std::size_t>(std::clamp(threads(), 1, m_.n_head())));
  for (HeadScratch& w : heads_) {
    w.q.set_size(hs, T);
    w.o.set_size(hs, T);
    w.s.set_size(static_cast<arma::uword>(capacity_), T);
    w.srow.set_size(static_cast<arma::uword>(capacity_));
  }
  reserved_ = t;
}

// Causal self-attention of the T new positions (pos_ .. pos_+T−1) against the cache 0 .. pos_+T−1.
// qkv_ holds this chunk's q, k, v (3C×T; head h uses rows h·hs .. h·hs+hs−1 of each third); the
// result goes to att_ (C×T). A prompt (T > 1) spreads the heads over the workers, each head's
// products one single-threaded BLAS call, so the result does not depend on the thread count; one
// generated token (T = 1) is too little work to share and runs on the calling thread.
void Gpt2Session::attention(int layer, int t) {
  const auto T = static_cast<arma::uword>(t);
  const auto C = static_cast<arma::uword>(m_.n_embd());
  const auto hs = static_cast<arma::uword>(m_.head_size());
  const auto p0 = static_cast<arma::uword>(pos_);
  const auto total = p0 + T;
  const auto cap = static_cast<arma::uword>(capacity_);
  const auto n_head = static_cast<arma::uword>(m_.n_head());
  const double scale = 1.0 / std::sqrt(static_cast<double>(hs));
  arma::fmat& kc = k_cache_[static_cast<std::size_t>(layer)];
  arma::fmat& vc = v_cache_[static_cast<std::size_t>(layer)];
  arma::fmat att = view(att_, C, T);
  const auto one_head = [&](arma::uword h, HeadScratch& w) {
    arma::fmat q = view(w.q, hs, T);
    arma::fmat o = view(w.o, hs, T);
    arma::fmat s = view(w.s, total, T);
    // Append this chunk's keys and values: head h's cache is the hs×cap block starting at column h·cap.
    for (arma::uword j = 0; j < T; ++j) {
      const float* src = qkv_.colptr(j);
      std::copy_n(src + h * hs, hs, q.colptr(j));
      std::copy_n(src + C + h * hs, hs, kc.colptr(h * cap + p0 + j));
      std::copy_n(src + 2 * C + h * hs, hs, vc.colptr(h * cap + p0 + j));
    }
    arma::fmat k(kc.colptr(h * cap), hs, total, false, true);  // hs×total
    arma::fmat v(vc.colptr(h * cap), hs, total, false, true);  // hs×total
    // scores (total×T) = Kᵀ·Q; column j attends to keys 0 .. p0+j.
    if (T == 1)
      scores_one(k.memptr(), q.memptr(), hs, total, s.memptr());
    else
      s = k.t() * q;
    for (arma::uword j = 0; j < T; ++j) {
      float* col = s.colptr(j);
      const arma::uword n = p0 + j + 1;
      double mx = -std::numeric_limits<double>::infinity();
      for (arma::uword i = 0; i < n; ++i) mx = std::max(mx, static_cast<double>(col[i]));
      double sum = 0.0;
      for (arma::uword i = 0; i < n; ++i) {
        w.srow[i] = std::exp((col[i] - mx) * scale);
        sum += w.srow[i];
      }
      const double inv = 1.0 / sum;
      for (arma::uword i = 0; i < n; ++i) col[i] = static_cast<float>(w.srow[i] * inv);
      std::fill(col + n, col + total, 0.0f);
    }
    // head output (hs×T) = V · probabilities
    if (T == 1)
      weighted_sum_one(v.memptr(), s.memptr(), hs, total, o.memptr());
    else
      o = v * s;
    for (arma::uword j = 0; j < T; ++j) std::copy_n(o.colptr(j), hs, att.colptr(j) + h * hs);
  };
  if (T == 1) {
    for (arma::uword h = 0; h < n_head; ++h) one_head(h, heads_[0]);
    return;
  }
  const BlasSingleThread single;
  const auto workers = static_cast<arma::uword>(heads_.size());
  run_workers(static_cast<int>(workers), [&](int w) {
    for (auto h = static_cast<arma::uword>(w); h < n_head; h += workers)
      one_head(h, heads_[static_cast<std::size_t>(w)]);
  });
}

const arma::fmat& Gpt2Session::feed(std::span<const int> ids, Logits which, std::vector<arma::fmat>* hidden) {
  m_.check_ids(ids, pos_);
  if (pos_ + static_cast<int>(ids.size()) > capacity_)
    fail(Exit::usage, m_.where_, "session",
         fmt::format("cache full (got {} more tokens at position {}, capacity {})", ids.size(), pos_, capacity_));
  const int t = static_cast<int>(ids.size());
  if (heads_.size() != static_cast<std::size_t>(std::clamp(threads(), 1, m_.n_head())))
    reserved_ = 0;  // threads changed
  reserve(t);
  const auto T = static_cast<arma::uword>(t);
  const auto C = static_cast<arma::uword>(m_.n_embd());
  const double eps = m_.cfg_.layer_norm_epsilon;

  // x (C×T) = wte[:, id_t] + wpe[:, pos_ + t]
  arma::fmat x = view(x_, C, T);
  for (arma::uword j = 0; j < T; ++j) {
    const float* e = m_.wte_->colptr(static_cast<arma::uword>(ids[j]));
    const float* p = m_.wpe_->colptr(static_cast<arma::uword>(pos_) + j);
    float* dst = x.colptr(j);
    for (arma::uword i = 0; i < C; ++i) dst[i] = e[i] + p[i];
  }
  if (hidden) {
    hidden->clear();
    hidden->reserve(m_.blocks_.size() + 1);
    hidden->push_back(x);
  }

  arma::fmat xn = view(xn_, C, T);
  arma::fmat qkv = view(qkv_, 3 * C, T);
  arma::fmat att = view(att_, C, T);
  arma::fmat fc = view(fc_, static_cast<arma::uword>(m_.n_inner_), T);
  for (std::size_t l = 0; l < m_.blocks_.size(); ++l) {
    const Gpt2::Block& b = m_.blocks_[l];
    // attention: x += c_proj(attn(ln_1(x)))
    layer_norm(x, xn, *b.ln1_g, *b.ln1_b, eps);
    qkv = *b.attn_w * xn;  // (3C×C)·(C×T) → 3C×T
    qkv.each_col() += *b.attn_b;
    attention(static_cast<int>(l), t);
    x += *b.proj_w * att;  // (C×C)·(C×T), accumulated into the residual (beta = 1)
    x.each_col() += *b.proj_b;
    // MLP: x += c_proj(gelu(c_fc(ln_2(x))))
    layer_norm(x, xn, *b.ln2_g, *b.ln2_b, eps);
    fc = *b.fc_w * xn;  // (4C×C)·(C×T) → 4C×T
    fc.each_col() += *b.fc_b;
    gelu_new(fc.memptr(), fc.n_elem);
    x += *b.fc2_w * fc;  // (C×4C)·(4C×T) → C×T
    x.each_col() += *b.fc2_b;
    if (hidden) hidden->push_back(x);
  }
  pos_ += t;
  last_t_ = t;

  const auto V = static_cast<arma::uword>(m_.vocab_size());
  switch (which) {
    case Logits::none:
      logits_.reset();
      break;
    case Logits::last: {
      // only the last position: ln_f into xn's first column, then a gemv (V×C)·(C×1)
      arma::fmat h1 = view(xn_, C, 1);
      layer_norm_col(x.colptr(T - 1), h1.memptr(), m_.lnf_g_->memptr(), m_.lnf_b_->memptr(), C, eps);
      logits_.set_size(V, 1);
      logits_ = m_.out_->t() * h1;
      break;
    }
    case Logits::all:
      layer_norm(x, xn, *m_.lnf_g_, *m_.lnf_b_, eps);
      logits_.set_size(V, T);
      logits_ = m_.out_->t() * xn;
      break;
  }
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
