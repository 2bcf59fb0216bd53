// config.json keys that change the maths (Hugging Face GPT2Config / modeling_gpt2.py): every setting
// of activation_function, n_inner, layer_norm_epsilon, scale_attn_weights,
// scale_attn_by_inverse_layer_idx, reorder_and_upcast_attn and tie_word_embeddings on a small random
// checkpoint, against the independent float64 forward pass of gpt2_reference.hpp. Each variant's
// reference is also checked to differ from the default's by far more than the tolerance, so a key the
// library ignored would fail its case.
#include <boost/test/unit_test.hpp>

#include "../io/binary_writers.hpp"
#include "core/error.hpp"
#include "gpt2_reference.hpp"
#include "io/gpt2_checkpoint.hpp"
#include "model/gpt2.hpp"
#include "testing.hpp"

#include <nlohmann/json.hpp>

#include <limits>
#include <string>
#include <tuple>
#include <vector>

using namespace embedlab;
using namespace embedlab::test;

namespace {

RefGpt2 small_shape() {
  RefGpt2 m;
  m.n_layer = 3;
  m.n_head = 4;
  m.n_embd = 32;
  m.n_inner = 128;
  m.vocab = 96;
  m.n_positions = 16;
  return m;
}

const std::vector<int> kIds = {5, 17, 3, 88, 41, 41, 0, 95, 60, 12};

// Writes the checkpoint (config.json = the shape's + `keys`) into dir, runs the library on it and the
// reference with `ref`; returns {max |logit error|, max |reference logit|} and the reference logits.
struct Outcome {
  double err = 0, scale = 0;
  std::vector<std::vector<double>> ref_logits;
};

Outcome run_variant(const TempDir& dir, RefGpt2 ref, const nlohmann::json& keys, bool with_lm_head = false) {
  const auto tensors = random_gpt2_tensors(ref, kSeed, 0.3f, with_lm_head);
  nlohmann::json cfg = ref_config_json(ref);
  for (const auto& [k, v] : keys.items()) cfg[k] = v;
  write_text(dir.file("config.json"), cfg.dump());
  write_safetensors(dir.file("model.safetensors"), tensors);
  set_ref_weights(ref, tensors);
  const RefOutput r = ref_forward(ref, kIds);

  const io::Gpt2Checkpoint ck = io::load_gpt2(dir.path().string());
  const model::Gpt2 gpt(ck);
  const auto ours = gpt.forward(kIds);
  Outcome o;
  std::tie(o.err, o.scale) = max_abs_diff(ours.logits, r.logits);
  o.ref_logits = r.logits;
  return o;
}

double max_gap(const std::vector<std::vector<double>>& a, const std::vector<std::vector<double>>& b) {
  double g = 0;
  for (std::size_t t = 0; t < a.size(); ++t)
    for (std::size_t v = 0; v < a[t].size(); ++v) g = std::max(g, std::abs(a[t][v] - b[t][v]));
  return g;
}

// The float32 library against the float64 reference, relative to the largest logit (3 small layers:
// the errors are ~1e-6 of it).
double tolerance(double scale) { return Tol<float>::sum * std::max(1.0, scale); }

struct Variant {
  std::string label;
  nlohmann::json keys;
  void (*adjust)(RefGpt2&);
  bool changes_maths;
};

}  // namespace

BOOST_AUTO_TEST_SUITE(gpt2_config_variants)

BOOST_AUTO_TEST_CASE(each_maths_key_as_hugging_face) {
  const RefGpt2 base = small_shape();
  TempDir d0;
  const Outcome def = run_variant(d0, base, nlohmann::json::object());
  BOOST_TEST(def.err <= tolerance(def.scale), "default: max |logit error| " << def.err);
  BOOST_TEST_MESSAGE("default config: max |logit error| " << def.err << " (max |logit| " << def.scale << ")");

  const std::vector<Variant> variants = {
      {"gelu (erf)", {{"activation_function", "gelu"}}, [](RefGpt2& m) { m.act = "gelu"; }, true},
      {"gelu_pytorch_tanh",
       {{"activation_function", "gelu_pytorch_tanh"}},
       [](RefGpt2& m) { m.act = "gelu_new"; },
       false},
      {"relu", {{"activation_function", "relu"}}, [](RefGpt2& m) { m.act = "relu"; }, true},
      {"silu", {{"activation_function", "silu"}}, [](RefGpt2& m) { m.act = "silu"; }, true},
      {"n_inner 40", {{"n_inner", 40}}, [](RefGpt2& m) { m.n_inner = 40; }, true},
      {"layer_norm_epsilon 0.3", {{"layer_norm_epsilon", 0.3}}, [](RefGpt2& m) { m.eps = 0.3; }, true},
      {"scale_attn_weights false",
       {{"scale_attn_weights", false}},
       [](RefGpt2& m) { m.scale_attn_weights = false; },
       true},
      {"scale_attn_by_inverse_layer_idx",
       {{"scale_attn_by_inverse_layer_idx", true}},
       [](RefGpt2& m) { m.scale_by_inverse_layer = true; },
       true},
      {"both attention scalings + reorder_and_upcast_attn",
       {{"scale_attn_by_inverse_layer_idx", true}, {"reorder_and_upcast_attn", true}},
       [](RefGpt2& m) { m.scale_by_inverse_layer = true; },
       true},
      {"reorder_and_upcast_attn alone (same maths)", {{"reorder_and_upcast_attn", true}}, [](RefGpt2&) {}, false},
  };
  for (const auto& v : variants) {
    BOOST_TEST_CONTEXT(v.label) {
      RefGpt2 ref = base;
      v.adjust(ref);
      TempDir dir;
      const Outcome o = run_variant(dir, ref, v.keys);
      const double tol = tolerance(o.scale);
      BOOST_TEST(o.err <= tol, "max |logit error| " << o.err << " > " << tol);
      // the n_inner variant has other weights; every other reference differs only by the key
      const double gap = max_gap(o.ref_logits, def.ref_logits);
      if (v.changes_maths)
        BOOST_TEST(gap > 10 * tol, "the key changes the reference's logits by only " << gap);
      else
        BOOST_TEST(gap <= Tol<double>::sum * std::max(1.0, o.scale));
      BOOST_TEST_MESSAGE(v.label << ": max |logit error| " << o.err << ", change from the default " << gap);
    }
  }
}

// tie_word_embeddings as Hugging Face: true (the default) uses wte even when the file holds an
// lm_head.weight; false uses lm_head.weight (required).
BOOST_AUTO_TEST_CASE(tying_rule) {
  const RefGpt2 base = small_shape();
  for (const bool tie : {true, false}) {
    BOOST_TEST_CONTEXT("tie_word_embeddings " << tie) {
      RefGpt2 ref = base;
      ref.tied = tie;
      TempDir dir;
      const Outcome o = run_variant(dir, ref, {{"tie_word_embeddings", tie}}, /*with_lm_head=*/true);
      BOOST_TEST(o.err <= tolerance(o.scale), "max |logit error| " << o.err);
      const io::Gpt2Checkpoint ck = io::load_gpt2(dir.path().string());
      BOOST_TEST(ck.tied == tie);
      BOOST_TEST(ck.lm_head_in_file);
      BOOST_TEST(ck.tensors.count("lm_head.weight") == (tie ? 0u : 1u));
      BOOST_TEST(ck.output_source().find(tie ? "lm_head.weight is not used" : "tie_word_embeddings false") !=
                 std::string::npos);
    }
  }
  // The default (key absent) is true.
  RefGpt2 ref = base;
  TempDir dir;
  const Outcome o = run_variant(dir, ref, nlohmann::json::object(), /*with_lm_head=*/true);
  BOOST_TEST(o.err <= tolerance(o.scale));
  RefGpt2 untied = base;
  untied.tied = false;
  set_ref_weights(untied, random_gpt2_tensors(untied, kSeed, 0.3f, true));
  BOOST_TEST(max_gap(ref_forward(untied, kIds).logits, o.ref_logits) > 10 * tolerance(o.scale));
}

// Weights that overflow float32 in the forward pass give non-finite logits: an error, never token 0.
BOOST_AUTO_TEST_CASE(non_finite_logits_are_an_error) {
  RefGpt2 shape = small_shape();
  auto tensors = random_gpt2_tensors(shape, kSeed, 0.3f);
  for (auto& t : tensors)
    if (t.name == "h.1.mlp.c_proj.weight") std::fill(t.values.begin(), t.values.end(), 3e38f);  // finite
  TempDir dir;
  write_text(dir.file("config.json"), ref_config_json(shape).dump());
  write_safetensors(dir.file("model.safetensors"), tensors);
  const io::Gpt2Checkpoint ck = io::load_gpt2(dir.path().string());
  const model::Gpt2 gpt(ck);
  check_error([&] { gpt.forward(kIds); }, {"logits: ", "non-finite values", "overflowed"});
  check_error([&] { gpt.generate_greedy(kIds, 2); }, {"logits: ", "non-finite values"});
  const auto r = gpt.forward(kIds, {model::Logits::none, true});
  check_error([&] { gpt.logit_lens(r.hidden.back()); }, {"logits: ", "non-finite values"});
  std::vector<float> z = {1.0f, std::numeric_limits<float>::quiet_NaN(), 2.0f};
  check_error([&] { model::argmax_lowest(z.data(), z.size()); }, "NaN at index 1");
  z.assign(3, std::numeric_limits<float>::quiet_NaN());
  check_error([&] { model::argmax_lowest(z.data(), z.size()); }, "NaN at index 0");
}

BOOST_AUTO_TEST_SUITE_END()
