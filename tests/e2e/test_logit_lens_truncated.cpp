// End to end: the logit lens's intermediate layers against truncated models. The first l blocks of
// micro-gpt2 are saved as their own checkpoint (n_layer = l, the same wte, wpe and ln_f); that model's
// final residual stream (pre-ln_f) is layer l of the full model's lens, and its lens logits
// E·ln_f(h) at its last layer are the full model's at layer l. Both come from run_experiment's
// results.h5, so the whole path (config, loader, forward, lens, HDF5) is checked.
#include <boost/test/unit_test.hpp>

#include "../io/checkpoint_writer.hpp"
#include "e2e_util.hpp"
#include "io/h5_results.hpp"
#include "io/readers.hpp"

#include <nlohmann/json.hpp>

#include <fstream>
#include <regex>

using namespace embedlab;
using namespace embedlab::test;
namespace fs = std::filesystem;

namespace {

// The first `layers` blocks of the checkpoint in `src` as a checkpoint in `dst`.
void write_truncated(const std::string& src, const std::string& dst, int layers) {
  std::ifstream in(src + "/config.json");
  nlohmann::json cfg = nlohmann::json::parse(in);
  cfg["n_layer"] = layers;
  write_text(dst + "/config.json", cfg.dump(2));
  const io::SafetensorsIndex index = io::read_safetensors_index(src + "/model.safetensors");
  const auto all = io::read_safetensors_tensors(
      index, [](const io::SafetensorsEntry&) { return true; }, nullptr);
  static const std::regex block(R"((transformer\.)?h\.([0-9]+)\..*)");
  std::vector<StTensor> kept;
  for (const auto& e : index.tensors) {
    std::smatch m;
    if (std::regex_match(e.name, m, block) && std::stoi(m[2]) >= layers) continue;
    const io::Tensor& t = all.at(e.name);
    kept.push_back({e.name, t.shape, std::vector<float>(t.data.begin(), t.data.end()), "F32"});
  }
  write_safetensors(dst + "/model.safetensors", kept);
}

std::string run_lens(const std::string& model, const std::string& ids, const TempDir& dir, const std::string& tag) {
  const std::string results = dir.file("results-" + tag);
  const auto r = run_command(fmt::format("{} {} --results '{}' --quiet --set model.path='{}' --set prompts.text= "
                                         "--set 'prompts.ids={}' --set report.plots=false --set output.top_k=5",
                                         bin("run_experiment"), source("configs/logit_lens.ini"), results, model, ids),
                             dir);
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, tag << ": " << r.err);
  const std::string run = only_run_dir(results, "logit_lens");
  BOOST_REQUIRE(!run.empty());
  return (fs::path(run) / "results.h5").string();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(logit_lens_truncated_e2e)

BOOST_AUTO_TEST_CASE(intermediate_layers_equal_truncated_models) {
  EMBEDLAB_FIXTURE(model, "gpt2-golden/micro-gpt2");  // 3 blocks, n_embd 48, vocab 512
  const std::string ids = "1 2 3 4 5 6 7, 300 17 511 0 42";
  TempDir dir;
  const io::H5ResultReader full(run_lens(model, ids, dir, "full"));
  const std::size_t C = 48, k = 5;
  for (int l = 1; l <= 2; ++l) {
    BOOST_TEST_CONTEXT("first " << l << " blocks") {
      const std::string cut = dir.file(fmt::format("cut{}", l));
      fs::create_directory(cut);
      write_truncated(model, cut, l);
      const io::H5ResultReader part(run_lens(cut, ids, dir, fmt::format("cut{}", l)));
      for (int p = 0; p < 2; ++p) {
        const std::string g = fmt::format("/prompts/{}", p);
        const auto shape_full = full.shape(g + "/hidden"), shape_part = part.shape(g + "/hidden");
        BOOST_REQUIRE((shape_full == std::vector<std::uint64_t>{4, C}));
        BOOST_REQUIRE((shape_part == std::vector<std::uint64_t>{static_cast<std::uint64_t>(l) + 1, C}));
        const auto hf = full.read_doubles(g + "/hidden"), hp = part.read_doubles(g + "/hidden");
        // every state up to l: the same computation on the same weights, so the same floats
        double norm = 0, err = 0;
        for (std::size_t s = 0; s <= static_cast<std::size_t>(l); ++s)
          for (std::size_t c = 0; c < C; ++c) {
            norm = std::max(norm, std::abs(hf[s * C + c]));
            err = std::max(err, std::abs(hf[s * C + c] - hp[s * C + c]));
          }
        BOOST_TEST(err <= Tol<float>::eps * std::max(1.0, norm), "prompt " << p << ": max |h diff| " << err);
        // the cut model's final state is non-trivially different from the full model's
        double moved = 0;
        for (std::size_t c = 0; c < C; ++c) moved = std::max(moved, std::abs(hf[3 * C + c] - hp[l * C + c]));
        BOOST_TEST(moved > 1e-3, "prompt " << p << ": layer " << l << " equals the full model's output");
        // its lens at its last layer (its own logits) is the full model's lens at layer l
        const auto tf = full.read_doubles(g + "/top_ids"), tp = part.read_doubles(g + "/top_ids");
        const auto zf = full.read_doubles(g + "/top_logits"), zp = part.read_doubles(g + "/top_logits");
        for (std::size_t j = 0; j < k; ++j) {
          BOOST_TEST(tp[l * k + j] == tf[l * k + j], "prompt " << p << " rank " << j);
          BOOST_TEST(std::abs(zp[l * k + j] - zf[l * k + j]) <=
                     Tol<float>::sum * std::max(1.0, std::abs(zf[l * k + j])));
        }
        BOOST_TEST(part.attr_double(g, "final_token") == tf[l * k]);
      }
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
