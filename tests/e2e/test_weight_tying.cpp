// End to end: configs/weight_tying.ini on the golden micro checkpoints (tied and untied), offline
// through --set with id prompts, checked in the HDF5 against the Hugging Face float64 reference.
#include <boost/test/unit_test.hpp>

#include "e2e_util.hpp"
#include "io/h5_results.hpp"
#include "io/readers.hpp"

#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>
#include <numeric>

using namespace embedlab;
using namespace embedlab::test;
namespace fs = std::filesystem;
namespace tt = boost::test_tools;

namespace {

const std::string kIds = "1 2 3 4 5, 483 320 350 459 296 397 426 115 28 153 145 447 467 2 255 420 67, 7";

CommandResult run_wt(const TempDir& dir, const std::string& model, const std::string& extra = "") {
  return run_command(
      fmt::format("{} {} --results '{}' --quiet --set model.path='{}' --set prompts.text= "
                  "--set 'prompts.ids={}' --set report.plots=false{}",
                  bin("run_experiment"), source("configs/weight_tying.ini"), dir.file("results"), model, kIds, extra),
      dir);
}

nlohmann::json golden(const std::string& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

// A tensor of the checkpoint read from its file, in double: column i = row i on disk (C×V).
arma::mat tensor_of(const std::string& model, const std::string& name) {
  const auto idx = io::read_safetensors_index(model + "/model.safetensors");
  return arma::conv_to<arma::mat>::from(io::read_safetensors_tensor(idx, name).data);
}

arma::vec vec_of(const nlohmann::json& j) { return arma::vec(j.get<std::vector<double>>()); }

}  // namespace

BOOST_AUTO_TEST_SUITE(weight_tying_e2e)

BOOST_AUTO_TEST_CASE(tied_micro_gpt2_logits_are_e_times_h) {
  EMBEDLAB_FIXTURE(model, "gpt2-golden/micro-gpt2");
  EMBEDLAB_FIXTURE(gold_path, "gpt2-golden/micro-gpt2.golden.json");
  TempDir dir;
  const auto r = run_wt(dir, model);
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  const std::string run = only_run_dir(dir.file("results"), "weight_tying");
  io::H5ResultReader h5((fs::path(run) / "results.h5").string());
  BOOST_TEST(h5.attr_double("/tying", "tied") == 1.0);
  BOOST_TEST(h5.attr_double("/tying", "max_abs_diff") == 0.0);
  BOOST_TEST(h5.attr_string("/", "headline").find("tied") == 0u);
  const auto gold = golden(gold_path);
  const arma::mat E = tensor_of(model, "transformer.wte.weight");
  for (std::size_t c = 0; c < 3; ++c) {
    const auto& gc = gold["cases"][c];
    const std::string g = fmt::format("/prompts/{}", c);
    const double ref_tol = 10.0 * gc["max_abs_f32_vs_f64_logits"].get<double>() + 10.0 * Tol<float>::sum;
    BOOST_TEST(h5.read_doubles(g + "/input_ids") == gc["input_ids"].get<std::vector<double>>(), tt::per_element());
    // Tying, independently of embedlab: the file's wte times Hugging Face's final hidden state is
    // Hugging Face's logits (float64 both).
    const arma::vec ref_h = vec_of(gc["last_hidden_f64"].back()), ref_z = vec_of(gc["last_logits_f64"]);
    BOOST_TEST(arma::abs(E.t() * ref_h - ref_z).max() <= Tol<double>::loose * arma::abs(ref_z).max());
    // z = E·h (double) against the model's float32 logits.
    BOOST_TEST(h5.attr_double(g, "logits_max_abs_diff") <= ref_tol);
    BOOST_TEST(h5.attr_double(g, "e_logits_max_abs_diff") <= ref_tol);
    BOOST_TEST(h5.attr_double(g, "decomposition_max_rel_error") <= Tol<float>::loose);
    BOOST_TEST(h5.attr_double(g, "decomposition_max_abs_error") <= Tol<float>::loose);
    // The top-1 is the model's greedy next token; the top logits are the reference's.
    const auto top = h5.read_doubles(g + "/top_ids");
    const auto logit = h5.read_doubles(g + "/top_logit");
    BOOST_REQUIRE_EQUAL(top.size(), 10u);
    BOOST_TEST(top[0] == gc["greedy_next8"][0].get<double>());
    BOOST_TEST(h5.attr_double(g, "model_argmax") == top[0]);
    const auto last = gc["last_logits_f64"].get<std::vector<double>>();
    for (std::size_t j = 0; j < top.size(); ++j) {
      BOOST_TEST(std::abs(logit[j] - last[static_cast<std::size_t>(top[j])]) <= ref_tol, "rank " << j);
      if (j > 0) BOOST_TEST(logit[j] <= logit[j - 1]);
    }
    // |v_i|, |h| and cos θ_i of the table against the file's rows and the reference h:
    // cos θ_i = z_i / (|v_i||h|) from Hugging Face's z.
    const auto norm = h5.read_doubles(g + "/top_norm"), cos = h5.read_doubles(g + "/top_cos");
    BOOST_TEST(h5.attr_double(g, "h_norm") == arma::norm(ref_h), tt::tolerance(Tol<float>::loose));
    for (std::size_t j = 0; j < top.size(); ++j) {
      const auto i = static_cast<arma::uword>(top[j]);
      const double nv = arma::norm(E.col(i));
      BOOST_TEST(norm[j] == nv, tt::tolerance(Tol<float>::eps));
      BOOST_TEST(std::abs(cos[j] - ref_z(i) / (nv * arma::norm(ref_h))) <= Tol<float>::loose, "rank " << j);
    }
    const auto h = h5.read_doubles(g + "/h");
    BOOST_REQUIRE_EQUAL(h.size(), ref_h.n_elem);
    for (std::size_t i = 0; i < h.size(); ++i) BOOST_TEST(std::abs(h[i] - ref_h[i]) <= Tol<float>::loose);
    // p_i = softmax(z)_i of Hugging Face's logits, computed here.
    const auto prob = h5.read_doubles(g + "/top_prob");
    const arma::vec ref_p = arma::exp(ref_z - ref_z.max()) / arma::accu(arma::exp(ref_z - ref_z.max()));
    for (std::size_t j = 0; j < top.size(); ++j)
      BOOST_TEST(prob[j] == ref_p(static_cast<arma::uword>(top[j])), tt::tolerance(Tol<float>::loose));
    const double rho = h5.attr_double(g, "spearman_z_cos");
    BOOST_TEST((rho > 0.0 && rho <= 1.0), "Spearman(z, cos) = " << rho);
  }
  const std::string report = read_file((fs::path(run) / "report.md").string());
  BOOST_TEST(report.find("| rank | token | id | logit z |") != std::string::npos);
  BOOST_TEST(report.find("**is** the token embedding matrix") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(untied_micro_gpt2_is_reported_untied) {
  EMBEDLAB_FIXTURE(model, "gpt2-golden/micro-gpt2-untied");
  EMBEDLAB_FIXTURE(gold_path, "gpt2-golden/micro-gpt2-untied.golden.json");
  TempDir dir;
  const auto r = run_wt(dir, model);
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  io::H5ResultReader h5((fs::path(only_run_dir(dir.file("results"), "weight_tying")) / "results.h5").string());
  BOOST_TEST(h5.attr_double("/tying", "tied") == 0.0);
  BOOST_TEST(h5.attr_double("/tying", "max_abs_diff") > 0.0);
  BOOST_TEST(h5.attr_string("/", "headline").find("untied") == 0u);
  const auto gold = golden(gold_path);
  const arma::mat E = tensor_of(model, "transformer.wte.weight"), W = tensor_of(model, "lm_head.weight");
  BOOST_TEST(h5.attr_double("/tying", "max_abs_diff") == arma::abs(W - E).max(), tt::tolerance(Tol<double>::eps));
  for (std::size_t c = 0; c < 3; ++c) {
    const auto& gc = gold["cases"][c];
    const std::string g = fmt::format("/prompts/{}", c);
    const double ref_tol = 10.0 * gc["max_abs_f32_vs_f64_logits"].get<double>() + 10.0 * Tol<float>::sum;
    // Independently of embedlab: Hugging Face's logits are lm_head·h, not wte·h.
    const arma::vec ref_h = vec_of(gc["last_hidden_f64"].back()), ref_z = vec_of(gc["last_logits_f64"]);
    BOOST_TEST(arma::abs(W.t() * ref_h - ref_z).max() <= Tol<double>::loose * arma::abs(ref_z).max());
    const double e_gap = arma::abs(E.t() * ref_h - ref_z).max();
    // W_out·h reproduces the logits; E·h misses them by the gap computed here.
    BOOST_TEST(h5.attr_double(g, "logits_max_abs_diff") <= ref_tol);
    BOOST_TEST(e_gap > 100 * ref_tol);
    BOOST_TEST(std::abs(h5.attr_double(g, "e_logits_max_abs_diff") - e_gap) <= ref_tol + Tol<float>::loose * e_gap);
    // The table's |v_i| are the output vectors' (lm_head), not wte's.
    const auto top = h5.read_doubles(g + "/top_ids"), norm = h5.read_doubles(g + "/top_norm");
    for (std::size_t j = 0; j < top.size(); ++j)
      BOOST_TEST(norm[j] == arma::norm(W.col(static_cast<arma::uword>(top[j]))), tt::tolerance(Tol<float>::eps));
    BOOST_TEST(h5.attr_double(g, "decomposition_max_rel_error") <= Tol<float>::loose);
    BOOST_TEST(h5.read_doubles(g + "/top_ids")[0] == gold["cases"][c]["greedy_next8"][0].get<double>());
  }
}

BOOST_AUTO_TEST_CASE(text_prompts_without_tokenizer_exit_78) {
  EMBEDLAB_FIXTURE(model, "gpt2-golden/micro-gpt2");
  TempDir dir;
  const auto r =
      run_command(fmt::format("{} {} --results '{}' --quiet --set model.path='{}' --set report.plots=false",
                              bin("run_experiment"), source("configs/weight_tying.ini"), dir.file("results"), model),
                  dir);
  BOOST_TEST(r.exit_code == 78);
  BOOST_TEST(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  BOOST_TEST(r.err.find("tokenizer") != std::string::npos, r.err);
}

BOOST_AUTO_TEST_CASE(missing_checkpoint_says_make_fetch) {
  TempDir dir;
  // data/gpt2 resolves against the working directory: an empty one here.
  const auto r =
      run_command(fmt::format("cd '{}' && {} {} --results '{}' --quiet", dir.path().string(), bin("run_experiment"),
                              source("configs/weight_tying.ini"), dir.file("results")),
                  dir);
  BOOST_TEST(r.exit_code == 78);
  BOOST_TEST(r.err.find("input not found") != std::string::npos, r.err);
  BOOST_TEST(r.err.find("make fetch") != std::string::npos, r.err);
}

BOOST_AUTO_TEST_SUITE_END()
