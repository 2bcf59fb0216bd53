// End to end: configs/softmax_sensitivity.ini on the golden tiny-gpt2 (real GPT-2 vocabulary size),
// offline through --set with id prompts. Every number is re-derived here from its definition, in
// double, from data the experiment did not compute: the Hugging Face float64 logits and final hidden
// state of the golden file (hidden probes), or the checkpoint's wte rows read from the safetensors
// file (token probes). The experiment's own functions (stats::softmax, compare_distributions, ...)
// are not used here.
#include <boost/test/unit_test.hpp>

#include "e2e_util.hpp"
#include "io/h5_results.hpp"
#include "io/readers.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <numeric>

using namespace embedlab;
using namespace embedlab::test;
namespace fs = std::filesystem;
namespace tt = boost::test_tools;

namespace {

const char* kIds = "464 3797 3332 319 262, 15496 11 995 0";  // the two golden cases of tiny-gpt2

std::string run_ss(const TempDir& dir, const std::string& model, const std::string& results, const std::string& extra) {
  const auto r = run_command(
      fmt::format("{} {} --results '{}' --quiet --set model.path='{}' --set prompts.text= "
                  "--set 'prompts.ids={}' --set report.plots=false{}",
                  bin("run_experiment"), source("configs/softmax_sensitivity.ini"), results, model, kIds, extra),
      dir);
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  return (fs::path(only_run_dir(results, "softmax_sensitivity")) / "results.h5").string();
}

// The token embedding matrix of the checkpoint, read from the file: column i = row i of wte (C×V).
arma::mat wte_of(const std::string& model) {
  const auto idx = io::read_safetensors_index(model + "/model.safetensors");
  return arma::conv_to<arma::mat>::from(io::read_safetensors_tensor(idx, "transformer.wte.weight").data);
}

// log softmax from its definition: z − (max + log Σ exp(z − max)).
arma::vec log_p(const arma::vec& z) {
  const double m = z.max();
  double s = 0;
  for (const double v : z) s += std::exp(v - m);
  return z - (m + std::log(s));
}
double kl(const arma::vec& zp, const arma::vec& zq) {
  const arma::vec lp = log_p(zp), lq = log_p(zq);
  double k = 0;
  for (arma::uword i = 0; i < lp.n_elem; ++i) k += std::exp(lp(i)) * (lp(i) - lq(i));
  return k;
}
double entropy(const arma::vec& z) {
  const arma::vec lp = log_p(z);
  double h = 0;
  for (const double l : lp) h -= std::exp(l) * l;
  return h;
}

// The reference of one probe: z_i = v_i·h, |v_i|, cos θ_i = z_i / (|v_i||h|), all in double.
struct Ref {
  arma::vec z, norms, cos;
  double hn = 0;
};
Ref ref_of(const arma::mat& W, const arma::vec& h, const arma::vec* z_given = nullptr) {
  Ref r;
  r.hn = arma::norm(h);
  r.z = z_given ? *z_given : arma::vec(W.t() * h);
  r.norms = arma::sqrt(arma::sum(arma::square(W), 0)).t();
  r.cos = r.z / (r.norms * r.hn);
  return r;
}

arma::vec vec_of(const std::vector<double>& v) { return arma::vec(v); }

// Compares the stored outputs of probe `g` with the reference, every quantity within `tol` (absolute
// for KL/entropy/cos, relative for logits and sensitivities).
void check_probe(io::H5ResultReader& h5, const std::string& g, const Ref& r, double tol) {
  BOOST_TEST(h5.attr_double(g, "h_norm") == r.hn, tt::tolerance(tol));
  const arma::vec z = vec_of(h5.read_doubles(g + "/z")), norms = vec_of(h5.read_doubles(g + "/norms"));
  const arma::vec cos = vec_of(h5.read_doubles(g + "/cos"));
  BOOST_REQUIRE_EQUAL(z.n_elem, r.z.n_elem);
  BOOST_TEST(arma::abs(z - r.z).max() <= tol * arma::abs(r.z).max());
  BOOST_TEST(arma::abs(norms - r.norms).max() <= Tol<float>::eps * r.norms.max());
  BOOST_TEST(arma::abs(cos - r.cos).max() <= tol);
  BOOST_TEST(std::abs(h5.attr_double(g, "entropy") - entropy(r.z)) <= tol);

  // (a) every |v_i| replaced by their mean.
  const arma::vec z_mean = arma::mean(r.norms) * r.hn * r.cos;
  BOOST_TEST(std::abs(h5.attr_double(g + "/mean_norm", "kl") - kl(r.z, z_mean)) <= tol);
  BOOST_TEST(std::abs(h5.attr_double(g + "/mean_norm", "entropy") - entropy(z_mean)) <= tol);
  BOOST_TEST(h5.attr_double(g + "/mean_norm", "top1_agree") == (r.z.index_max() == z_mean.index_max() ? 1.0 : 0.0));
  // (b) permuted angles: the permutation is the run's own, only its sign is checkable.
  for (const double v : h5.read_doubles(g + "/permuted/kl")) BOOST_TEST(v > 0.0);
  // (c) |h| scaled.
  const auto factor = h5.read_doubles(g + "/scale/factor"), skl = h5.read_doubles(g + "/scale/kl");
  const auto sent = h5.read_doubles(g + "/scale/entropy"), top1 = h5.read_doubles(g + "/scale/top1_agree");
  for (std::size_t s = 0; s < factor.size(); ++s) {
    const arma::vec zs = r.z * factor[s];
    const double ref_kl = kl(r.z, zs);
    BOOST_TEST(std::isfinite(skl[s]), "scale " << factor[s]);
    BOOST_TEST(std::abs(skl[s] - ref_kl) <= tol * std::max(1.0, ref_kl), "scale " << factor[s]);
    BOOST_TEST(std::abs(sent[s] - entropy(zs)) <= tol * std::max(1.0, entropy(zs)), "scale " << factor[s]);
    if (factor[s] > 0) BOOST_TEST(top1[s] == 1.0, "scale " << factor[s]);  // scaling z keeps the argmax
  }
  // Sensitivities: ∂log p_i/∂cos θ_i = |v_i||h|(1 − p_i), ∂log p_i/∂|v_i| = |h| cos θ_i (1 − p_i).
  const arma::vec p = arma::exp(log_p(r.z));
  const arma::uvec order = arma::sort_index(r.z, "descend");
  const auto ids = h5.read_doubles(g + "/sensitivity/ids");
  const auto dc = h5.read_doubles(g + "/sensitivity/d_logp_d_cos"),
             dn = h5.read_doubles(g + "/sensitivity/d_logp_d_norm");
  const auto fdc = h5.read_doubles(g + "/sensitivity/fd_d_logp_d_cos"),
             fdn = h5.read_doubles(g + "/sensitivity/fd_d_logp_d_norm");
  BOOST_REQUIRE_EQUAL(ids.size(), 10u);
  BOOST_REQUIRE_EQUAL(fdc.size(), 10u);
  BOOST_REQUIRE_EQUAL(fdn.size(), 10u);
  for (std::size_t j = 0; j < ids.size(); ++j) {
    const auto i = static_cast<arma::uword>(ids[j]);
    // the j-th largest logit of the reference (tie-aware: compare logits, not ids)
    BOOST_TEST(std::abs(r.z(i) - r.z(order(j))) <= tol * arma::abs(r.z).max(), "rank " << j);
    const double ref_dc = r.norms(i) * r.hn * (1 - p(i)), ref_dn = r.hn * r.cos(i) * (1 - p(i));
    BOOST_TEST(dc[j] == ref_dc, tt::tolerance(tol));
    BOOST_TEST(std::abs(dn[j] - ref_dn) <= tol * std::max(1.0, std::abs(ref_dn)));
    // the run's finite differences agree with the analytic derivative computed here
    BOOST_TEST(fdc[j] == ref_dc, tt::tolerance(tol));
    BOOST_TEST(std::abs(fdn[j] - ref_dn) <= tol * std::max(1.0, std::abs(ref_dn)));
  }
  BOOST_TEST(h5.attr_double(g + "/sensitivity", "fd_max_rel_error_d_cos") <= Tol<float>::eps);
  BOOST_TEST(h5.attr_double(g + "/sensitivity", "fd_max_rel_error_d_norm") <= Tol<float>::eps);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(softmax_sensitivity_e2e)

BOOST_AUTO_TEST_CASE(hidden_probes_against_the_hugging_face_logits) {
  EMBEDLAB_FIXTURE(model, "gpt2-golden/tiny-gpt2");
  EMBEDLAB_FIXTURE(gold_path, "gpt2-golden/tiny-gpt2.golden.json");
  std::ifstream in(gold_path);
  const auto gold = nlohmann::json::parse(in);
  const arma::mat W = wte_of(model);
  TempDir dir;
  io::H5ResultReader h5(run_ss(dir, model, dir.file("results"), ""));
  BOOST_TEST(!h5.attr_string("/", "headline").empty());
  for (std::size_t pi = 0; pi < 2; ++pi) {
    const auto& gc = gold["cases"][pi];
    // h after ln_f and z = E·h from the Hugging Face float64 model (tiny-gpt2 is tied)
    const arma::vec h = vec_of(gc["last_hidden_f64"].back().get<std::vector<double>>());
    const arma::vec z = vec_of(gc["last_logits_f64"].get<std::vector<double>>());
    BOOST_REQUIRE_EQUAL(z.n_elem, W.n_cols);
    // The float32 forward pass against float64: logits within 10× the golden's own f32-vs-f64 gap.
    const double tol = std::max(Tol<float>::loose, 10 * gc["max_abs_f32_vs_f64_logits"].get<double>());
    check_probe(h5, fmt::format("/probes/{}", pi), ref_of(W, h, &z), tol);
  }
  BOOST_TEST(h5.attr_double("/", "fd_max_rel_error") <= Tol<float>::eps);
}

BOOST_AUTO_TEST_CASE(token_probes_against_the_checkpoint_rows_and_underflow) {
  EMBEDLAB_FIXTURE(model, "gpt2-golden/tiny-gpt2");
  const arma::mat W = wte_of(model);
  TempDir dir;
  // × 1000 makes most of softmax(1000 z) underflow to 0: the KL must stay finite (and right).
  io::H5ResultReader h5(run_ss(dir, model, dir.file("r"),
                               " --set probe.kind=token --set probe.tokens=3797,262 --set 'scale.factors=0.5,1,1000'"));
  BOOST_TEST(h5.attr_string("/probes/0", "kind") == "token");
  BOOST_TEST(!h5.exists("/probes/2/z"));
  {
    const arma::vec q = arma::exp(log_p(W.t() * W.col(3797) * 1000.0));
    BOOST_TEST(arma::accu(q == 0.0) > 1000u);  // the case the log-probabilities are for
  }
  for (const auto& [pi, t] : {std::pair{0, 3797u}, std::pair{1, 262u}}) {
    const std::string g = fmt::format("/probes/{}", pi);
    BOOST_TEST(h5.read_doubles(g + "/cos")[t] == 1.0, tt::tolerance(Tol<float>::eps));
    check_probe(h5, g, ref_of(W, W.col(t)), Tol<float>::eps);
  }
}

BOOST_AUTO_TEST_CASE(random_probes_have_the_mean_prompt_norm) {
  EMBEDLAB_FIXTURE(model, "gpt2-golden/tiny-gpt2");
  EMBEDLAB_FIXTURE(gold_path, "gpt2-golden/tiny-gpt2.golden.json");
  std::ifstream in(gold_path);
  const auto gold = nlohmann::json::parse(in);
  double mean_norm = 0;
  for (std::size_t c = 0; c < 2; ++c)
    mean_norm += arma::norm(vec_of(gold["cases"][c]["last_hidden_f64"].back().get<std::vector<double>>())) / 2;
  TempDir dir;
  io::H5ResultReader h5(run_ss(dir, model, dir.file("r"), " --set probe.kind=random --set probe.random_count=2"));
  BOOST_TEST(h5.attr_string("/probes/1", "kind") == "random");
  BOOST_TEST(!h5.exists("/probes/2/z"));
  for (int pi = 0; pi < 2; ++pi) {
    const std::string g = fmt::format("/probes/{}", pi);
    BOOST_TEST(h5.attr_double(g, "h_norm") == mean_norm, tt::tolerance(Tol<float>::loose));
    BOOST_TEST(h5.read_doubles(g + "/scale/kl")[3] == 0.0);  // factor 1
  }
}

BOOST_AUTO_TEST_SUITE_END()
