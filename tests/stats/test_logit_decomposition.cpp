// z_i = |v_i||h| cos θ_i: the decomposition, distribution comparison and analytic sensitivities of
// log softmax, checked against direct products and finite differences.
#include <boost/test/unit_test.hpp>

#include "core/error.hpp"
#include "core/rng.hpp"
#include "stats/information.hpp"
#include "stats/logit_decomposition.hpp"
#include "testing.hpp"

#include <cmath>

namespace tt = boost::test_tools;
using namespace embedlab;
using embedlab::test::Tol;

namespace {

// W is C×V with normal entries, scaled per column so the norms differ.
arma::fmat random_w(Rng& r, arma::uword C, arma::uword V) {
  arma::fmat W(C, V);
  for (arma::uword i = 0; i < V; ++i)
    for (arma::uword k = 0; k < C; ++k) W(k, i) = static_cast<float>(r.normal() * (0.5 + 0.01 * i));
  return W;
}

arma::fvec random_h(Rng& r, arma::uword C) {
  arma::fvec h(C);
  for (auto& x : h) x = static_cast<float>(r.normal());
  return h;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(logit_decomposition)

BOOST_AUTO_TEST_CASE(matches_direct_product_and_reconstructs) {
  Rng r(test::kSeed);
  const arma::fmat W = random_w(r, 32, 200);
  const arma::fvec h = random_h(r, 32);
  const auto d = stats::decompose_logits(W, h);
  const arma::vec direct = arma::conv_to<arma::mat>::from(W).t() * arma::conv_to<arma::vec>::from(h);
  BOOST_TEST(arma::abs(d.z - direct).max() <= Tol<double>::sum * arma::abs(direct).max());
  BOOST_TEST(d.h_norm == arma::norm(arma::conv_to<arma::vec>::from(h)), tt::tolerance(Tol<double>::eps));
  BOOST_TEST(d.norms(7) == arma::norm(arma::conv_to<arma::vec>::from(W.col(7))), tt::tolerance(Tol<double>::eps));
  // cos θ_i against arma's own double dot and norms of the raw (unnormalised) vectors.
  const arma::mat Wd = arma::conv_to<arma::mat>::from(W);
  const arma::vec hd = arma::conv_to<arma::vec>::from(h);
  for (arma::uword i = 0; i < W.n_cols; ++i)
    BOOST_TEST(d.cos(i) == arma::dot(Wd.col(i), hd) / (arma::norm(Wd.col(i)) * arma::norm(hd)),
               tt::tolerance(Tol<double>::sum));
  BOOST_TEST(d.cos.max() <= 1.0);
  BOOST_TEST(d.cos.min() >= -1.0);
  const auto e = stats::reconstruction_error(d);
  BOOST_TEST(e.max_rel <= Tol<double>::sum);
  // The column h itself has cos 1.
  arma::fmat W2 = W;
  W2.col(3) = 2.0f * h;
  BOOST_TEST(stats::decompose_logits(W2, h).cos(3) == 1.0, tt::tolerance(Tol<double>::eps));
}

BOOST_AUTO_TEST_CASE(bad_arguments_throw) {
  arma::fmat W(4, 3, arma::fill::ones);
  BOOST_CHECK_THROW(stats::decompose_logits(W, arma::fvec(5, arma::fill::ones)), Error);
  BOOST_CHECK_THROW(stats::decompose_logits(W, arma::fvec(4, arma::fill::zeros)), Error);
  W(1, 1) = std::nanf("");
  BOOST_CHECK_THROW(stats::decompose_logits(W, arma::fvec(4, arma::fill::ones)), Error);
}

BOOST_AUTO_TEST_CASE(top_k_rank_and_shift) {
  const arma::vec x = {0.1, 0.5, 0.5, -1.0, 0.3};
  const auto t = stats::top_k_indices(x, 3);
  BOOST_TEST((t == std::vector<arma::uword>{1, 2, 4}));
  BOOST_TEST(stats::rank_of(x, 1) == 1u);
  BOOST_TEST(stats::rank_of(x, 2) == 1u);  // tied with the argmax
  BOOST_TEST(stats::rank_of(x, 3) == 5u);
  const auto same = stats::compare_distributions(x, x, 3);
  BOOST_TEST(same.kl == 0.0);
  BOOST_TEST(same.top1_agree);
  BOOST_TEST(same.top_overlap == 3u);
  const auto flat = stats::compare_distributions(x, arma::vec(5, arma::fill::zeros), 3);
  // KL(p‖uniform) = log 5 − H(p), with H(p) from p computed here.
  arma::vec p = arma::exp(x - x.max());
  p /= arma::accu(p);
  const double hp = -arma::accu(p % arma::log(p));
  BOOST_TEST(flat.entropy_p == hp, tt::tolerance(Tol<double>::eps));
  BOOST_TEST(flat.kl == std::log(5.0) - hp, tt::tolerance(Tol<double>::eps));
  BOOST_TEST(!flat.top1_agree);  // uniform q: the argmax is index 0
  BOOST_TEST(flat.entropy_q == std::log(5.0), tt::tolerance(Tol<double>::eps));
}

BOOST_AUTO_TEST_CASE(sensitivities_match_finite_differences) {
  Rng r(test::kSeed + 1);
  const arma::fmat W = random_w(r, 16, 50);
  const arma::fvec h = random_h(r, 16);
  const auto d = stats::decompose_logits(W, h);
  const arma::vec z = stats::logits_from_parts(d.norms, d.cos, d.h_norm);
  const arma::vec p = stats::softmax(z);
  const double step = 1e-6;
  for (const arma::uword i : {arma::uword{0}, arma::uword{17}, stats::top_k_indices(p, 1).front()}) {
    const auto s = stats::log_prob_sensitivity(d, p, i);
    arma::vec cp = d.cos, cm = d.cos, np = d.norms, nm = d.norms;
    cp(i) += step;
    cm(i) -= step;
    np(i) += step;
    nm(i) -= step;
    const double fd_cos = (stats::log_softmax(stats::logits_from_parts(d.norms, cp, d.h_norm))(i) -
                           stats::log_softmax(stats::logits_from_parts(d.norms, cm, d.h_norm))(i)) /
                          (2 * step);
    const double fd_norm = (stats::log_softmax(stats::logits_from_parts(np, d.cos, d.h_norm))(i) -
                            stats::log_softmax(stats::logits_from_parts(nm, d.cos, d.h_norm))(i)) /
                           (2 * step);
    BOOST_TEST(s.d_cos == fd_cos, tt::tolerance(Tol<float>::eps * 10));
    BOOST_TEST(s.d_norm == fd_norm, tt::tolerance(Tol<float>::eps * 10));
  }
}

BOOST_AUTO_TEST_SUITE_END()
