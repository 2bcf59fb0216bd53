// A GPT-2 checkpoint with the exact layout of the Hub's openai-community/gpt2 model.safetensors:
// 160 tensors named without the `transformer.` prefix (wte, wpe, 12 blocks × 12 tensors, the 12
// causal-mask buffers h.N.attn.bias F32 [1, 1, 1024, 1024], ln_f), `__metadata__ {"format": "pt"}`,
// the real vocabulary and context (50257, 1024) and 12 layers × 12 heads, with n_embd 192 so that wte
// (50257 × 192 F32, 36.8 MiB) goes through the threaded read-and-hash path of io (tensors of 32 MiB
// or more). Its F16 variant holds the same weights rounded to half. Both load, and their logits equal
// the float64 reference forward of the weights each file holds. The files are written once per run.
#include <boost/test/unit_test.hpp>

#include "core/sha256.hpp"
#include "gpt2_reference.hpp"
#include "io/gpt2_checkpoint.hpp"
#include "io/readers.hpp"
#include "model/gpt2.hpp"
#include "testing.hpp"

#include <string>
#include <vector>

using namespace embedlab;
using namespace embedlab::test;

namespace {

const std::vector<int> kIds = {464, 3797, 50256, 0, 31373, 50000};

struct HubFiles {
  TempDir f32, f16;
  RefGpt2 shape;
  std::vector<std::vector<double>> ref32, ref16;  // reference logits [t][v] of each file's weights
};

void make_hub_files(HubFiles& h) {
  RefGpt2& m = h.shape;
  m.n_layer = 12;
  m.n_head = 12;
  m.n_embd = 192;
  m.n_inner = 4 * 192;
  m.vocab = 50257;
  m.n_positions = 1024;
  std::vector<StTensor> weights = random_gpt2_tensors(m, kSeed, 0.1f);
  // The causal-mask buffers, each placed before its block's tensors as in the Hub's file.
  const auto P = static_cast<std::uint64_t>(m.n_positions);
  std::vector<float> tril(P * P, 0.0f);
  for (std::uint64_t i = 0; i < P; ++i)
    for (std::uint64_t j = 0; j <= i; ++j) tril[i * P + j] = 1.0f;
  nlohmann::json cfg = ref_config_json(m);
  cfg["architectures"] = {"GPT2LMHeadModel"};
  cfg["attn_pdrop"] = 0.1;
  cfg["bos_token_id"] = 50256;
  cfg["eos_token_id"] = 50256;
  cfg["task_specific_params"] = {{"text-generation", {{"do_sample", true}, {"max_length", 50}}}};
  for (const std::string dtype : {"F32", "F16"}) {
    std::vector<StTensor> file;
    for (auto& t : weights) {
      if (t.name.ends_with(".ln_1.weight")) {
        const std::string layer = t.name.substr(0, t.name.size() - std::string("ln_1.weight").size());
        file.push_back({layer + "attn.bias", {1, 1, P, P}, tril, dtype});
      }
      file.push_back({t.name, t.shape, t.values, dtype});
    }
    const TempDir& dir = dtype == "F32" ? h.f32 : h.f16;
    write_text(dir.file("config.json"), cfg.dump(2));
    write_safetensors(dir.file("model.safetensors"), file);
    for (auto& t : weights) t.dtype = dtype;
    set_ref_weights(m, weights);
    (dtype == "F32" ? h.ref32 : h.ref16) = ref_forward(m, kIds).logits;
  }
  m.w.clear();
}

const HubFiles& hub() {
  static HubFiles h;
  static const bool made = (make_hub_files(h), true);
  (void)made;
  return h;
}

void check_file(const std::string& dir, const std::string& dtype, const std::vector<std::vector<double>>& ref) {
  const std::string path = dir + "/model.safetensors";
  const io::SafetensorsIndex index = io::read_safetensors_index(path);
  BOOST_TEST(index.tensors.size() == 160u);
  for (const auto& e : index.tensors) BOOST_TEST(!e.name.starts_with("transformer."), e.name);
  const auto* wte = index.find("wte.weight");
  BOOST_REQUIRE(wte != nullptr);
  if (dtype == "F32") BOOST_TEST(wte->end - wte->begin >= (std::uint64_t{32} << 20));  // the threaded path

  const io::Gpt2Checkpoint ck = io::load_gpt2(dir);
  BOOST_TEST(ck.buffers_ignored == 12);
  BOOST_TEST(ck.tensors.size() == 148u);  // 160 − 12 buffers
  BOOST_TEST(ck.tensors.count("h.0.attn.bias") == 0u);
  BOOST_TEST(ck.tied);
  BOOST_TEST(!ck.lm_head_in_file);
  BOOST_TEST(ck.sources[1].dtype == dtype);
  BOOST_TEST(ck.sources[1].sha256 == sha256_file(path));  // hashed while read, every byte

  const model::Gpt2 gpt(ck);
  const auto r = gpt.forward(kIds);
  const auto [err, scale] = max_abs_diff(r.logits, ref);
  const double tol = Tol<float>::loose * std::max(1.0, scale);
  BOOST_TEST(err <= tol, dtype << ": max |logit error| " << err << " > " << tol);
  BOOST_TEST_MESSAGE(dtype << " hub-layout checkpoint: max |logit error| " << err << " (max |logit| " << scale << ")");
}

}  // namespace

BOOST_AUTO_TEST_SUITE(gpt2_hub_checkpoint)

BOOST_AUTO_TEST_CASE(f32_hub_layout) { check_file(hub().f32.path().string(), "F32", hub().ref32); }

BOOST_AUTO_TEST_CASE(f16_variant_within_its_rounding) {
  check_file(hub().f16.path().string(), "F16", hub().ref16);
  // The F16 file's logits differ from the F32 one's only by the rounding of the weights: the two
  // references are close but not equal (so the F16 case really tests the rounded weights).
  double gap = 0, scale = 0;
  for (std::size_t t = 0; t < hub().ref32.size(); ++t)
    for (std::size_t v = 0; v < hub().ref32[t].size(); ++v) {
      gap = std::max(gap, std::abs(hub().ref32[t][v] - hub().ref16[t][v]));
      scale = std::max(scale, std::abs(hub().ref32[t][v]));
    }
  BOOST_TEST_MESSAGE("F16 rounding moves the reference logits by at most " << gap);
  BOOST_TEST(gap > 5 * Tol<float>::loose * std::max(1.0, scale));
  BOOST_TEST(gap < 0.05 * std::max(1.0, scale));
}

BOOST_AUTO_TEST_SUITE_END()
