#pragma once
// An independent GPT-2 forward pass in double, written from the definitions (Radford et al. 2019 and
// Hugging Face's modeling_gpt2.py: pre-LayerNorm blocks, Conv1D x·W + b with W [in, out] row-major,
// causal softmax attention, tied or untied output). It never calls lib/model: the tests compare the
// library against it. Plus a generator of random GPT-2 checkpoints (tensors in Hugging Face layout).
#include "../io/checkpoint_writer.hpp"

#include <fmt/format.h>
#include <armadillo>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace embedlab::test {

struct RefGpt2 {
  int n_layer = 0, n_head = 0, n_embd = 0, n_inner = 0, vocab = 0, n_positions = 0;
  double eps = 1e-5;
  std::string act = "gelu_new";
  bool scale_attn_weights = true, scale_by_inverse_layer = false, tied = true;
  std::map<std::string, std::vector<double>> w;  // Hugging Face names without prefix, row-major values
};

struct RefOutput {
  std::vector<std::vector<std::vector<double>>> hidden;  // [state][t][c]: embeddings, after each block (pre ln_f)
  std::vector<std::vector<double>> logits;               // [t][v]
};

inline double ref_activation(const std::string& act, double x) {
  constexpr double kPi = 3.14159265358979323846;
  if (act == "gelu_new" || act == "gelu_pytorch_tanh")
    return 0.5 * x * (1.0 + std::tanh(std::sqrt(2.0 / kPi) * (x + 0.044715 * x * x * x)));
  if (act == "gelu") return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0)));
  if (act == "relu") return x > 0 ? x : 0.0;
  if (act == "silu") return x / (1.0 + std::exp(-x));
  BOOST_FAIL("reference: unknown activation " << act);
  return 0;
}

inline std::vector<double> ref_layer_norm(const std::vector<double>& x, const std::vector<double>& g,
                                          const std::vector<double>& b, double eps) {
  const auto n = static_cast<double>(x.size());
  double mean = 0;
  for (double v : x) mean += v;
  mean /= n;
  double var = 0;
  for (double v : x) var += (v - mean) * (v - mean);
  var /= n;
  std::vector<double> y(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) y[i] = (x[i] - mean) / std::sqrt(var + eps) * g[i] + b[i];
  return y;
}

// y = x·W + b, W [in, out] row-major.
inline std::vector<double> ref_conv1d(const std::vector<double>& x, const std::vector<double>& W,
                                      const std::vector<double>& b) {
  const std::size_t in = x.size(), out = b.size();
  BOOST_REQUIRE_EQUAL(W.size(), in * out);
  std::vector<double> y = b;
  for (std::size_t i = 0; i < in; ++i)
    for (std::size_t j = 0; j < out; ++j) y[j] += x[i] * W[i * out + j];
  return y;
}

inline RefOutput ref_forward(const RefGpt2& m, const std::vector<int>& ids) {
  const auto& w = m.w;
  const auto W = [&](const std::string& name) -> const std::vector<double>& {
    const auto it = w.find(name);
    BOOST_REQUIRE_MESSAGE(it != w.end(), "reference: no tensor " << name);
    return it->second;
  };
  const std::size_t T = ids.size(), C = static_cast<std::size_t>(m.n_embd);
  const std::size_t H = static_cast<std::size_t>(m.n_head), hs = C / H;
  std::vector<std::vector<double>> x(T, std::vector<double>(C));
  for (std::size_t t = 0; t < T; ++t)
    for (std::size_t c = 0; c < C; ++c)
      x[t][c] = W("wte.weight")[static_cast<std::size_t>(ids[t]) * C + c] + W("wpe.weight")[t * C + c];
  RefOutput out;
  out.hidden.push_back(x);
  for (int l = 0; l < m.n_layer; ++l) {
    const std::string p = fmt::format("h.{}.", l);
    std::vector<std::vector<double>> qkv(T), att(T, std::vector<double>(C, 0.0));
    for (std::size_t t = 0; t < T; ++t)
      qkv[t] = ref_conv1d(ref_layer_norm(x[t], W(p + "ln_1.weight"), W(p + "ln_1.bias"), m.eps),
                          W(p + "attn.c_attn.weight"), W(p + "attn.c_attn.bias"));
    double scale = 1.0;
    if (m.scale_attn_weights) scale /= std::sqrt(static_cast<double>(hs));
    if (m.scale_by_inverse_layer) scale /= static_cast<double>(l + 1);
    for (std::size_t h = 0; h < H; ++h) {
      for (std::size_t i = 0; i < T; ++i) {
        std::vector<double> s(i + 1);
        for (std::size_t j = 0; j <= i; ++j) {
          double d = 0;
          for (std::size_t k = 0; k < hs; ++k) d += qkv[i][h * hs + k] * qkv[j][C + h * hs + k];
          s[j] = d * scale;
        }
        const double mx = *std::max_element(s.begin(), s.end());
        double sum = 0;
        for (double& v : s) sum += (v = std::exp(v - mx));
        for (std::size_t j = 0; j <= i; ++j)
          for (std::size_t k = 0; k < hs; ++k) att[i][h * hs + k] += s[j] / sum * qkv[j][2 * C + h * hs + k];
      }
    }
    for (std::size_t t = 0; t < T; ++t) {
      const auto a = ref_conv1d(att[t], W(p + "attn.c_proj.weight"), W(p + "attn.c_proj.bias"));
      for (std::size_t c = 0; c < C; ++c) x[t][c] += a[c];
      auto f = ref_conv1d(ref_layer_norm(x[t], W(p + "ln_2.weight"), W(p + "ln_2.bias"), m.eps),
                          W(p + "mlp.c_fc.weight"), W(p + "mlp.c_fc.bias"));
      for (double& v : f) v = ref_activation(m.act, v);
      const auto y = ref_conv1d(f, W(p + "mlp.c_proj.weight"), W(p + "mlp.c_proj.bias"));
      for (std::size_t c = 0; c < C; ++c) x[t][c] += y[c];
    }
    out.hidden.push_back(x);
  }
  const auto& E = W(m.tied ? "wte.weight" : "lm_head.weight");  // [V, C]
  const auto V = static_cast<std::size_t>(m.vocab);
  for (std::size_t t = 0; t < T; ++t) {
    const auto hf = ref_layer_norm(x[t], W("ln_f.weight"), W("ln_f.bias"), m.eps);
    std::vector<double> z(V, 0.0);
    for (std::size_t v = 0; v < V; ++v) {
      double d = 0;
      for (std::size_t c = 0; c < C; ++c) d += E[v * C + c] * hf[c];
      z[v] = d;
    }
    out.logits.push_back(std::move(z));
  }
  return out;
}

// The tensors of a random GPT-2 in Hugging Face's hub order and names (no prefix): weights uniform
// in [-scale, scale), LayerNorm gains 1 ± 0.25, biases ± 0.1; lm_head.weight added when with_lm_head.
inline std::vector<StTensor> random_gpt2_tensors(const RefGpt2& shape, std::uint64_t seed, float scale,
                                                 bool with_lm_head = false) {
  Uniform u(seed);
  const auto C = static_cast<std::uint64_t>(shape.n_embd), V = static_cast<std::uint64_t>(shape.vocab);
  const auto P = static_cast<std::uint64_t>(shape.n_positions), F = static_cast<std::uint64_t>(shape.n_inner);
  std::vector<StTensor> t;
  const auto add = [&](const std::string& name, std::vector<std::uint64_t> dims, int kind) {
    std::uint64_t n = 1;
    for (auto d : dims) n *= d;
    StTensor s{name, dims, std::vector<float>(n), "F32"};
    for (auto& v : s.values) v = kind == 0 ? u(scale) : kind == 1 ? 1.0f + u(0.25f) : u(0.1f);
    t.push_back(std::move(s));
  };
  add("wte.weight", {V, C}, 0);
  add("wpe.weight", {P, C}, 0);
  for (int l = 0; l < shape.n_layer; ++l) {
    const std::string p = fmt::format("h.{}.", l);
    add(p + "ln_1.weight", {C}, 1);
    add(p + "ln_1.bias", {C}, 2);
    add(p + "attn.c_attn.weight", {C, 3 * C}, 0);
    add(p + "attn.c_attn.bias", {3 * C}, 2);
    add(p + "attn.c_proj.weight", {C, C}, 0);
    add(p + "attn.c_proj.bias", {C}, 2);
    add(p + "ln_2.weight", {C}, 1);
    add(p + "ln_2.bias", {C}, 2);
    add(p + "mlp.c_fc.weight", {C, F}, 0);
    add(p + "mlp.c_fc.bias", {F}, 2);
    add(p + "mlp.c_proj.weight", {F, C}, 0);
    add(p + "mlp.c_proj.bias", {C}, 2);
  }
  add("ln_f.weight", {C}, 1);
  add("ln_f.bias", {C}, 2);
  if (with_lm_head) add("lm_head.weight", {V, C}, 0);
  return t;
}

// The reference's weights: each tensor's values as stored (F16 ones rounded to half first).
inline void set_ref_weights(RefGpt2& m, const std::vector<StTensor>& tensors) {
  m.w.clear();
  for (const auto& t : tensors) {
    std::vector<double> v(t.values.size());
    for (std::size_t i = 0; i < v.size(); ++i)
      v[i] = t.dtype == "F16" ? static_cast<double>(round_to_half(t.values[i])) : static_cast<double>(t.values[i]);
    m.w[t.name] = std::move(v);
  }
}

// config.json for a reference model's shape (the maths keys are added by the caller).
inline nlohmann::json ref_config_json(const RefGpt2& m) {
  return {{"model_type", "gpt2"},      {"n_layer", m.n_layer},         {"n_head", m.n_head},
          {"n_embd", m.n_embd},        {"n_positions", m.n_positions}, {"n_ctx", m.n_positions},
          {"vocab_size", m.vocab},     {"n_inner", nullptr},           {"activation_function", "gelu_new"},
          {"layer_norm_epsilon", 1e-5}};
}

// max |a − b| over every logit, and max |b|.
inline std::pair<double, double> max_abs_diff(const arma::fmat& ours, const std::vector<std::vector<double>>& ref) {
  double err = 0, scale = 0;
  for (std::size_t t = 0; t < ref.size(); ++t)
    for (std::size_t v = 0; v < ref[t].size(); ++v) {
      err = std::max(err, std::abs(static_cast<double>(ours(v, t)) - ref[t][v]));
      scale = std::max(scale, std::abs(ref[t][v]));
    }
  return {err, scale};
}

}  // namespace embedlab::test
