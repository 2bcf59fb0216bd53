// End to end: configs/softmax_sensitivity.ini on the golden tiny-gpt2 (real GPT-2 vocabulary size),
// offline through --set with id prompts; the analytic sensitivity checked by a finite difference
// on the stored z = |v||h| cos θ parts.
#include <boost/test/unit_test.hpp>

#include "e2e_util.hpp"
#include "io/h5_results.hpp"
#include "stats/information.hpp"
#include "stats/logit_decomposition.hpp"

#include <cmath>

using namespace embedlab;
using namespace embedlab::test;
namespace fs = std::filesystem;
namespace tt = boost::test_tools;

namespace {

std::string run_ss(const TempDir& dir, const std::string& model, const std::string& results, const std::string& extra) {
  const auto r =
      run_command(fmt::format("{} {} --results '{}' --quiet --set model.path='{}' --set prompts.text= "
                              "--set 'prompts.ids=464 3797 3332 319 262, 15496 11 995 0' "
                              "--set report.plots=false{}",
                              bin("run_experiment"), source("configs/softmax_sensitivity.ini"), results, model, extra),
                  dir);
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  return (fs::path(only_run_dir(results, "softmax_sensitivity")) / "results.h5").string();
}

arma::vec vec_of(const std::vector<double>& v) { return arma::vec(v); }

}  // namespace

BOOST_AUTO_TEST_SUITE(softmax_sensitivity_e2e)

BOOST_AUTO_TEST_CASE(hidden_probes_on_tiny_gpt2) {
  EMBEDLAB_FIXTURE(model, "gpt2-golden/tiny-gpt2");
  TempDir dir;
  io::H5ResultReader h5(run_ss(dir, model, dir.file("results"), ""));
  BOOST_TEST(!h5.attr_string("/", "headline").empty());
  for (int pi = 0; pi < 2; ++pi) {
    const std::string g = fmt::format("/probes/{}", pi);
    const auto factor = h5.read_doubles(g + "/scale/factor"), kl = h5.read_doubles(g + "/scale/kl");
    const auto ent = h5.read_doubles(g + "/scale/entropy"), top1 = h5.read_doubles(g + "/scale/top1_agree");
    BOOST_REQUIRE_EQUAL(factor.size(), 9u);
    for (std::size_t s = 0; s < factor.size(); ++s) {
      BOOST_TEST(kl[s] >= 0.0, "scale " << factor[s]);
      BOOST_TEST(top1[s] == 1.0, "scale " << factor[s]);  // scaling z never changes the argmax
      if (factor[s] == 1.0) {
        BOOST_TEST(kl[s] == 0.0);
        BOOST_TEST(ent[s] == h5.attr_double(g, "entropy"), tt::tolerance(Tol<double>::eps));
      }
      if (s > 0 && factor[s - 1] >= 1.0) BOOST_TEST(ent[s] < ent[s - 1], "entropy not decreasing at " << factor[s]);
    }
    BOOST_TEST(h5.attr_double(g + "/mean_norm", "kl") >= 0.0);
    for (const double v : h5.read_doubles(g + "/permuted/kl")) BOOST_TEST(v > 0.0);

    // The analytic sensitivities from the stored parts, and a central difference of log p_i.
    const arma::vec z = vec_of(h5.read_doubles(g + "/z")), norms = vec_of(h5.read_doubles(g + "/norms"));
    const arma::vec cos = vec_of(h5.read_doubles(g + "/cos"));
    BOOST_REQUIRE_EQUAL(z.n_elem, 50257u);
    const double hn = h5.attr_double(g, "h_norm");
    BOOST_TEST(arma::abs(stats::logits_from_parts(norms, cos, hn) - z).max() <= Tol<float>::loose * arma::abs(z).max());
    const arma::vec p = stats::softmax(z);
    const auto ids = h5.read_doubles(g + "/sensitivity/ids");
    const auto dc = h5.read_doubles(g + "/sensitivity/d_logp_d_cos"),
               dn = h5.read_doubles(g + "/sensitivity/d_logp_d_norm");
    BOOST_REQUIRE_EQUAL(ids.size(), 10u);
    for (std::size_t j = 0; j < ids.size(); ++j) {
      const auto i = static_cast<arma::uword>(ids[j]);
      BOOST_TEST(dc[j] == norms(i) * hn * (1 - p(i)), tt::tolerance(Tol<float>::loose));
      BOOST_TEST(dn[j] == hn * cos(i) * (1 - p(i)), tt::tolerance(Tol<float>::loose));
    }
    const auto i = static_cast<arma::uword>(ids[0]);
    const double step = 1e-5;
    arma::vec np = norms, nm = norms;
    np(i) += step;
    nm(i) -= step;
    const double fd_norm = (stats::log_softmax(stats::logits_from_parts(np, cos, hn))(i) -
                            stats::log_softmax(stats::logits_from_parts(nm, cos, hn))(i)) /
                           (2 * step);
    BOOST_TEST(fd_norm == dn[0], tt::tolerance(Tol<float>::loose));
    BOOST_TEST(h5.attr_double(g + "/sensitivity", "top1_finite_difference_d_cos") == dc[0],
               tt::tolerance(Tol<float>::loose));
  }
}

BOOST_AUTO_TEST_CASE(random_and_token_probes) {
  EMBEDLAB_FIXTURE(model, "gpt2-golden/tiny-gpt2");
  TempDir dir;
  {
    io::H5ResultReader h5(run_ss(dir, model, dir.file("r1"), " --set probe.kind=random --set probe.random_count=2"));
    BOOST_TEST(h5.attr_string("/probes/1", "kind") == "random");
    BOOST_TEST(!h5.exists("/probes/2/z"));
    BOOST_TEST(h5.read_doubles("/probes/1/scale/kl")[3] == 0.0);  // factor 1
  }
  io::H5ResultReader h5(run_ss(dir, model, dir.file("r2"), " --set probe.kind=token --set probe.tokens=3797"));
  BOOST_TEST(h5.attr_string("/probes/0", "kind") == "token");
  BOOST_TEST(!h5.exists("/probes/1/z"));
  // A token's own embedding as the probe: its cos θ with itself is 1.
  BOOST_TEST(h5.read_doubles("/probes/0/cos")[3797] == 1.0, tt::tolerance(Tol<float>::eps));
}

BOOST_AUTO_TEST_SUITE_END()
