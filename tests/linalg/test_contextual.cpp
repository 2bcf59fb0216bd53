// The contextual-geometry measures against brute-force double computations and hand cases.
#include <boost/test/unit_test.hpp>

#include "core/rng.hpp"
#include "linalg/contextual.hpp"
#include "testing.hpp"

#include <algorithm>
#include <cmath>

namespace tt = boost::test_tools;
using namespace embedlab;
namespace cx = embedlab::linalg::contextual;

namespace {

double cosd(const arma::fmat& H, arma::uword i, arma::uword j) {
  const arma::vec a = arma::conv_to<arma::vec>::from(H.col(i)), b = arma::conv_to<arma::vec>::from(H.col(j));
  return arma::dot(a, b) / (arma::norm(a) * arma::norm(b));
}

arma::fmat random_states(arma::uword C, arma::uword N, std::uint64_t seed) {
  Rng rng(seed);
  arma::fmat H(C, N);
  for (auto& x : H) x = static_cast<float>(rng.normal() + 0.5);  // a shared offset: anisotropic
  return H;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(linalg_contextual)

BOOST_AUTO_TEST_CASE(pairs_come_from_different_sentences_and_anisotropy_is_their_mean_cosine) {
  const std::vector<std::int64_t> sentence = {0, 0, 0, 1, 1, 2, 2, 2, 2};
  const arma::fmat H = random_states(6, 9, 3);
  Rng rng(7);
  const auto p = cx::draw_pairs(sentence, 500, rng);
  BOOST_REQUIRE_EQUAL(p.a.size(), 500u);
  double sum = 0;
  for (std::size_t k = 0; k < p.a.size(); ++k) {
    BOOST_TEST(sentence[p.a[k]] != sentence[p.b[k]]);
    sum += cosd(H, p.a[k], p.b[k]);
  }
  const auto r = cx::pair_cosine(H, p);
  BOOST_TEST(r.mean == sum / 500.0, tt::tolerance(1e-12));
  BOOST_TEST(arma::accu(r.contribution) == r.mean, tt::tolerance(1e-12));
  BOOST_TEST(r.se > 0.0);
}

BOOST_AUTO_TEST_CASE(self_similarity_and_mev_against_brute_force) {
  // word 5 in sentences 0, 0, 1, 2; word 7 in 1, 2; word 9 only in sentence 0 (excluded)
  const std::vector<std::int64_t> word = {5, 5, 9, 7, 5, 7, 5, 9};
  const std::vector<std::int64_t> sentence = {0, 0, 0, 1, 1, 2, 2, 0};
  const arma::fmat H = random_states(4, 8, 11);
  const auto g = cx::group_words(word, sentence, 2);
  BOOST_REQUIRE((g.word == std::vector<std::int64_t>{5, 7}));
  const arma::vec ss = cx::self_similarity(H, g, sentence);
  for (std::size_t w = 0; w < g.word.size(); ++w) {
    double s = 0;
    int n = 0;
    for (auto i : g.occurrences[w])
      for (auto j : g.occurrences[w])
        if (i != j && sentence[i] != sentence[j]) {
          s += cosd(H, i, j);
          ++n;
        }
    BOOST_TEST(ss(w) == s / n, tt::tolerance(1e-12));
    arma::mat X(g.occurrences[w].size(), 4);
    for (std::size_t k = 0; k < g.occurrences[w].size(); ++k)
      X.row(k) = arma::conv_to<arma::rowvec>::from(H.col(g.occurrences[w][k]).t());
    const arma::vec sv = arma::svd(X);
    BOOST_TEST(cx::max_explainable_variance(H, g)(w) == sv(0) * sv(0) / arma::accu(arma::square(sv)),
               tt::tolerance(1e-12));
  }
  // a word in identical contexts: self-similarity 1, MEV 1
  arma::fmat same = H;
  for (auto j : g.occurrences[0]) same.col(j) = H.col(0) * 2.0f;
  BOOST_TEST(cx::self_similarity(same, g, sentence)(0) == 1.0, tt::tolerance(1e-12));
  BOOST_TEST(cx::max_explainable_variance(same, g)(0) == 1.0, tt::tolerance(1e-12));
}

// sample_columns: k distinct ascending columns, the same for the same seed; 0 or k ≥ n is all; each
// column is drawn with probability k/n (20,000 draws of 3 of 10: every count within 5 sd of 6,000).
BOOST_AUTO_TEST_CASE(sample_columns_is_a_seeded_uniform_sample_without_replacement) {
  Rng r0(5);
  BOOST_TEST(cx::sample_columns(7, 0, r0).size() == 7u);
  BOOST_TEST(cx::sample_columns(7, 9, r0).size() == 7u);
  const auto all = cx::sample_columns(5, 5, r0);
  for (arma::uword j = 0; j < 5; ++j) BOOST_TEST(all[j] == j);
  Rng a(9), b(9);
  const auto s = cx::sample_columns(1000, 37, a);
  BOOST_TEST(s.size() == 37u);
  BOOST_TEST((std::adjacent_find(s.begin(), s.end(), [](auto x, auto y) { return x >= y; }) == s.end()));
  BOOST_TEST(s.back() < 1000u);
  BOOST_TEST(s == cx::sample_columns(1000, 37, b));
  std::vector<int> count(10, 0);
  Rng c(1);
  for (int t = 0; t < 20000; ++t)
    for (const auto j : cx::sample_columns(10, 3, c)) ++count[j];
  const double sd = std::sqrt(20000 * 0.3 * 0.7);
  for (int j = 0; j < 10; ++j) BOOST_TEST(std::abs(count[j] - 6000) < 5 * sd);
}

BOOST_AUTO_TEST_CASE(intra_sentence_hand_case) {
  // sentence 0: (1,0), (0,1) → mean (.5,.5), each cos = 1/√2; sentence 1 has one token → NaN
  const arma::fmat H = {{1.0f, 0.0f, 3.0f}, {0.0f, 1.0f, 4.0f}};
  const arma::vec r = cx::intra_sentence(H, {0, 0, 1});
  BOOST_REQUIRE_EQUAL(r.n_elem, 2u);
  BOOST_TEST(r(0) == 1.0 / std::sqrt(2.0), tt::tolerance(1e-12));
  BOOST_TEST(std::isnan(r(1)));
}

BOOST_AUTO_TEST_CASE(trajectory_pieces) {
  const arma::fmat A = {{3.0f, 1.0f}, {4.0f, 0.0f}}, B = {{3.0f, 0.0f}, {4.0f, 2.0f}};
  BOOST_TEST(cx::norms(A)(0) == 5.0);
  BOOST_TEST(cx::matched(A, B).cosine(0) == 1.0, tt::tolerance(1e-12));
  BOOST_TEST(std::abs(cx::matched(A, B).cosine(1)) < 1e-12);
  BOOST_TEST(cx::matched(A, B).distance(1) == std::sqrt(5.0), tt::tolerance(1e-12));
}

BOOST_AUTO_TEST_SUITE_END()
